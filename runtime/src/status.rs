//! The state of the runtime at a glance, as `ilm status` and the API's `GET /status` show
//! it: each instance with its last and next fetch and last error, the incidents by status,
//! and what needs a person (waiting questions, failed incidents, failing or held fetches).

use crate::integrations::Integrations;
use crate::plugins::manifest::SourceKind;
use crate::store::{
    FetchStatus, Incident, IncidentFilter, IncidentStatus, PageRequest, Question, Store,
};
use anyhow::Result;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// At most this many waiting incidents are listed (the count is always whole).
const WAITING_SHOWN: u32 = 50;

#[derive(Serialize)]
pub struct Status {
    pub instances: Vec<InstanceStatus>,
    /// How many incidents are in each status.
    pub incidents: BTreeMap<String, u64>,
    /// Waiting questions, failed incidents and failing or held fetches, each with the fix.
    pub needs_a_person: Vec<Value>,
}

#[derive(Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub plugin: String,
    pub enabled: bool,
    /// `report` or `events` for a source; `None` for an app.
    pub source: Option<SourceKind>,
    pub fetch: Option<FetchStatus>,
    /// When `ilm run` fetches it next (due now when it never was).
    pub next_fetch_at: Option<String>,
    /// Incidents waiting in its fetch queue.
    pub queued: u64,
}

/// Reads the status from the store, with the instances' plugins and settings.
pub fn gather(integrations: &Integrations<'_>) -> Result<Status> {
    let store = integrations.store;
    let mut fetches: BTreeMap<String, FetchStatus> = store
        .fetch_statuses()?
        .into_iter()
        .map(|f| (f.instance.clone(), f))
        .collect();
    let mut needs_a_person = Vec::new();
    let mut instances = Vec::new();
    for record in store.instances()? {
        let source = integrations
            .host
            .plugin(&record.plugin)
            .ok()
            .and_then(|p| p.manifest.source);
        let fetch = fetches.remove(&record.name);
        let next_fetch_at = match (&source, record.enabled) {
            (Some(_), true) => Some(next_fetch(integrations, &record.name, fetch.as_ref())?),
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
    needs_a_person.extend(waiting(store)?);
    needs_a_person.extend(
        store
            .failed_incidents()?
            .into_iter()
            .map(|(id, name, error)| {
                json!({"incident": id, "name": name, "failed": error,
               "fix": format!("fix the cause, then `ilm incident run {id}`")})
            }),
    );
    Ok(Status {
        instances,
        incidents: store.incident_counts()?,
        needs_a_person,
    })
}

fn next_fetch(
    integrations: &Integrations<'_>,
    instance: &str,
    fetch: Option<&FetchStatus>,
) -> Result<String> {
    let minutes = integrations.fetch_interval_minutes(instance)?;
    match fetch.and_then(|f| DateTime::parse_from_rfc3339(&f.last_at).ok()) {
        Some(at) => Ok((at.with_timezone(&Utc) + Duration::minutes(minutes as i64))
            .to_rfc3339_opts(SecondsFormat::Secs, true)),
        None => integrations.store.now_utc(),
    }
}

/// The incidents waiting for an answer, with their question.
fn waiting(store: &Store) -> Result<Vec<Value>> {
    waiting_questions(store, WAITING_SHOWN)?
        .into_iter()
        .map(|(incident, question)| {
            let (question, answers) = question
                .map(|q| (q.question, q.answers))
                .unwrap_or_default();
            Ok(
                json!({"incident": incident.id, "name": incident.name, "question": question,
                      "answers": answers, "owner": incident.owner,
                      "fix": format!("`ilm incident answer {} ANSWER`", incident.id)}),
            )
        })
        .collect()
}

/// Up to `limit` incidents waiting for an answer, newest first, each with its open question.
pub fn waiting_questions(store: &Store, limit: u32) -> Result<Vec<(Incident, Option<Question>)>> {
    let filter = IncidentFilter {
        status: Some(IncidentStatus::Waiting),
        ..IncidentFilter::default()
    };
    let page = store.search_incidents(&filter, PageRequest::new(0, limit)?)?;
    page.data
        .into_iter()
        .map(|incident| {
            let question = store.open_question(incident.id)?;
            Ok((incident, question))
        })
        .collect()
}
