//! The fetch state machine over the pure classifier: read the report through
//! the instance's plugin, sync profiles silently on the first run, otherwise plan every
//! event, queue them, and create at most `max_fetch` incidents per fetch, in the same
//! transaction as the new queue, so a crash never loses or duplicates an event. A report
//! that would terminate or orphan too many people writes nothing until approved
//! ([`RemovalGuard`]). A dry
//! run plans exactly what a fetch would, and writes nothing.

use super::first_run::RuntimeField;
use super::stream::{NotJson, PrepareRow};
use super::{
    classify, known_people, orphan_events, Decision, Event, FirstRun, IncidentType, IncomingMap,
    NormalizedRow, ProfileIndex, RawRow, RemovalGuard, RemovalHold, Removals, ReportMatches,
    RowError, WorkdayParams,
};
use crate::store::{NewIncident, Store};
use anyhow::{Context, Result};
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
    /// When that report was compared with the stored profiles (store time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_at: Option<String>,
}

/// What a fetch or a plan found, for people and scripts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FetchSummary {
    /// Whether the report was read (it is not while events are queued).
    pub report_read: bool,
    pub rows: usize,
    /// Malformed rows, each with its reason; they are skipped and the rest goes on.
    pub skipped: Vec<String>,
    /// Values left out of rows that were used (unusable optional columns), with the reason.
    pub warnings: Vec<String>,
    /// Rows that need no incident, counted by reason.
    pub dropped: BTreeMap<String, usize>,
    /// Events by incident type: created now (or planned, in a dry run).
    pub events: BTreeMap<String, usize>,
    /// Events not created because an incident already carries them, counted by reason.
    pub carried: BTreeMap<String, usize>,
    pub incidents_created: usize,
    pub profiles_created: usize,
    /// Events left in the queue for the next fetch.
    pub queued: usize,
    /// People the report marks terminated, and orphans it makes, of how many people this
    /// source knows.
    pub terminations: usize,
    pub orphans: usize,
    pub known_people: usize,
    /// Why the fetch stops for approval (a dry run says it would).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub held: Option<RemovalHold>,
}

impl FetchSummary {
    fn reading() -> Self {
        Self {
            report_read: true,
            ..Self::default()
        }
    }

    /// Records a row's left-out values, or the row as skipped.
    fn record(&mut self, read: ReadRow) -> ReadRow {
        match &read {
            Ok(row) => {
                for warning in row.warnings() {
                    tracing::warn!("{warning}");
                    self.warnings.push(warning.to_string());
                }
            }
            Err(err) => {
                tracing::warn!("skipping a report row: {err}");
                self.skipped.push(err.to_string());
            }
        }
        read
    }
}

/// A report row as read: normalized, or why it cannot be used.
pub type ReadRow = Result<NormalizedRow, RowError>;

/// Reads a report: each row goes through `prepare` (on the reading thread) to the
/// callback as it arrives. Returns how many rows there were; an error means the report
/// could not be read to its end.
pub type ReadReport<'r> =
    dyn Fn(&PrepareRow<ReadRow>, &mut dyn FnMut(ReadRow)) -> Result<usize> + 'r;

fn parse_state(stored: Option<Value>) -> Result<FetchState> {
    match stored {
        Some(value) => serde_json::from_value(value).context("the stored fetch state"),
        None => Ok(FetchState::default()),
    }
}

/// A plan: every event a fetch of this report would create, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    pub events: Vec<Event>,
    pub summary: FetchSummary,
}

/// Classifies every row of the report against the stored profiles, then finds orphans.
pub fn plan(
    rows: Vec<Value>,
    map: &IncomingMap,
    params: &WorkdayParams,
    profiles: Vec<Map<String, Value>>,
    today: NaiveDate,
) -> Result<Plan> {
    let index = ProfileIndex::new(profiles, map);
    let mut planner = Planner::new(params, &index, today);
    for raw in rows {
        planner.row(map.normalize(raw, params));
    }
    planner.finish()
}

/// Where a dry run's events go as they are decided, instead of into [`Plan::events`]: a
/// plan of a large report is printed as it is made rather than held whole.
pub type OnPlanned<'a> = dyn Fn(&Event) -> Result<()> + 'a;

/// A plan made row by row as the report streams in: a row is classified as soon as it
/// is read, and only its events are kept (or handed on).
pub struct Planner<'a> {
    params: &'a WorkdayParams,
    today: NaiveDate,
    index: &'a ProfileIndex<'a>,
    matches: ReportMatches,
    out: Plan,
    /// Takes the events instead of `out.events`.
    on_planned: Option<&'a OnPlanned<'a>>,
    /// The first stored document that could not be read (or event that could not be
    /// handed on): the plan fails with it.
    failed: Option<anyhow::Error>,
}

impl<'a> Planner<'a> {
    pub fn new(params: &'a WorkdayParams, index: &'a ProfileIndex<'a>, today: NaiveDate) -> Self {
        Self {
            params,
            today,
            index,
            matches: ReportMatches::default(),
            out: Plan {
                events: Vec::new(),
                summary: FetchSummary::reading(),
            },
            on_planned: None,
            failed: None,
        }
    }

    /// Hands each event to `on_planned` as it is decided; the plan's `events` stay empty.
    pub fn handing_to(self, on_planned: &'a OnPlanned<'a>) -> Self {
        Self {
            on_planned: Some(on_planned),
            ..self
        }
    }

    /// Counts the event in the summary, and keeps it or hands it on.
    fn add(&mut self, event: Event) -> Result<()> {
        let summary = &mut self.out.summary;
        *summary
            .events
            .entry(event.incident_type.name().to_owned())
            .or_default() += 1;
        match self.on_planned {
            Some(on_planned) => on_planned(&event),
            None => {
                self.out.events.push(event);
                Ok(())
            }
        }
    }

    /// Classifies one row against its stored profile.
    pub fn row(&mut self, read: ReadRow) {
        let index = self.index;
        if self.failed.is_some() {
            return;
        }
        self.out.summary.rows += 1;
        let row = match self.out.summary.record(read) {
            Ok(row) => row,
            Err(err) => {
                // A malformed row of a known user is still "in the report": not an orphan.
                if let Some(stored) = index.find(
                    err.employee_id.as_deref().unwrap_or(""),
                    err.email.as_deref().unwrap_or(""),
                ) {
                    self.matches.record(stored);
                }
                return;
            }
        };
        let stored = index.find(row.employee_id(), row.email());
        if let Some(stored) = stored {
            self.matches.record(stored);
        }
        match classify(&row, stored, index, self.params, self.today) {
            Ok(Decision::Event(event)) => {
                if event.incident_type == IncidentType::TerminateUser {
                    self.out.summary.terminations += 1;
                }
                if let Err(err) = self.add(event) {
                    self.failed = Some(err);
                }
            }
            Ok(Decision::Drop(reason)) => {
                *self
                    .out
                    .summary
                    .dropped
                    .entry(reason.code().to_owned())
                    .or_default() += 1
            }
            Err(err) => self.failed = Some(err),
        }
    }

    /// The plan, once every row is read: the rows' events, then the orphans'.
    pub fn finish(mut self) -> Result<Plan> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        self.out.summary.known_people = known_people(self.index, self.params);
        let matches = std::mem::take(&mut self.matches);
        for event in orphan_events(self.index, &matches, self.params) {
            self.out.summary.orphans += 1;
            self.add(event?)?;
        }
        Ok(self.out)
    }
}

/// The incident fields of an event: the user profile the playbooks act on,
/// the details, and where it came from.
pub fn incident_fields(event: &Event, instance: &str) -> Map<String, Value> {
    let mut fields = Map::new();
    fields.insert("email".into(), json!(event.name));
    fields.insert("details".into(), json!(event.details));
    if let Some(profile) = event.user_profile() {
        let copied: Vec<(&str, Value)> = ["employeeid", "displayname", "terminationtrigger"]
            .into_iter()
            .filter_map(|key| Some((key, profile.get(key)?.clone())))
            .collect();
        fields.insert("userprofile".into(), Value::Object(profile));
        for (key, value) in copied {
            fields.insert(key.into(), value);
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
    /// Stops a fetch that would terminate or orphan too many people.
    pub removal_guard: RemovalGuard,
    pub today: NaiveDate,
    /// Called with how many profiles are written, now and then, while the first run
    /// writes them.
    pub progress: &'a dyn Fn(usize),
}

/// How often a fetch starts over when another fetch of the same instance changed the
/// state while this one read the report. After such a change the queue is usually full,
/// and draining it never has to start over.
const CONCURRENT_TRIES: usize = 5;

/// A first-run sync reports its progress once per this many profiles.
const PROGRESS_EVERY: usize = 1000;

impl Fetch<'_> {
    fn state(&self) -> Result<FetchState> {
        parse_state(self.store.fetch_state(self.instance)?)
    }

    /// Runs one fetch. `read_report` is called only when the queue is empty. The state it
    /// starts from is checked again in the transaction that writes: when another fetch of
    /// the same instance wrote first, this one writes nothing and starts over from the
    /// state that fetch left, so concurrent fetches never create an event twice.
    pub fn run(&self, read_report: &ReadReport) -> Result<FetchSummary> {
        for _ in 0..CONCURRENT_TRIES {
            if let Some(summary) = self.try_run(read_report)? {
                return Ok(summary);
            }
            tracing::info!(
                instance = self.instance,
                "another fetch of this instance wrote first; starting over from its state"
            );
        }
        anyhow::bail!(
            "{}: other fetches of this instance kept changing its state; this fetch wrote nothing, fetch again",
            self.instance
        )
    }

    /// One try of [`Fetch::run`]: `None` when another fetch changed the state meanwhile.
    fn try_run(&self, read_report: &ReadReport) -> Result<Option<FetchSummary>> {
        let stored = self.store.fetch_state(self.instance)?;
        let mut state = parse_state(stored.clone())?;
        if !state.synced_users && self.first_run {
            return self.first_run_sync(read_report, stored.as_ref());
        }
        if !state.events.is_empty() {
            // Draining the queue needs no report: the state is read and written in one
            // transaction, so concurrent fetches take turns instead of starting over.
            return self
                .store
                .in_transaction(|store| {
                    let state = parse_state(store.fetch_state(self.instance)?)?;
                    self.create_incidents(store, state, FetchSummary::default())
                })
                .map(Some);
        }
        // Taken before the profiles are read: a run that closes later wrote after it.
        state.compared_at = Some(self.store.now_utc()?);
        let plan = self.plan(read_report, None)?;
        // Before any write: a held fetch leaves the queue empty, so the next one reads the
        // report again.
        self.hold(&plan.summary)?;
        let mut summary = plan.summary;
        summary.events.clear();
        state.events = plan.events;
        self.store.in_transaction(|store| {
            // Another fetch that read the report meanwhile queued the same events.
            if store.fetch_state(self.instance)? != stored {
                return Ok(None);
            }
            self.create_incidents(store, state, summary).map(Some)
        })
    }

    /// Creates up to `max_fetch` incidents from the queue of `state` and stores the rest,
    /// inside the caller's transaction.
    fn create_incidents(
        &self,
        store: &Store,
        mut state: FetchState,
        mut summary: FetchSummary,
    ) -> Result<FetchSummary> {
        let take = self.max_fetch.min(state.events.len());
        let now: Vec<Event> = state.events.drain(..take).collect();
        state.synced_users = true;
        for event in &now {
            let kind = event.incident_type.name();
            let profile = event.user_profile().map(Value::Object);
            let carried = store.carried_change(
                kind,
                &event.name,
                profile.as_ref(),
                state.compared_at.as_deref(),
            )?;
            if let Some(carried) = carried {
                *summary
                    .carried
                    .entry(carried.code().to_owned())
                    .or_default() += 1;
                continue;
            }
            let fields = incident_fields(event, self.instance);
            store.insert_incident(&NewIncident {
                kind,
                name: &event.name,
                fields: &fields,
            })?;
            *summary.events.entry(kind.to_owned()).or_default() += 1;
            summary.incidents_created += 1;
        }
        store.set_fetch_state(self.instance, &serde_json::to_value(&state)?)?;
        summary.queued = state.events.len();
        Ok(summary)
    }

    /// Whether the guard stops a fetch with this plan.
    fn hold(&self, plan: &FetchSummary) -> Result<(), RemovalHold> {
        let removals = Removals {
            terminations: plan.terminations,
            orphans: plan.orphans,
        };
        self.removal_guard
            .check(self.instance, removals, plan.known_people)
    }

    /// How the reading thread prepares each row: normalized with the incoming map.
    fn prepare(&self) -> impl Fn(RawRow) -> Result<ReadRow, NotJson> + Sync + '_ {
        |raw| self.map.read_row(raw, self.params)
    }

    /// Every row of the report classified against the stored profiles.
    /// The plan of the report; its events go to `on_planned` instead when given.
    fn plan(&self, read_report: &ReadReport, on_planned: Option<&OnPlanned>) -> Result<Plan> {
        let store = self.store;
        let index = ProfileIndex::load(
            |email| Ok(store.profile(email)?.map(|profile| profile.fields)),
            Box::new(|f| store.each_profile_json(f)),
            self.map,
        )?;
        let mut planner = Planner::new(self.params, &index, self.today);
        if let Some(on_planned) = on_planned {
            planner = planner.handing_to(on_planned);
        }
        read_report(&self.prepare(), &mut |row| planner.row(row))?;
        planner.finish()
    }

    /// Reads a first-run report: each row that would make a profile goes to `on_profile`
    /// as it is read, with the field its profile gets besides the row's; the summary
    /// counts the rest.
    fn first_run_profiles(
        &self,
        read_report: &ReadReport,
        on_profile: &mut dyn FnMut(&NormalizedRow, Option<RuntimeField>),
    ) -> Result<FetchSummary> {
        let mut summary = FetchSummary::reading();
        let mut selection = FirstRun::new(self.params, self.today);
        let rows = read_report(&self.prepare(), &mut |read| {
            let Ok(row) = summary.record(read) else {
                return;
            };
            match selection.admit(&row) {
                Ok(extra) => {
                    summary.profiles_created += 1;
                    on_profile(&row, extra);
                }
                Err(reason) => *summary.dropped.entry(reason.code().to_owned()).or_default() += 1,
            }
        })?;
        summary.rows = rows;
        Ok(summary)
    }

    /// The first run: profiles for the report's users, no incidents. `None` when another
    /// fetch changed the state from `stored` meanwhile. Each profile is written as its row
    /// arrives, in the one transaction that also marks the users synced: memory holds a
    /// few batches of rows however long the report, and a report that breaks off (or a
    /// write that fails) leaves no profile behind.
    fn first_run_sync(
        &self,
        read_report: &ReadReport,
        stored: Option<&Value>,
    ) -> Result<Option<FetchSummary>> {
        self.store.in_transaction(|store| {
            if store.fetch_state(self.instance)?.as_ref() != stored {
                return Ok(None);
            }
            let mut writer = store.profile_writer()?;
            let mut failed = None;
            let summary = self.first_run_profiles(read_report, &mut |row, extra| {
                // After a failed write the rest of the report is read but not written:
                // the transaction is rolled back anyway.
                if failed.is_some() {
                    return;
                }
                match writer.put(row.email(), &row.profile_json(extra)) {
                    Ok(()) if writer.written() % PROGRESS_EVERY == 0 => {
                        (self.progress)(writer.written())
                    }
                    Ok(()) => {}
                    Err(err) => failed = Some(err),
                }
            })?;
            if let Some(err) = failed {
                return Err(err.context("writing the first run's profiles; nothing was kept"));
            }
            (self.progress)(writer.written());
            drop(writer);
            let state = FetchState {
                synced_users: true,
                ..FetchState::default()
            };
            store.set_fetch_state(self.instance, &serde_json::to_value(&state)?)?;
            Ok(Some(summary))
        })
    }

    /// What the next fetch would do, without writing: the first-run sync it would make, or
    /// every event the report yields now (handed to `on_planned` as they are decided, when
    /// given, rather than kept in the plan).
    pub fn dry_run(
        &self,
        read_report: &ReadReport,
        on_planned: Option<&OnPlanned>,
    ) -> Result<Plan> {
        let state = self.state()?;
        if !state.synced_users && self.first_run {
            return Ok(Plan {
                events: Vec::new(),
                summary: self.first_run_profiles(read_report, &mut |_, _| {})?,
            });
        }
        let mut plan = self.plan(read_report, on_planned)?;
        plan.summary.queued = state.events.len();
        plan.summary.held = self.hold(&plan.summary).err();
        Ok(plan)
    }
}
