//! `ilm status`: the state of the runtime at a glance: each instance with its last and next
//! fetch and last error, the incidents by status, and what needs a person.

use super::run::fetch_interval_minutes;
use super::{output, Context, Outcome};
use crate::integrations::Integrations;
use crate::playbooks::open_question;
use crate::plugins::manifest::SourceKind;
use crate::store::{FetchStatus, IncidentFilter, IncidentStatus, PageRequest, Store};
use anyhow::Result;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// At most this many waiting incidents are listed (the count is always whole).
const WAITING_SHOWN: u32 = 50;

#[derive(Args)]
pub struct StatusArgs {
    /// Print the status as JSON (for monitoring).
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Status {
    instances: Vec<InstanceStatus>,
    incidents: BTreeMap<String, u64>,
    /// Waiting questions, failed incidents and failing or held fetches.
    needs_a_person: Vec<Value>,
}

#[derive(Serialize)]
struct InstanceStatus {
    name: String,
    plugin: String,
    enabled: bool,
    /// `report` or `events` for a source; `None` for an app.
    source: Option<SourceKind>,
    fetch: Option<FetchStatus>,
    /// When `ilm run` fetches it next (due now when it never was).
    next_fetch_at: Option<String>,
    /// Incidents waiting in its fetch queue.
    queued: u64,
}

pub fn run(ctx: &Context, args: StatusArgs) -> Result<Outcome> {
    let store = ctx.store()?;
    let host = ctx.host()?;
    let mappers = ctx.mappers();
    let integrations = Integrations {
        store: &store,
        host: &host,
        mappers: &mappers,
    };
    let mut fetches: BTreeMap<String, FetchStatus> = store
        .fetch_statuses()?
        .into_iter()
        .map(|f| (f.instance.clone(), f))
        .collect();
    let mut needs_a_person = Vec::new();
    let mut instances = Vec::new();
    for record in store.instances()? {
        let source = host
            .plugin(&record.plugin)
            .ok()
            .and_then(|p| p.manifest.source);
        let fetch = fetches.remove(&record.name);
        let next_fetch_at = match (&source, record.enabled) {
            (Some(_), true) => Some(next_fetch(&integrations, &record.name, fetch.as_ref())?),
            _ => None,
        };
        if let Some(f) = &fetch {
            if let Some(error) = &f.last_error {
                needs_a_person.push(json!({"instance": record.name, "fetch_failed": error,
                    "failures": f.failures, "since": f.last_ok_at}));
            }
            if let Some(hold) = f.summary.get("held").filter(|h| !h.is_null()) {
                needs_a_person.push(json!({"instance": record.name, "fetch_held": hold,
                    "fix": format!("check the report, then `ilm fetch {} --approve-removals`", record.name)}));
            }
        }
        let queued = fetch
            .as_ref()
            .and_then(|f| f.summary.get("queued"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        instances.push(InstanceStatus {
            name: record.name,
            plugin: record.plugin,
            enabled: record.enabled,
            source,
            fetch,
            next_fetch_at,
            queued,
        });
    }
    needs_a_person.extend(waiting(&store)?);
    needs_a_person.extend(
        store
            .failed_incidents()?
            .into_iter()
            .map(|(id, name, error)| {
                json!({"incident": id, "name": name, "failed": error,
               "fix": format!("fix the cause, then `ilm incident run {id}`")})
            }),
    );
    let status = Status {
        instances,
        incidents: store.incident_counts()?,
        needs_a_person,
    };
    if args.json {
        println!("{}", output::json(&status)?);
    } else {
        print(&status);
    }
    Ok(Outcome::Success)
}

fn next_fetch(
    integrations: &Integrations<'_>,
    instance: &str,
    fetch: Option<&FetchStatus>,
) -> Result<String> {
    let minutes = fetch_interval_minutes(integrations, instance)?;
    match fetch.and_then(|f| DateTime::parse_from_rfc3339(&f.last_at).ok()) {
        Some(at) => Ok((at.with_timezone(&Utc) + Duration::minutes(minutes as i64))
            .to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => integrations.store.now_utc(),
    }
}

/// The incidents waiting for an answer, with their question.
fn waiting(store: &Store) -> Result<Vec<Value>> {
    let filter = IncidentFilter {
        status: Some(IncidentStatus::Waiting),
        ..IncidentFilter::default()
    };
    let page = store.search_incidents(&filter, PageRequest::new(0, WAITING_SHOWN)?)?;
    page.data
        .into_iter()
        .map(|incident| {
            let (question, answers) = open_question(store, incident.id)?.unwrap_or_default();
            Ok(
                json!({"incident": incident.id, "name": incident.name, "question": question,
                      "answers": answers, "owner": incident.owner,
                      "fix": format!("`ilm incident answer {} ANSWER`", incident.id)}),
            )
        })
        .collect()
}

fn print(status: &Status) {
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
