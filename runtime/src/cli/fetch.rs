//! `ilm fetch INSTANCE [--dry-run] [--as-of DATE]`: read a source (an HR report, or an
//! event log such as Okta's System Log), classify what it holds, and create the incidents
//! (or print the plan).

use super::{output, Context, Outcome};
use crate::fetch::{Event, FetchSummary, OnPlanned, Plan};
use crate::integrations::Integrations;
use crate::sources::{self, EventPlan, EventSummary, FetchOptions, Fetched};
use anyhow::Result;
use chrono::NaiveDate;
use clap::Args;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::io::Write;

#[derive(Args)]
pub struct FetchArgs {
    /// The source instance (a Workday report or an Okta System Log).
    pub instance: String,
    /// Print every incident the fetch would create, grouped by type, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Approve this one fetch although its report would terminate and orphan, together,
    /// more than max_orphan_percent of the people the source knows.
    #[arg(long, alias = "approve-orphans")]
    pub approve_removals: bool,
    /// Classify a report as if today were this date (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    pub as_of: Option<NaiveDate>,
    #[arg(long)]
    pub json: bool,
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| format!("{text:?} is not a date like 2025-01-15: {e}"))
}

pub fn run(ctx: &Context, args: FetchArgs) -> Result<Outcome> {
    let store = ctx.store()?;
    let host = ctx.host()?;
    let mappers = ctx.mappers();
    let integrations = Integrations {
        store: &store,
        host: &host,
        mappers: &mappers,
    };
    let today = match args.as_of {
        Some(date) => date,
        None => today(&store)?,
    };
    // A dry run's events are printed (--json) or reduced to their lines as they are
    // decided, never all held.
    let streamed = (args.json && args.dry_run).then(|| StreamedPlan::new(std::io::stdout()));
    let lines = (!args.json && args.dry_run).then(PlanLines::default);
    let on_planned: Option<Box<OnPlanned>> = match (&streamed, &lines) {
        (Some(streamed), _) => Some(Box::new(|event: &Event| streamed.event(event))),
        (_, Some(lines)) => Some(Box::new(|event: &Event| {
            lines.add(event);
            Ok(())
        })),
        _ => None,
    };
    let options = FetchOptions {
        mappers_dir: &ctx.playbooks_dir.join("mappers"),
        dry_run: args.dry_run,
        approve_removals: args.approve_removals,
        today,
        on_planned: on_planned.as_deref(),
    };
    let leases = crate::leases::Leases::for_this_process()?;
    let outcome = fetch_and_record(&integrations, &args.instance, &options, &leases)?;
    drop(on_planned);
    let finished = match (streamed, &outcome) {
        (Some(streamed), Fetched::ReportPlan(plan)) => streamed.finish(&plan.summary)?,
        _ => false,
    };
    if args.json && !finished {
        output::print_json(&outcome)?;
    } else if !args.json {
        match &outcome {
            Fetched::Report(summary) => print_summary(&args.instance, summary),
            Fetched::ReportPlan(plan) => print_plan(plan, &lines.unwrap_or_default()),
            Fetched::Events(summary) => print_events(&args.instance, summary),
            Fetched::EventPlan(plan) => print_event_plan(plan),
        }
    }
    match outcome.error() {
        Some(error) => anyhow::bail!(
            "{}: reading stopped early: {error} (what was read before is kept; the next fetch resumes at the page that failed)",
            args.instance
        ),
        None => Ok(Outcome::Success),
    }
}

/// A dry run's `--json` plan written as it is made: the events as they are decided, then
/// the summary once the report is read. The text is what printing the whole plan at once
/// makes, but the events of a large report are never all held. A dry run that fails after
/// its first event leaves the plan unfinished (and exits with an error).
struct StreamedPlan<W: Write> {
    out: RefCell<std::io::BufWriter<W>>,
    /// Whether the first event (and the document's start) was written.
    started: Cell<bool>,
}

impl<W: Write> StreamedPlan<W> {
    fn new(out: W) -> Self {
        Self {
            out: RefCell::new(std::io::BufWriter::new(out)),
            started: Cell::new(false),
        }
    }

    fn event(&self, event: &Event) -> Result<()> {
        let mut out = self.out.borrow_mut();
        let start: &[u8] = match self.started.replace(true) {
            false => b"{\n  \"events\": [\n    ",
            true => b",\n    ",
        };
        out.write_all(start)?;
        write_indented(&mut *out, event, "    ")
    }

    /// Ends the plan with `summary`; `false` when no event began it, and the plan is to
    /// be printed whole.
    fn finish(self, summary: &FetchSummary) -> Result<bool> {
        if !self.started.get() {
            return Ok(false);
        }
        let mut out = self.out.into_inner();
        out.write_all(b"\n  ],\n  \"summary\": ")?;
        write_indented(&mut out, summary, "  ")?;
        out.write_all(b"\n}\n")?;
        out.flush()?;
        Ok(true)
    }
}

/// `value` as pretty JSON whose lines after the first are indented by `indent`, as
/// it reads inside the document around it. (JSON text has no raw line breaks in
/// strings, so every one is between values.)
fn write_indented(out: &mut impl Write, value: &impl serde::Serialize, indent: &str) -> Result<()> {
    let text = serde_json::to_vec_pretty(value)?;
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            out.write_all(b"\n")?;
            out.write_all(indent.as_bytes())?;
        }
        out.write_all(line)?;
    }
    Ok(())
}

/// Fetches `instance` and, unless it is a dry run, records how it went for `ilm status`.
/// One process fetches an instance at a time: `FetchBusy` while another does.
pub fn fetch_and_record(
    integrations: &Integrations<'_>,
    instance: &str,
    options: &FetchOptions<'_>,
    leases: &crate::leases::Leases,
) -> Result<Fetched> {
    if options.dry_run {
        return sources::fetch(integrations, instance, options);
    }
    let store = integrations.store;
    leases.claim_fetch(store, instance)?;
    let outcome = sources::fetch(integrations, instance, options);
    if let Err(err) = leases.release_fetch(store, instance) {
        // It expires on its own.
        tracing::warn!(instance, "giving up the fetch claim: {err:#}");
    }
    let recorded = match &outcome {
        Ok(fetched) => match fetched.error() {
            Some(error) => store.record_fetch_failure(instance, &format!("stopped early: {error}")),
            None => serde_json::to_value(fetched)
                .map_err(anyhow::Error::from)
                .and_then(|summary| store.record_fetch_success(instance, &summary)),
        },
        Err(err) => store.record_fetch_failure(instance, &format!("{err:#}")),
    };
    if let Err(err) = recorded {
        tracing::warn!(instance, "the fetch's status was not recorded: {err:#}");
    }
    outcome
}

/// Today's date (UTC) as the store sees it.
pub fn today(store: &crate::store::Store) -> Result<NaiveDate> {
    parse_date(&store.today()?).map_err(anyhow::Error::msg)
}

fn print_counts(dropped: &std::collections::BTreeMap<String, usize>) {
    for (reason, count) in dropped {
        println!("  no incident ({reason}): {count}");
    }
}

fn print_events(instance: &str, s: &EventSummary) {
    println!("{instance}: read {} events in {} pages", s.events, s.pages);
    print_counts(&s.dropped);
    for (kind, count) in &s.incidents {
        println!("  created {count} × {kind}");
    }
    println!(
        "incidents created: {}, queued for the next fetch: {}",
        s.incidents_created, s.queued
    );
}

fn print_event_plan(plan: &EventPlan) {
    let s = &plan.summary;
    println!(
        "plan: {} events in {} pages, {} incidents ({} already queued)",
        s.events,
        s.pages,
        plan.incidents.len(),
        s.queued
    );
    print_counts(&s.dropped);
    let mut by_type: std::collections::BTreeMap<&str, Vec<&sources::EventIncident>> =
        Default::default();
    for incident in &plan.incidents {
        by_type.entry(&incident.kind).or_default().push(incident);
    }
    for (kind, incidents) in by_type {
        println!("{kind} ({})", incidents.len());
        for i in incidents {
            let details = i
                .fields
                .get("details")
                .and_then(|d| d.as_str())
                .unwrap_or("");
            println!("  {} — {details}", i.name);
        }
    }
}

fn print_summary(instance: &str, s: &FetchSummary) {
    if s.report_read {
        println!(
            "{instance}: read {} rows, skipped {} malformed, left out {} unusable values",
            s.rows,
            s.skipped.len(),
            s.warnings.len()
        );
    } else {
        println!("{instance}: the queue was not empty, so the report was not read");
    }
    print_row_problems(s);
    print_counts(&s.dropped);
    for (reason, count) in &s.carried {
        println!("  not created, {reason}: {count}");
    }
    for (kind, count) in &s.events {
        println!("  created {count} × {kind}");
    }
    println!(
        "incidents created: {}, profiles created: {}, queued for the next fetch: {}",
        s.incidents_created, s.profiles_created, s.queued
    );
}

/// Skipped rows and values left out, each with its reason.
fn print_row_problems(s: &FetchSummary) {
    for reason in &s.skipped {
        println!("  skipped: {reason}");
    }
    for warning in &s.warnings {
        println!("  warning: {warning}");
    }
}

/// A dry run's events as its text prints them: one line each, by type.
#[derive(Default)]
struct PlanLines(RefCell<BTreeMap<&'static str, Vec<String>>>);

impl PlanLines {
    fn add(&self, e: &Event) {
        let changed = if e.changed_fields.is_empty() {
            String::new()
        } else {
            format!(" [changed: {}]", e.changed_fields.join(", "))
        };
        let line = format!("  {} — {}{changed}", e.name, e.details);
        let mut by_type = self.0.borrow_mut();
        by_type
            .entry(e.incident_type.name())
            .or_default()
            .push(line);
    }
}

/// `plan`, its events given as `lines` (those it holds itself are added to them).
fn print_plan(plan: &Plan, lines: &PlanLines) {
    for event in &plan.events {
        lines.add(event);
    }
    let by_type = lines.0.borrow();
    let events: usize = by_type.values().map(Vec::len).sum();
    let s = &plan.summary;
    if s.profiles_created > 0
        || events == 0 && s.rows > 0 && s.events.is_empty() && s.dropped.is_empty()
    {
        println!(
            "first-run sync: {} profiles would be created, no incidents",
            s.profiles_created
        );
    }
    println!(
        "plan: {} rows, {} malformed, {} values left out, {events} events ({} already queued)",
        s.rows,
        s.skipped.len(),
        s.warnings.len(),
        s.queued
    );
    print_row_problems(s);
    print_counts(&s.dropped);
    if let Some(hold) = &s.held {
        println!("the fetch would stop for approval: {hold}");
    }
    for (kind, lines) in by_type.iter() {
        println!("{kind} ({})", lines.len());
        for line in lines {
            println!("{line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::IncidentType;
    use serde_json::{json, Value};

    fn event(name: &str, kind: IncidentType) -> Event {
        let Value::Object(raw) = json!({"Emp_ID": "1", "Nested": {"a": [1, "x\ny"]}}) else {
            unreachable!()
        };
        let Value::Object(profile) = json!({"email": name, "title": "Engineer"}) else {
            unreachable!()
        };
        Event::new(kind, "details".into(), raw, profile, vec!["title".into()])
    }

    #[test]
    fn a_streamed_plan_reads_as_the_whole_plan_printed_at_once() {
        let mut summary = FetchSummary {
            rows: 3,
            ..FetchSummary::default()
        };
        summary.events.insert("IAM - New Hire".into(), 2);
        let events = vec![
            event("a@acme.test", IncidentType::NewHire),
            event("b@acme.test", IncidentType::UpdateUser),
        ];
        let mut whole = serde_json::to_vec_pretty(&Plan {
            events: events.clone(),
            summary: summary.clone(),
        })
        .unwrap();
        whole.push(b'\n');

        let mut out = Vec::new();
        let streamed = StreamedPlan::new(&mut out);
        for event in &events {
            streamed.event(event).unwrap();
        }
        assert!(streamed.finish(&summary).unwrap());
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(whole).unwrap()
        );

        // No event: nothing written, the caller prints the plan whole.
        let mut out = Vec::new();
        assert!(!StreamedPlan::new(&mut out).finish(&summary).unwrap());
        assert!(out.is_empty());
    }
}
