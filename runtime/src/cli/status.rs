//! `ilm status`: the state of the runtime at a glance (see [`crate::status`]), as a table
//! or as JSON.

use super::{output, Context, Outcome};
use crate::integrations::Integrations;
use crate::plugins::manifest::SourceKind;
use crate::status::{self, Status};
use anyhow::Result;
use clap::Args;
use serde::Serialize;
use serde_json::Value;

#[derive(Args)]
pub struct StatusArgs {
    /// Print the status as JSON (for monitoring).
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: StatusArgs) -> Result<Outcome> {
    let store = ctx.store()?;
    let host = ctx.host()?;
    let mappers = ctx.mappers();
    let status = status::gather(&Integrations {
        store: &store,
        host: &host,
        mappers: &mappers,
    })?;
    let shown = Shown {
        database: ctx.database().label(),
        status: &status,
    };
    if args.json {
        output::print_json(&shown)?;
    } else {
        print(&shown);
    }
    Ok(Outcome::Success)
}

/// The status with the store it was read from (a path, or a URL without its password).
#[derive(Serialize)]
struct Shown<'a> {
    database: String,
    #[serde(flatten)]
    status: &'a Status,
}

fn print(shown: &Shown) {
    let status = shown.status;
    println!("store: {}\n", shown.database);
    let rows = status.instances.iter().map(|i| {
        let (last, result) = match &i.fetch {
            Some(f) => (
                f.last_at.clone(),
                match &f.last_error {
                    Some(_) => format!("failed ({} in a row)", f.failures),
                    None => "ok".to_owned(),
                },
            ),
            None if i.source.is_some() => ("never".to_owned(), String::new()),
            None => (String::new(), String::new()),
        };
        vec![
            i.name.clone(),
            i.plugin.clone(),
            if i.enabled { "yes" } else { "no" }.to_owned(),
            match i.source {
                Some(SourceKind::Report) => "report",
                Some(SourceKind::Events) => "events",
                None => "",
            }
            .to_owned(),
            last,
            result,
            i.next_fetch_at.clone().unwrap_or_default(),
            if i.source.is_some() {
                i.queued.to_string()
            } else {
                String::new()
            },
        ]
    });
    println!(
        "{}",
        output::table(
            &[
                "instance",
                "plugin",
                "enabled",
                "source",
                "last fetch",
                "result",
                "next fetch",
                "queued"
            ],
            rows
        )
    );
    let counts: Vec<String> = ["pending", "active", "waiting", "failed", "closed"]
        .iter()
        .map(|s| format!("{s} {}", status.incidents.get(*s).copied().unwrap_or(0)))
        .collect();
    println!("\nincidents: {}", counts.join(", "));
    if status.needs_a_person.is_empty() {
        println!("nothing needs a person");
        return;
    }
    println!("\nneeds a person:");
    for item in &status.needs_a_person {
        println!("  {}", attention_line(item));
    }
}

fn attention_line(item: &Value) -> String {
    let text = |key: &str| item.get(key).and_then(Value::as_str).unwrap_or_default();
    if let Some(error) = item.get("fetch_failed").and_then(Value::as_str) {
        return format!("fetch of {} failed: {error}", text("instance"));
    }
    if item.get("fetch_held").is_some() {
        return format!(
            "fetch of {} is held for approval: {}",
            text("instance"),
            text("fix")
        );
    }
    let id = item.get("incident").cloned().unwrap_or(Value::Null);
    if let Some(error) = item.get("failed").and_then(Value::as_str) {
        return format!(
            "incident {id} ({}) failed: {error}; {}",
            text("name"),
            text("fix")
        );
    }
    format!(
        "incident {id} ({}) asks {:?} {}: {}",
        text("name"),
        text("question"),
        item.get("answers").cloned().unwrap_or(Value::Null),
        text("fix")
    )
}
