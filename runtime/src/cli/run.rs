//! `ilm run`: the runtime in one process — fetches every source instance (HR reports, event
//! logs) on its interval and runs the worker. SIGTERM or SIGINT stops fetching; incidents in flight finish (or
//! resume from their journal on the next start).

use super::fetch::{fetch_and_record, today};
use super::{Context, Outcome};
use crate::integrations::Integrations;
use crate::leases::FetchBusy;
use crate::playbooks::Services;
use crate::sources::{FetchOptions, Fetched};
use anyhow::Result;
use clap::Args;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct RunArgs {
    /// Incidents run at the same time.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Fetch every source instance once, run the incidents until none is pending, and exit:
    /// 0 when everything succeeded, 4 when a fetch or an incident failed (each is named).
    #[arg(long)]
    once: bool,
    #[command(flatten)]
    retries: super::playbook::RetryArgs,
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<Outcome> {
    let services = ctx.services()?;
    let stop = crate::worker::stop_on_signals()?;
    let mappers_dir = ctx.playbooks_dir.join("mappers");
    if args.once {
        let failed_before = failed_incident_ids(&services)?;
        let failed_fetches = fetch_due(&services, &mappers_dir, &mut HashMap::new());
        let summary = crate::worker::run(
            &services,
            args.concurrency,
            true,
            args.retries.retries(),
            &stop,
        )?;
        println!("{summary}");
        let failed_incidents: Vec<_> = services
            .open_store()?
            .failed_incidents()?
            .into_iter()
            .filter(|(id, _, _)| !failed_before.contains(id))
            .collect();
        for (instance, error) in &failed_fetches {
            eprintln!("fetch of {instance} failed: {error}");
        }
        for (id, name, error) in &failed_incidents {
            eprintln!("incident {id} ({name}) failed: {error}");
        }
        if failed_fetches.is_empty() && failed_incidents.is_empty() {
            return Ok(Outcome::Success);
        }
        eprintln!(
            "{} fetch(es) and {} incident(s) failed; fix the cause, then `ilm incident run ID` re-runs an incident",
            failed_fetches.len(),
            failed_incidents.len()
        );
        return Ok(Outcome::RunFailures);
    }
    let worker = {
        let (services, stop) = (services.clone(), stop.clone());
        let retries = args.retries.retries();
        std::thread::spawn(move || {
            crate::worker::run(&services, args.concurrency, false, retries, &stop)
        })
    };
    let mut last_fetch = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        fetch_due(&services, &mappers_dir, &mut last_fetch);
        std::thread::sleep(Duration::from_millis(500));
    }
    tracing::info!("stopping: finishing the incidents in flight");
    match worker.join() {
        Ok(summary) => {
            let summary = summary?;
            println!("stopped: {summary}");
        }
        Err(_) => anyhow::bail!("the worker thread panicked"),
    }
    Ok(Outcome::Success)
}

fn failed_incident_ids(services: &Services) -> Result<HashSet<i64>> {
    let failed = services.open_store()?.failed_incidents()?;
    Ok(failed.into_iter().map(|(id, _, _)| id).collect())
}

/// Fetches every enabled source instance whose interval has passed. A failed fetch is
/// logged and retried on the next interval; it never stops the runtime. Returns the
/// failures: instance and error.
fn fetch_due(
    services: &Services,
    mappers_dir: &std::path::Path,
    last_fetch: &mut HashMap<String, Instant>,
) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    if let Err(err) = try_fetch_due(services, mappers_dir, last_fetch, &mut failures) {
        tracing::error!("fetching: {err:#}");
        failures.push(("the source instances".to_owned(), format!("{err:#}")));
    }
    failures
}

fn try_fetch_due(
    services: &Services,
    mappers_dir: &std::path::Path,
    last_fetch: &mut HashMap<String, Instant>,
    failures: &mut Vec<(String, String)>,
) -> Result<()> {
    let store = services.open_store()?;
    let integrations = Integrations {
        store: &store,
        host: &services.host,
        mappers: &services.mappers,
    };
    for record in store.instances()?.into_iter().filter(|i| i.enabled) {
        let is_source = services
            .host
            .plugin(&record.plugin)
            .is_ok_and(|p| p.manifest.source.is_some());
        if !is_source {
            continue;
        }
        let minutes = integrations.fetch_interval_minutes(&record.name)?;
        if last_fetch
            .get(&record.name)
            .is_some_and(|at| at.elapsed() < Duration::from_secs(minutes * 60))
        {
            continue;
        }
        last_fetch.insert(record.name.clone(), Instant::now());
        let options = FetchOptions {
            mappers_dir,
            dry_run: false,
            approve_removals: false,
            today: today(&store)?,
            on_planned: None,
        };
        match fetch_and_record(&integrations, &record.name, &options, &services.leases) {
            Ok(Fetched::Report(s)) => tracing::info!(
                instance = record.name,
                rows = s.rows,
                skipped = s.skipped.len(),
                left_out = s.warnings.len(),
                incidents = s.incidents_created,
                profiles = s.profiles_created,
                queued = s.queued,
                "fetched"
            ),
            Ok(Fetched::Events(s)) => {
                tracing::info!(
                    instance = record.name,
                    events = s.events,
                    pages = s.pages,
                    dropped = s.dropped.values().sum::<usize>(),
                    incidents = s.incidents_created,
                    queued = s.queued,
                    "fetched"
                );
                if let Some(error) = &s.error {
                    tracing::error!(instance = record.name, "fetch stopped early: {error}");
                    failures.push((record.name.clone(), format!("stopped early: {error}")));
                }
            }
            Ok(Fetched::ReportPlan(_) | Fetched::EventPlan(_)) => {}
            Err(err) if err.is::<FetchBusy>() => tracing::info!(instance = record.name, "{err:#}"),
            Err(err) => {
                tracing::error!(instance = record.name, "fetch failed: {err:#}");
                failures.push((record.name.clone(), format!("{err:#}")));
            }
        }
    }
    Ok(())
}
