//! Fetch sources: any plugin whose manifest names a `source` kind. An HR report (Workday)
//! is compared row by row with the stored profiles ([`report`]); an event log (Okta's
//! System Log) is read page by page with a durable cursor and each event classified on its
//! own ([`events`], [`event_map`]). `ilm fetch` and `ilm run` go through [`fetch`] and need
//! not know which kind an instance is.

pub mod event_map;
pub mod events;
mod report;

pub use event_map::{EventDrop, EventMap};
pub use events::{EventFetch, EventIncident, EventPlan, EventSummary, Page};
pub use report::incoming_map;

use crate::fetch::{FetchSummary, OnPlanned, Plan};
use crate::integrations::Integrations;
use crate::plugins::manifest::SourceKind;
use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Pages a dry run of an event source reads at most.
const DRY_RUN_PAGES: usize = 20;

/// What one fetch did, or would do.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Fetched {
    Report(FetchSummary),
    ReportPlan(Plan),
    Events(EventSummary),
    EventPlan(EventPlan),
}

impl Fetched {
    /// Why the fetch stopped early, when it did.
    pub fn error(&self) -> Option<&str> {
        match self {
            Fetched::Events(summary) => summary.error.as_deref(),
            _ => None,
        }
    }
}

/// How to fetch.
pub struct FetchOptions<'a> {
    /// Where the editable maps live (`<playbooks>/mappers`).
    pub mappers_dir: &'a Path,
    pub dry_run: bool,
    /// A person approved terminating and orphaning more people than `max_orphan_percent`
    /// in this one fetch.
    pub approve_removals: bool,
    /// Classify a report as if today were this date.
    pub today: NaiveDate,
    /// A dry run of a report hands its events here as they are decided, instead of
    /// keeping them in the plan.
    pub on_planned: Option<&'a OnPlanned<'a>>,
}

/// The source kind of an instance's plugin, or an error naming what fetch can read.
pub fn kind_of(integrations: &Integrations, instance: &str) -> Result<SourceKind> {
    let plugin = integrations.plugin_of(instance)?;
    plugin.manifest.source.with_context(|| {
        format!(
            "instance {instance:?} is a {} instance, which is not a fetch source (its plugin's manifest names no `source`)",
            plugin.manifest.brand
        )
    })
}

/// One fetch (or dry run) of a source instance.
pub fn fetch(
    integrations: &Integrations,
    instance: &str,
    options: &FetchOptions,
) -> Result<Fetched> {
    match kind_of(integrations, instance)? {
        SourceKind::Report => report::fetch(integrations, instance, options),
        SourceKind::Events => fetch_events(integrations, instance, options),
    }
}

fn fetch_events(
    integrations: &Integrations,
    instance: &str,
    options: &FetchOptions,
) -> Result<Fetched> {
    let plugin = integrations.plugin_of(instance)?;
    let map = EventMap::load(
        &options
            .mappers_dir
            .join(format!("{}-events.toml", plugin.manifest.name)),
    )?;
    let params = integrations.params(instance)?;
    let context: Value = serde_json::from_str(&integrations.store.integration_context(instance)?)
        .unwrap_or(Value::Null);
    let fetch = EventFetch {
        store: integrations.store,
        instance,
        map: &map,
        max_fetch: params
            .get("max_fetch")
            .and_then(Value::as_u64)
            .unwrap_or(50)
            .max(1) as usize,
        mapped_apps: map.mapped_apps(&context),
    };
    let now = integrations.store.now_utc()?;
    let read_page = |cursor: &Value| read_page(integrations, instance, &now, cursor);
    Ok(if options.dry_run {
        Fetched::EventPlan(fetch.dry_run(read_page, DRY_RUN_PAGES)?)
    } else {
        Fetched::Events(fetch.run(read_page)?)
    })
}

/// One call of the plugin's `fetch` with the host's state, its answer as a [`Page`].
fn read_page(
    integrations: &Integrations,
    instance: &str,
    now: &str,
    cursor: &Value,
) -> Result<Page> {
    let state = json!({"now": now, "cursor": cursor}).to_string();
    let (records, next_state) = integrations.fetch(instance, &state)?;
    let next: Value = if next_state.is_empty() {
        json!({})
    } else {
        serde_json::from_str(&next_state).with_context(|| {
            format!("{instance}'s plugin returned a next-state that is not JSON")
        })?
    };
    let Some(next) = next.as_object() else {
        bail!("{instance}'s plugin returned a next-state that is not a JSON object");
    };
    let dropped: BTreeMap<String, usize> = match next.get("dropped") {
        Some(counts) => serde_json::from_value(counts.clone()).with_context(|| {
            format!("{instance}'s plugin returned `dropped` that is not counts by reason")
        })?,
        None => BTreeMap::new(),
    };
    Ok(Page {
        records,
        cursor: next.get("cursor").cloned().unwrap_or(Value::Null),
        more: next.get("more").and_then(Value::as_bool).unwrap_or(false),
        dropped,
    })
}
