//! The fetch state machine (spec §5.4) over the pure classifier: read the report through
//! the instance's plugin, sync profiles silently on the first run, otherwise plan every
//! event, queue them, and create at most `max_fetch` incidents per fetch, in the same
//! transaction as the new queue, so a crash never loses or duplicates an event. A dry run
//! plans exactly what a fetch would, and writes nothing.

use super::{
    classify, first_run_profiles, orphan_events, Decision, Event, IncomingMap, ProfileIndex,
    ReportMatches, WorkdayParams,
};
use crate::store::{NewIncident, Store};
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What a fetch remembers between runs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FetchState {
    #[serde(default)]
    pub synced_users: bool,
    /// Events planned from the last report read, not yet created as incidents.
    #[serde(default)]
    pub events: Vec<Event>,
}

/// What a fetch or a plan found, for people and scripts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FetchSummary {
    /// Whether the report was read (it is not while events are queued).
    pub report_read: bool,
    pub rows: usize,
    /// Malformed rows, each with its reason; they are skipped and the rest goes on.
    pub skipped: Vec<String>,
    /// Rows that need no incident, counted by reason.
    pub dropped: BTreeMap<String, usize>,
    /// Events by incident type: created now (or planned, in a dry run).
    pub events: BTreeMap<String, usize>,
    pub incidents_created: usize,
    pub profiles_created: usize,
    /// Events left in the queue for the next fetch.
    pub queued: usize,
}

/// A plan: every event a fetch of this report would create, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub events: Vec<Event>,
    pub summary: FetchSummary,
}

/// The rows of a Workday report body (`Report_Entry`, missing = none).
pub fn report_rows(body: &str) -> Result<Vec<Value>> {
    let value: Value = serde_json::from_str(body).context("the report is not JSON")?;
    match value {
        Value::Object(mut object) => match object.remove("Report_Entry") {
            Some(Value::Array(rows)) => Ok(rows),
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(_) => bail!("the report's Report_Entry is not an array"),
        },
        _ => bail!("the report is not a JSON object with Report_Entry"),
    }
}

/// Classifies every row of the report against the stored profiles, then finds orphans.
pub fn plan(
    rows: Vec<Value>,
    map: &IncomingMap,
    params: &WorkdayParams,
    profiles: Vec<Map<String, Value>>,
    today: NaiveDate,
) -> Plan {
    let index = ProfileIndex::new(profiles);
    let mut matches = ReportMatches::default();
    let mut out = Plan::default();
    out.summary.report_read = true;
    out.summary.rows = rows.len();
    for raw in rows {
        let row = match map.normalize(raw, params) {
            Ok(row) => row,
            Err(err) => {
                // A malformed row of a known user is still "in the report": not an orphan.
                if let Some(stored) = index.find(
                    err.employee_id.as_deref().unwrap_or(""),
                    err.email.as_deref().unwrap_or(""),
                ) {
                    matches.record(stored);
                }
                tracing::warn!("skipping a report row: {err}");
                out.summary.skipped.push(err.to_string());
                continue;
            }
        };
        let stored = index.find(row.employee_id(), row.email());
        if let Some(stored) = stored {
            matches.record(stored);
        }
        match classify(
            &row,
            stored,
            || index.display_name_conflict(&row, stored),
            params,
            today,
        ) {
            Decision::Event(event) => out.events.push(event),
            Decision::Drop(reason) => {
                *out.summary
                    .dropped
                    .entry(reason.code().to_owned())
                    .or_default() += 1
            }
        }
    }
    out.events
        .extend(orphan_events(index.profiles(), &matches, params));
    for event in &out.events {
        *out.summary
            .events
            .entry(event.incident_type.name().to_owned())
            .or_default() += 1;
    }
    out
}

/// The incident fields of an event (spec §5.12): the user profile the playbooks act on,
/// the details, and where it came from.
pub fn incident_fields(event: &Event, instance: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("email".into(), json!(event.name));
    fields.insert("details".into(), json!(event.details));
    if let Some(profile) = event.user_profile() {
        fields.insert("userprofile".into(), Value::Object(profile.clone()));
        for key in ["employeeid", "displayname", "terminationtrigger"] {
            if let Some(value) = profile.get(key) {
                fields.insert(key.into(), value.clone());
            }
        }
    }
    fields.insert("changedfields".into(), json!(event.changed_fields));
    fields.insert("sourceinstance".into(), json!(instance));
    fields
}

/// One fetch of `instance` given the report (read lazily: only when needed).
pub struct Fetch<'a> {
    pub store: &'a Store,
    pub instance: &'a str,
    pub map: &'a IncomingMap,
    pub params: &'a WorkdayParams,
    pub max_fetch: usize,
    pub first_run: bool,
    pub today: NaiveDate,
    /// Called with (done, total) while profiles are created on the first run.
    pub progress: &'a dyn Fn(usize, usize),
}

impl Fetch<'_> {
    fn state(&self) -> Result<FetchState> {
        match self.store.fetch_state(self.instance)? {
            Some(value) => serde_json::from_value(value).context("the stored fetch state"),
            None => Ok(FetchState::default()),
        }
    }

    /// Runs one fetch. `read_report` is called only when the queue is empty.
    pub fn run(&self, read_report: impl FnOnce() -> Result<String>) -> Result<FetchSummary> {
        let mut state = self.state()?;
        if !state.synced_users && self.first_run {
            return self.first_run_sync(&read_report()?);
        }
        let mut summary = FetchSummary::default();
        if state.events.is_empty() {
            let plan = plan(
                report_rows(&read_report()?)?,
                self.map,
                self.params,
                self.store.all_profile_fields()?,
                self.today,
            );
            summary = plan.summary;
            summary.events.clear();
            state.events = plan.events;
        }
        let take = self.max_fetch.min(state.events.len());
        let now: Vec<Event> = state.events.drain(..take).collect();
        state.synced_users = true;
        self.store.in_transaction(|store| {
            for event in &now {
                let fields = incident_fields(event, self.instance);
                store.insert_incident(&NewIncident {
                    kind: event.incident_type.name(),
                    name: &event.name,
                    fields: &fields,
                })?;
            }
            store.set_fetch_state(self.instance, &serde_json::to_value(&state)?)
        })?;
        for event in &now {
            *summary
                .events
                .entry(event.incident_type.name().to_owned())
                .or_default() += 1;
        }
        summary.incidents_created = now.len();
        summary.queued = state.events.len();
        Ok(summary)
    }

    /// The first run: profiles for the report's users, no incidents (spec §5.5).
    fn first_run_sync(&self, body: &str) -> Result<FetchSummary> {
        let rows = report_rows(body)?;
        let mut summary = FetchSummary {
            report_read: true,
            rows: rows.len(),
            ..FetchSummary::default()
        };
        let mut normalized = Vec::with_capacity(rows.len());
        for raw in rows {
            match self.map.normalize(raw, self.params) {
                Ok(row) => normalized.push(row),
                Err(err) => {
                    tracing::warn!("skipping a report row: {err}");
                    summary.skipped.push(err.to_string());
                }
            }
        }
        let total = normalized.len();
        let state = FetchState {
            synced_users: true,
            events: Vec::new(),
        };
        self.store.in_transaction(|store| {
            for (done, selected) in
                first_run_profiles(normalized, self.params, self.today).enumerate()
            {
                match selected {
                    Ok(profile) => {
                        let email = profile
                            .get("email")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        store.put_profile(&email, &profile)?;
                        summary.profiles_created += 1;
                    }
                    Err(reason) => {
                        *summary.dropped.entry(reason.code().to_owned()).or_default() += 1
                    }
                }
                if done % 1000 == 0 {
                    (self.progress)(done, total);
                }
            }
            (self.progress)(total, total);
            store.set_fetch_state(self.instance, &serde_json::to_value(&state)?)
        })?;
        Ok(summary)
    }

    /// What the next fetch would do, without writing: the first-run sync it would make, or
    /// every event the report yields now.
    pub fn dry_run(&self, report: &str) -> Result<Plan> {
        let state = self.state()?;
        if !state.synced_users && self.first_run {
            let rows = report_rows(report)?;
            let mut plan = Plan::default();
            plan.summary.report_read = true;
            plan.summary.rows = rows.len();
            let mut normalized = Vec::new();
            for raw in rows {
                match self.map.normalize(raw, self.params) {
                    Ok(row) => normalized.push(row),
                    Err(err) => plan.summary.skipped.push(err.to_string()),
                }
            }
            for selected in first_run_profiles(normalized, self.params, self.today) {
                match selected {
                    Ok(_) => plan.summary.profiles_created += 1,
                    Err(reason) => {
                        *plan
                            .summary
                            .dropped
                            .entry(reason.code().to_owned())
                            .or_default() += 1
                    }
                }
            }
            return Ok(plan);
        }
        let mut plan = plan(
            report_rows(report)?,
            self.map,
            self.params,
            self.store.all_profile_fields()?,
            self.today,
        );
        plan.summary.queued = state.events.len();
        Ok(plan)
    }
}
