//! `ilm instance add|list|show|remove|test`.

use super::{output, Context, Outcome};
use crate::integrations::Integrations;
use crate::plugins::{secrets, settings::parse_params, InstanceSettings, Limits};
use crate::store::{Instance, Secret};
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
pub enum InstanceCommand {
    /// Configure a new instance of a plugin.
    Add(AddArgs),
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
    /// A non-secret parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_parser = output::key_value)]
    params: Vec<(String, String)>,
    /// A secret parameter, NAME=VALUE (repeatable). Prefer --secret-env: argv is visible to other users.
    #[arg(long = "secret", value_parser = output::key_value)]
    secrets: Vec<(String, String)>,
    /// A secret parameter copied now from an environment variable, NAME=VARIABLE
    /// (repeatable); it is stored sealed.
    #[arg(long = "secret-env", value_parser = output::key_value)]
    secret_env: Vec<(String, String)>,
    /// A secret parameter read at each call instead of stored: NAME=env:VARIABLE or
    /// NAME=file:PATH (repeatable).
    #[arg(long = "secret-ref", value_parser = output::key_value)]
    secret_ref: Vec<(String, String)>,
    /// An extra allow-list entry, e.g. https://*.example.com (repeatable).
    #[arg(long = "allow")]
    allow: Vec<String>,
    /// Deadline of one call into the plugin, in milliseconds.
    #[arg(long)]
    deadline_ms: Option<u64>,
    /// Memory cap of the plugin, in MiB.
    #[arg(long)]
    memory_mib: Option<usize>,
    /// Timeout of one outbound HTTP request, in milliseconds.
    #[arg(long)]
    http_timeout_ms: Option<u64>,
    /// Largest HTTP response handed to the plugin, in MiB (large HR reports need more).
    #[arg(long)]
    max_response_mib: Option<usize>,
    /// A PEM file with a private CA to trust for the instance's HTTPS servers.
    #[arg(long)]
    ca_file: Option<std::path::PathBuf>,
    /// Add the instance disabled.
    #[arg(long)]
    disabled: bool,
}

pub fn run(ctx: &Context, cmd: InstanceCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        InstanceCommand::Add(args) => {
            let host = ctx.host()?;
            let plugin = host.plugin(&args.plugin)?;
            let mut given = args.params.clone();
            for (name, value) in args.secrets {
                if !plugin.manifest.param(&name).is_some_and(|p| p.secret) {
                    bail!(
                        "{name:?} is not a secret parameter of {}; pass it with --param",
                        args.plugin
                    );
                }
                given.push((name, value));
            }
            for (name, var) in args.secret_env {
                let value = std::env::var(&var).with_context(|| {
                    format!("--secret-env {name}: environment variable {var} is not set")
                })?;
                given.push((name, value));
            }
            let cwd = std::env::current_dir().context("the current directory")?;
            let mut references = BTreeMap::new();
            for (name, text) in &args.secret_ref {
                if !plugin.manifest.param(name).is_some_and(|p| p.secret) {
                    bail!(
                        "--secret-ref {name}: not a secret parameter of {}",
                        args.plugin
                    );
                }
                let reference = secrets::parse_reference(text, &cwd)
                    .with_context(|| format!("--secret-ref {name}"))?;
                references.insert(name.clone(), reference);
            }
            let referenced: Vec<&str> = references.keys().map(String::as_str).collect();
            let (params, values) = parse_params(&plugin.manifest, &given, &referenced)?;
            if let Some(p) = args.params.iter().find(|(n, _)| values.contains_key(n)) {
                bail!(
                    "{:?} is a secret parameter: pass it with --secret, --secret-env or --secret-ref",
                    p.0
                );
            }
            if let Some(name) = referenced.iter().find(|n| values.contains_key(**n)) {
                bail!("{name:?} is given both as a value and as a reference");
            }
            let mut limits = Map::new();
            let mut set = |key: &str, value: Option<u64>| {
                if let Some(v) = value {
                    limits.insert(key.to_owned(), Value::from(v));
                }
            };
            set("deadline_ms", args.deadline_ms);
            set("memory_mib", args.memory_mib.map(|m| m as u64));
            set("http_timeout_ms", args.http_timeout_ms);
            set("max_response_mib", args.max_response_mib.map(|m| m as u64));
            if let Some(path) = &args.ca_file {
                let path = std::fs::canonicalize(path)
                    .with_context(|| format!("--ca-file {}", path.display()))?;
                limits.insert("ca_file".into(), Value::from(path.display().to_string()));
            }
            let mut stored: BTreeMap<String, Secret> = values
                .into_iter()
                .map(|(name, value)| (name, Secret::Value(value)))
                .collect();
            // Checked with what each reference gives here and now; one that gives nothing
            // yet may well resolve where the runtime runs.
            let mut probe = stored.clone();
            for (name, reference) in &references {
                let value = match secrets::resolve_one(&plugin.manifest, name, reference) {
                    Ok(value) => value,
                    Err(err) => {
                        eprintln!(
                            "warning: --secret-ref {name}: {err:#}; calls fail until it resolves"
                        );
                        Value::from("unresolved")
                    }
                };
                probe.insert(name.clone(), Secret::Value(value));
            }
            stored.extend(references);
            let mut instance = Instance {
                name: args.name.clone(),
                plugin: args.plugin.clone(),
                params,
                secrets: probe,
                allow_hosts: args.allow,
                limits,
                enabled: !args.disabled,
            };
            // Building the settings checks limits, allow-list entries and credentials.
            InstanceSettings::new(&plugin.manifest, &instance, "{}".to_owned()).with_context(
                || {
                    format!(
                        "instance {:?} is misconfigured; nothing was saved",
                        args.name
                    )
                },
            )?;
            instance.secrets = stored;
            store.add_instance(&instance)?;
            println!("added instance {} of plugin {}", args.name, args.plugin);
            Ok(Outcome::Success)
        }
        InstanceCommand::List { json } => {
            let list = store.instances()?;
            if json {
                println!("{}", output::json(&list)?);
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
                println!("{}", output::json(&value)?);
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
