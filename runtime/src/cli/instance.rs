//! `ilm instance add|edit|list|show|remove|test`.

use super::instance_args::{self, SettingArgs};
use super::{output, Context, Outcome};
use crate::integrations::Integrations;
use crate::plugins::Limits;
use crate::store::{Refusal, Secret};
use anyhow::{bail, Result};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum InstanceCommand {
    /// Configure a new instance of a plugin.
    Add(AddArgs),
    /// Change an instance's parameters, secrets, allow-list, limits or enabled state;
    /// what is not given stays as it is.
    Edit(EditArgs),
    /// List configured instances.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show an instance's parameters (secrets are never shown).
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Remove an instance and its integration context.
    Remove { name: String },
    /// Check that the instance reaches its app with its credentials.
    Test { name: String },
}

#[derive(Args)]
pub struct AddArgs {
    /// The instance name, used with `--using`.
    name: String,
    /// The plugin this is an instance of.
    #[arg(long)]
    plugin: String,
    #[command(flatten)]
    settings: SettingArgs,
    /// Add the instance disabled.
    #[arg(long)]
    disabled: bool,
}

#[derive(Args)]
pub struct EditArgs {
    /// The instance to change; what is not given stays as it is.
    name: String,
    #[command(flatten)]
    settings: SettingArgs,
    /// Remove a parameter or secret, so its default applies (repeatable).
    #[arg(long)]
    unset: Vec<String>,
    /// Remove an extra allow-list entry (repeatable).
    #[arg(long)]
    remove_allow: Vec<String>,
    /// Enable the instance.
    #[arg(long, conflicts_with = "disable")]
    enable: bool,
    /// Disable the instance: its playbooks skip it and it is not fetched.
    #[arg(long)]
    disable: bool,
}

pub fn run(ctx: &Context, cmd: InstanceCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        InstanceCommand::Add(args) => {
            let host = ctx.host()?;
            let plugin = host.plugin(&args.plugin)?;
            let mut instance =
                instance_args::empty_instance(&args.name, &args.plugin, !args.disabled);
            args.settings.apply(&plugin.manifest, &mut instance)?;
            instance_args::check(&plugin.manifest, &instance)?;
            store.add_instance(&instance)?;
            println!("added instance {} of plugin {}", args.name, args.plugin);
            Ok(Outcome::Success)
        }
        InstanceCommand::Edit(args) => {
            let host = ctx.host()?;
            let mut instance = store.instance(&args.name)?.ok_or_else(|| {
                Refusal::NotFound(format!(
                    "no instance named {:?}; `ilm instance list` shows them",
                    args.name
                ))
            })?;
            let plugin = host.plugin(&instance.plugin)?;
            instance_args::unset(&plugin.manifest, &mut instance, &args.unset)?;
            for entry in &args.remove_allow {
                let before = instance.allow_hosts.len();
                instance.allow_hosts.retain(|e| e != entry);
                if instance.allow_hosts.len() == before {
                    bail!(
                        "--remove-allow {entry}: not an allow-list entry of {:?} (it has: {})",
                        args.name,
                        if instance.allow_hosts.is_empty() {
                            "none".to_owned()
                        } else {
                            instance.allow_hosts.join(", ")
                        }
                    );
                }
            }
            args.settings.apply(&plugin.manifest, &mut instance)?;
            if args.enable || args.disable {
                instance.enabled = args.enable;
            }
            instance_args::check(&plugin.manifest, &instance)?;
            store.update_instance(&instance)?;
            println!("changed instance {}", args.name);
            Ok(Outcome::Success)
        }
        InstanceCommand::List { json } => {
            let list = store.instances()?;
            if json {
                output::print_json(&list)?;
            } else {
                println!(
                    "{}",
                    output::table(
                        &["name", "plugin", "enabled", "created"],
                        list.into_iter().map(|i| vec![
                            i.name,
                            i.plugin,
                            i.enabled.to_string(),
                            i.created_at
                        ]),
                    )
                );
            }
            Ok(Outcome::Success)
        }
        InstanceCommand::Show { name, json } => {
            let store_ref = &store;
            let host = ctx.host()?;
            let mappers = ctx.mappers();
            let instance = Integrations {
                store: store_ref,
                host: &host,
                mappers: &mappers,
            }
            .instance(&name)?;
            let limits = Limits::from_map(&instance.limits)?;
            let secret_names: Vec<&String> = instance.secrets.keys().collect();
            // References are not secret; values never leave the store.
            let references: Map<String, Value> = instance
                .secrets
                .iter()
                .filter(|(_, s)| !matches!(s, Secret::Value(_)))
                .map(|(name, s)| (name.clone(), Value::from(s.to_string())))
                .collect();
            if json {
                let mut value = serde_json::to_value(&instance)?;
                value["limits"] = serde_json::to_value(&limits)?;
                value["secrets_set"] = serde_json::to_value(&secret_names)?;
                value["secret_references"] = Value::Object(references);
                output::print_json(&value)?;
            } else {
                println!(
                    "{} (plugin {}, {})",
                    instance.name,
                    instance.plugin,
                    if instance.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    }
                );
                for (k, v) in &instance.params {
                    println!("  {k} = {v}");
                }
                for (k, secret) in &instance.secrets {
                    println!("  {k} = {secret}");
                }
                println!(
                    "  allow: {}",
                    if instance.allow_hosts.is_empty() {
                        "manifest hosts only".to_owned()
                    } else {
                        instance.allow_hosts.join(", ")
                    }
                );
                println!(
                    "  limits: deadline {} ms, memory {} MiB, http timeout {} ms, max response {} MiB",
                    limits.deadline_ms, limits.memory_mib, limits.http_timeout_ms, limits.max_response_mib
                );
            }
            Ok(Outcome::Success)
        }
        InstanceCommand::Remove { name } => {
            if !store.remove_instance(&name)? {
                bail!("no instance named {name:?}");
            }
            println!("removed instance {name}");
            Ok(Outcome::Success)
        }
        InstanceCommand::Test { name } => {
            let host = ctx.host()?;
            let mappers = ctx.mappers();
            Integrations {
                store: &store,
                host: &host,
                mappers: &mappers,
            }
            .test(&name)?;
            println!("ok: {name} reaches its app");
            Ok(Outcome::Success)
        }
    }
}
