//! `ilm plugin list|show|install`.

use super::{output, Context, Outcome};
use anyhow::Result;
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::PathBuf;

mod install;

#[derive(Subcommand)]
pub enum PluginCommand {
    /// List installed plugins and whether each loads.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Show a plugin's manifest: parameters, commands, hosts.
    Show {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Check a component and its manifest (`X.wasm` with `X.toml` beside it) and install them,
    /// with the default mapper `X.mapper.rhai` if there is one: it goes into the playbooks'
    /// mappers/ unless the administrator has their own there (never overwritten).
    /// Replacing an installed plugin shows what changes (hosts, credentials, version,
    /// commands, parameters, default mapper) and needs --force when anything does.
    Install {
        /// Path to the component (`.wasm`); its manifest must be beside it with the same stem.
        path: PathBuf,
        /// Replace an installed plugin of the same name even though it differs.
        #[arg(long)]
        force: bool,
        /// Print the result as JSON: status, changes, and what happened to the mapper.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(ctx: &Context, cmd: PluginCommand) -> Result<Outcome> {
    let host = ctx.host()?;
    match cmd {
        PluginCommand::List { json } => {
            let mut rows = Vec::new();
            for name in host.installed()? {
                let row = match host.plugin(&name) {
                    Ok(p) => json!({
                        "name": p.manifest.name, "brand": p.manifest.brand, "version": p.manifest.version,
                        "wit": p.manifest.wit, "status": "ok",
                    }),
                    Err(e) => json!({"name": name, "status": format!("error: {e:#}")}),
                };
                rows.push(row);
            }
            if json {
                println!("{}", output::json(&rows)?);
            } else {
                let text =
                    |v: &Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
                println!(
                    "{}",
                    output::table(
                        &["name", "brand", "version", "wit", "status"],
                        rows.iter()
                            .map(|r| ["name", "brand", "version", "wit", "status"]
                                .iter()
                                .map(|k| text(r, k))
                                .collect()),
                    )
                );
            }
            Ok(Outcome::Success)
        }
        PluginCommand::Show { name, json } => {
            let plugin = host.plugin(&name)?;
            let m = &plugin.manifest;
            if json {
                let mut value = serde_json::to_value(m)?;
                value["params"] = serde_json::to_value(m.all_params())?;
                println!("{}", output::json(&value)?);
                return Ok(Outcome::Success);
            }
            println!(
                "{} {} ({}), WIT ilm:plugin@{}\n{}\n",
                m.name, m.version, m.brand, m.wit, m.description
            );
            println!(
                "hosts: {}",
                if m.hosts.is_empty() {
                    "none".to_owned()
                } else {
                    m.hosts.join(", ")
                }
            );
            println!(
                "{}",
                output::table(
                    &[
                        "parameter",
                        "type",
                        "required",
                        "secret",
                        "default",
                        "example",
                        "help",
                    ],
                    m.all_params().into_iter().map(|p| {
                        vec![
                            p.name,
                            format!("{:?}", p.kind).to_lowercase(),
                            p.required.to_string(),
                            p.secret.to_string(),
                            p.default.unwrap_or_default(),
                            p.example.unwrap_or_default(),
                            p.help,
                        ]
                    }),
                )
            );
            let iam = crate::iam::Command::NAMES.iter().map(|n| {
                vec![
                    n.to_string(),
                    "user-profile, allow-enable".to_owned(),
                    "generic IAM command".to_owned(),
                ]
            });
            let own = m.commands.iter().map(|c| {
                vec![
                    c.name.clone(),
                    c.args
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    c.help.clone(),
                ]
            });
            println!(
                "{}",
                output::table(&["command", "arguments", "help"], iam.chain(own))
            );
            Ok(Outcome::Success)
        }
        PluginCommand::Install { path, force, json } => {
            install::run(ctx, &host, &path, force, json)
        }
    }
}
