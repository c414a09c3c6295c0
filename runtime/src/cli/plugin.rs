//! `ilm plugin list|show|install|new`.

use super::{output, Context, Outcome};
use crate::plugins::{manifest_diff, LoadedPlugin, Manifest};
use crate::store::Actor;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

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
    /// Check a component and its manifest (`X.wasm` with `X.toml` beside it) and install them.
    /// Replacing an installed plugin shows what changes (hosts, credentials, version,
    /// commands, parameters) and needs --force when anything does.
    Install {
        /// Path to the component (`.wasm`); its manifest must be beside it with the same stem.
        path: PathBuf,
        /// Replace an installed plugin of the same name even though it differs.
        #[arg(long)]
        force: bool,
    },
    /// Write a new plugin project (manifest, mapper, source, build script, README, and a
    /// test against a small fake of the app) that builds and installs with no edits.
    New(super::plugin_new::NewArgs),
}

pub fn run(ctx: &Context, cmd: PluginCommand) -> Result<Outcome> {
    if let PluginCommand::New(args) = cmd {
        // Writing a project touches no data directory.
        return super::plugin_new::command(args);
    }
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
                    &["parameter", "type", "required", "secret", "default", "help"],
                    m.all_params().into_iter().map(|p| {
                        vec![
                            p.name,
                            format!("{:?}", p.kind).to_lowercase(),
                            p.required.to_string(),
                            p.secret.to_string(),
                            p.default.unwrap_or_default(),
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
        PluginCommand::Install { path, force } => {
            let manifest_path = path.with_extension("toml");
            let plugin = host.load(&manifest_path, &path)?;
            let name = &plugin.manifest.name;
            let dir = host.plugins_dir();
            let target = dir.join(format!("{name}.wasm"));
            let mut changes = Vec::new();
            if target.exists() {
                changes = replacement(&dir.join(format!("{name}.toml")), &target, &plugin, &path)?;
                if changes.is_empty() {
                    println!(
                        "{name} {} is already installed, unchanged",
                        plugin.manifest.version
                    );
                    return Ok(Outcome::Success);
                }
                let listed = changes
                    .iter()
                    .map(|c| format!("  {c}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                if !force {
                    bail!(
                        "plugin {name:?} is already installed in {} and this one differs:\n{listed}\n\
                         check the changes, then install it with --force",
                        dir.display()
                    );
                }
                println!("replacing {name}:\n{listed}");
            }
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            std::fs::copy(&path, &target)
                .with_context(|| format!("copying to {}", target.display()))?;
            std::fs::copy(&manifest_path, dir.join(format!("{name}.toml")))?;
            ctx.store()?.record_audit(
                &Actor::Cli,
                "plugin.install",
                name,
                Value::Null,
                json!({"version": plugin.manifest.version, "from": path, "changes": changes}),
            )?;
            println!(
                "installed {name} {} into {}",
                plugin.manifest.version,
                dir.display()
            );
            Ok(Outcome::Success)
        }
        PluginCommand::New(_) => unreachable!("handled before the data directory is opened"),
    }
}

/// What installing `new` (from `new_wasm`) over the plugin at `installed_toml` and
/// `installed_wasm` changes, one line each; empty when nothing does.
fn replacement(
    installed_toml: &Path,
    installed_wasm: &Path,
    new: &LoadedPlugin,
    new_wasm: &Path,
) -> Result<Vec<String>> {
    let installed = match Manifest::load(installed_toml) {
        Ok(manifest) => manifest,
        // A broken installation is replaced knowingly, like any other change.
        Err(err) => {
            return Ok(vec![format!(
                "the installed manifest does not load: {err:#}"
            )])
        }
    };
    let mut lines: Vec<String> = manifest_diff::changes(&installed, &new.manifest)
        .iter()
        .map(ToString::to_string)
        .collect();
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    if lines.is_empty() && read(installed_wasm)? != read(new_wasm)? {
        lines.push(format!(
            "component: the code differs under the same version {}",
            new.manifest.version
        ));
    }
    Ok(lines)
}
