//! `ilm plugin list|show|install|check|new`.

use super::{output, Context, Outcome};
use crate::integrations::Integrations;
use crate::plugins::conformance::{self, Verdict};
use crate::plugins::Host;
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
    /// Run the IAM contract against a live instance and print a pass/fail table: create a
    /// uniquely named test user, get it by each attribute the plugin looks users up by,
    /// update it, rename it through olduserdata, disable it twice (the second is a no-op),
    /// enable it, create it again (an update), get a missing user (not found) and send a bad
    /// request (an error code and message). An app that creates users inactive (Active
    /// Directory) has its test user enabled before the disables. The test user is disabled
    /// at the end. Exits 3 when any check fails.
    ///
    /// The test user's profile has email, username, givenname, surname, employeeid and
    /// title (the check's own: they change from check to check). Give the fields the app's
    /// mapper needs beyond those with --field, e.g. for Active Directory the department (or
    /// location, countryname) its OU mapping places the account by:
    ///
    ///   ilm plugin check ad --field department=Engineering
    #[command(verbatim_doc_comment)]
    Check {
        /// The instance to check (see `ilm instance list`); it changes the app for real.
        instance: String,
        /// A user-profile field for the test user, FIELD=VALUE (repeatable), added to its
        /// synthetic profile before the instance's outgoing mapper runs; a field that
        /// profile has already (givenname, surname) is replaced.
        #[arg(long = "field", value_name = "FIELD=VALUE", value_parser = profile_field)]
        fields: Vec<(String, String)>,
        /// Print JSON ({instance, passed, checks: [{check, result, detail}]}) instead of a table.
        #[arg(long)]
        json: bool,
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
        PluginCommand::Check {
            instance,
            fields,
            json,
        } => check(ctx, &host, &instance, fields, json),
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
                output::print_json(&rows)?;
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
                output::print_json(&value)?;
                return Ok(Outcome::Success);
            }
            println!(
                "{} {} ({}), WIT ilm:plugin@{}\n{}\n",
                m.name, m.version, m.brand, m.wit, m.description
            );
            let listed = |items: &[String]| match items {
                [] => "none".to_owned(),
                _ => items.join(", "),
            };
            println!("hosts: {}", listed(&m.hosts));
            println!(
                "WASI imports (granting nothing): {}",
                listed(m.wasi_imports())
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
        PluginCommand::New(_) => unreachable!("handled before the data directory is opened"),
    }
}

/// `--field FIELD=VALUE`.
fn profile_field(text: &str) -> Result<(String, String), String> {
    output::key_value(text).map_err(|_| {
        format!(
            "expected FIELD=VALUE, a user-profile field and its value (e.g. --field department=Engineering), got {text:?}"
        )
    })
}

fn check(
    ctx: &Context,
    host: &Host,
    instance: &str,
    fields: Vec<(String, String)>,
    json: bool,
) -> Result<Outcome> {
    let store = ctx.store()?;
    let mappers = ctx.mappers();
    let integrations = Integrations {
        store: &store,
        host,
        mappers: &mappers,
    };
    let fields = fields
        .into_iter()
        .map(|(field, value)| (field, Value::String(value)))
        .collect();
    let checks = conformance::run(&integrations, instance, &fields)?;
    let failed = checks.iter().filter(|c| c.result == Verdict::Fail).count();
    let passed = failed == 0;
    if json {
        let value = json!({"instance": instance, "passed": passed, "checks": checks});
        output::print_json(&value)?;
    } else {
        let rows = checks.iter().map(|c| {
            let verdict = match c.result {
                Verdict::Pass => "pass",
                Verdict::Fail => "FAIL",
                Verdict::Skip => "skip",
            };
            vec![c.check.clone(), verdict.to_owned(), c.detail.clone()]
        });
        println!("{}", output::table(&["check", "result", "detail"], rows));
        println!("{instance}: {failed} of {} checks failed", checks.len());
    }
    Ok(if passed {
        Outcome::Success
    } else {
        Outcome::VendorFailure
    })
}
