//! `ilm command NAME --using INSTANCE… --arg NAME=VALUE…`: an IAM command or a plugin's own
//! command on one or more instances.

use super::{output, Context, Outcome};
use crate::iam::{self, BeforeCreate, VendorResult};
use crate::integrations::Integrations;
use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde_json::{Map, Value};

#[derive(Args)]
pub struct CommandArgs {
    /// `iam-get-user`, `iam-create-user`, `iam-update-user`, `iam-disable-user`, or a plugin command.
    name: String,
    /// Instances to run on (repeatable).
    #[arg(long = "using", required = true)]
    using: Vec<String>,
    /// A command argument, NAME=VALUE (repeatable); `user-profile` takes a JSON object.
    #[arg(long = "arg", value_parser = output::key_value)]
    args: Vec<(String, String)>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: CommandArgs) -> Result<Outcome> {
    let store = ctx.store()?;
    let host = ctx.host()?;
    let mappers = ctx.mappers();
    let integrations = Integrations {
        store: &store,
        host: &host,
        mappers: &mappers,
    };
    match iam::Command::parse(&args.name) {
        Some(command) => run_iam(&integrations, command, &args),
        None => run_plugin_command(&integrations, &args),
    }
}

fn run_iam(
    integrations: &Integrations,
    command: iam::Command,
    args: &CommandArgs,
) -> Result<Outcome> {
    let mut profile = None;
    let mut allow_enable = true;
    for (name, value) in &args.args {
        match name.as_str() {
            "user-profile" => {
                let parsed: Value =
                    serde_json::from_str(value).context("user-profile is not valid JSON")?;
                if !parsed.is_object() {
                    bail!("user-profile must be a JSON object, like '{{\"email\":\"jdoe@example.com\"}}'");
                }
                profile = Some(parsed);
            }
            "allow-enable" => allow_enable = value.eq_ignore_ascii_case("true"),
            other => bail!(
                "{} takes user-profile and allow-enable, not {other:?}",
                command.name()
            ),
        }
    }
    let Some(profile) = profile else {
        bail!("{} needs --arg user-profile='{{...}}'", command.name());
    };
    // Check every instance before acting on any, so a typo does not leave a half-run.
    for name in &args.using {
        integrations.instance(name)?;
    }
    let mut results: Vec<VendorResult> = Vec::new();
    let mut profiles = Vec::new();
    for name in &args.using {
        let outcome =
            integrations.iam(name, command, &profile, allow_enable, BeforeCreate::Unknown)?;
        results.push(outcome.vendor);
        profiles.push(outcome.user_profile);
    }
    if args.json {
        let value = serde_json::json!({"IAM": {"Vendor": results, "UserProfile": profiles}});
        output::print_json(&value)?;
    } else {
        println!("{}", vendor_table(&results));
    }
    // An error entry (e.g. a rate limit) is said on stderr too, where a script or a person
    // watching the command sees it even when the table scrolls by.
    for r in results.iter().filter(|r| r.error_entry) {
        eprintln!(
            "error: {} on {}: {} (code {}); retry the command later",
            command.name(),
            r.instance_name,
            r.error_message,
            r.error_code.as_deref().unwrap_or_default()
        );
    }
    Ok(if results.iter().all(|r| r.success) {
        Outcome::Success
    } else {
        Outcome::VendorFailure
    })
}

fn vendor_table(results: &[VendorResult]) -> String {
    output::table(
        &[
            "instance",
            "brand",
            "action",
            "success",
            "active",
            "id",
            "username",
            "email",
            "skipped / error",
        ],
        results.iter().map(|r| {
            let note = if r.skipped {
                format!("skipped: {}", r.reason)
            } else if !r.success {
                format!(
                    "{}: {}",
                    r.error_code.clone().unwrap_or_default(),
                    r.error_message
                )
            } else {
                String::new()
            };
            vec![
                r.instance_name.clone(),
                r.brand.clone(),
                r.action.clone(),
                r.success.to_string(),
                r.active.map(|a| a.to_string()).unwrap_or_default(),
                r.id.clone(),
                r.username.clone(),
                r.email.clone(),
                note,
            ]
        }),
    )
}

fn run_plugin_command(integrations: &Integrations, args: &CommandArgs) -> Result<Outcome> {
    let mut map = Map::new();
    for (name, value) in &args.args {
        // Arguments are JSON when they parse as JSON, text otherwise.
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.clone()));
        map.insert(name.clone(), value);
    }
    let map = Value::Object(map);
    let mut outputs = Map::new();
    for name in &args.using {
        outputs.insert(name.clone(), integrations.command(name, &args.name, &map)?);
    }
    output::print_json(&Value::Object(outputs))?;
    Ok(Outcome::Success)
}
