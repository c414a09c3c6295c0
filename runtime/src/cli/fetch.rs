//! `ilm fetch INSTANCE [--dry-run] [--as-of DATE]`: read the HR report, classify every row
//! against the stored profiles, and create the incidents (or print the plan).

use super::{output, Context, Outcome};
use crate::fetch::{Fetch, FetchSummary, IncomingMap, Plan, WorkdayParams};
use crate::integrations::Integrations;
use anyhow::{bail, Context as _, Result};
use chrono::NaiveDate;
use clap::Args;
use serde_json::Value;

/// The brand whose instances `ilm fetch` and `ilm run` classify.
pub const WORKDAY_BRAND: &str = "Workday IAM";

#[derive(Args)]
pub struct FetchArgs {
    /// The Workday instance.
    pub instance: String,
    /// Print every event the fetch would create, grouped by type, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Classify as if today were this date (YYYY-MM-DD).
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
    let map = incoming_map(&ctx.playbooks_dir.join("mappers/workday-incoming.toml"))?;
    let outcome = fetch_instance(&integrations, &map, &args.instance, today, args.dry_run)?;
    match outcome {
        Fetched::Summary(summary) if args.json => println!("{}", output::json(&summary)?),
        Fetched::Summary(summary) => print_summary(&args.instance, &summary),
        Fetched::Plan(plan) if args.json => println!("{}", output::json(&plan)?),
        Fetched::Plan(plan) => print_plan(&plan),
    }
    Ok(Outcome::Success)
}

/// The Workday incoming map, read afresh so an administrator's edit applies at once.
pub fn incoming_map(path: &std::path::Path) -> Result<IncomingMap> {
    IncomingMap::load(path).with_context(|| format!("the Workday incoming map {}", path.display()))
}

/// Today's date (UTC) as the store sees it.
pub fn today(store: &crate::store::Store) -> Result<NaiveDate> {
    parse_date(&store.today()?).map_err(anyhow::Error::msg)
}

pub enum Fetched {
    Summary(FetchSummary),
    Plan(Plan),
}

/// One fetch (or dry run) of a Workday instance; shared with `ilm run`.
pub fn fetch_instance(
    integrations: &Integrations,
    map: &IncomingMap,
    instance: &str,
    today: NaiveDate,
    dry_run: bool,
) -> Result<Fetched> {
    let plugin = integrations.plugin_of(instance)?;
    if plugin.manifest.brand != WORKDAY_BRAND {
        bail!(
            "instance {instance:?} is a {} instance; fetch classifies {WORKDAY_BRAND} reports",
            plugin.manifest.brand
        );
    }
    let params = integrations.params(instance)?;
    let workday = WorkdayParams::from_instance(&params).map_err(|e| {
        anyhow::anyhow!("instance {instance:?}: parameter {}: {}", e.name, e.problem)
    })?;
    let number =
        |name: &str, default: i64| params.get(name).and_then(Value::as_i64).unwrap_or(default);
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("first-run sync {bar:40} {pos}/{len} profiles")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let fetch = Fetch {
        store: integrations.store,
        instance,
        map,
        params: &workday,
        max_fetch: number("max_fetch", 50).max(1) as usize,
        first_run: params
            .get("first_run")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        today,
        progress: &progress,
    };
    let read_report = || -> Result<String> {
        let mut records = integrations.fetch_records(instance)?;
        records
            .pop()
            .with_context(|| format!("{instance} returned no report"))
    };
    let outcome = if dry_run {
        Fetched::Plan(fetch.dry_run(&read_report()?)?)
    } else {
        Fetched::Summary(fetch.run(read_report)?)
    };
    bar.finish_and_clear();
    Ok(outcome)
}

fn print_summary(instance: &str, s: &FetchSummary) {
    if s.report_read {
        println!(
            "{instance}: read {} rows, skipped {} malformed",
            s.rows,
            s.skipped.len()
        );
    } else {
        println!("{instance}: the queue was not empty, so the report was not read");
    }
    for reason in &s.skipped {
        println!("  skipped: {reason}");
    }
    for (reason, count) in &s.dropped {
        println!("  no incident ({reason}): {count}");
    }
    for (kind, count) in &s.events {
        println!("  created {count} × {kind}");
    }
    println!(
        "incidents created: {}, profiles created: {}, queued for the next fetch: {}",
        s.incidents_created, s.profiles_created, s.queued
    );
}

fn print_plan(plan: &Plan) {
    let s = &plan.summary;
    if s.profiles_created > 0
        || plan.events.is_empty() && s.rows > 0 && s.events.is_empty() && s.dropped.is_empty()
    {
        println!(
            "first-run sync: {} profiles would be created, no incidents",
            s.profiles_created
        );
    }
    println!(
        "plan: {} rows, {} malformed, {} events ({} already queued)",
        s.rows,
        s.skipped.len(),
        plan.events.len(),
        s.queued
    );
    for reason in &s.skipped {
        println!("  skipped: {reason}");
    }
    for (reason, count) in &s.dropped {
        println!("  no incident ({reason}): {count}");
    }
    let mut by_type: std::collections::BTreeMap<&str, Vec<&crate::fetch::Event>> =
        Default::default();
    for event in &plan.events {
        by_type
            .entry(event.incident_type.name())
            .or_default()
            .push(event);
    }
    for (kind, events) in by_type {
        println!("{kind} ({})", events.len());
        for e in events {
            let changed = if e.changed_fields.is_empty() {
                String::new()
            } else {
                format!(" [changed: {}]", e.changed_fields.join(", "))
            };
            println!("  {} — {}{changed}", e.name, e.details);
        }
    }
}
