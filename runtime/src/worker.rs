//! The worker: picks up pending incidents and runs their playbooks, N at a time. On start
//! it first resumes incidents a stopped process left running.

use crate::playbooks::{RunOutcome, Services};
use anyhow::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long an idle worker thread waits before looking for work again.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// What a worker run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WorkerSummary {
    pub closed: usize,
    pub waiting: usize,
    pub failed: usize,
}

impl std::fmt::Display for WorkerSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "closed {}, waiting {}, failed {}",
            self.closed, self.waiting, self.failed
        )
    }
}

/// A flag SIGTERM and SIGINT set: the worker finishes the incidents in flight and stops.
pub fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| anyhow::anyhow!("installing the signal handler: {e}"))?;
    }
    Ok(stop)
}

impl WorkerSummary {
    fn add(&mut self, outcome: &RunOutcome) {
        match outcome {
            RunOutcome::Closed => self.closed += 1,
            RunOutcome::Waiting { .. } => self.waiting += 1,
            RunOutcome::Failed { .. } => self.failed += 1,
        }
    }

    fn merge(&mut self, other: WorkerSummary) {
        self.closed += other.closed;
        self.waiting += other.waiting;
        self.failed += other.failed;
    }
}

/// Runs incidents with `concurrency` threads until `stop` is set, or, with `until_idle`,
/// until no pending incident is left.
pub fn run(
    services: &Arc<Services>,
    concurrency: usize,
    until_idle: bool,
    stop: &AtomicBool,
) -> Result<WorkerSummary> {
    let mut summary = WorkerSummary::default();
    let store = services.open_store()?;
    for id in store.interrupted_incidents()? {
        tracing::info!(
            incident = id,
            "resuming an incident the last run left unfinished"
        );
        summary.add(&run_one(services, id));
    }
    drop(store);
    let results = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..concurrency.max(1))
            .map(|_| scope.spawn(|| work(services, until_idle, stop)))
            .collect();
        threads.into_iter().map(|t| t.join()).collect::<Vec<_>>()
    });
    for result in results {
        match result {
            Ok(result) => summary.merge(result?),
            Err(_) => anyhow::bail!("a worker thread panicked"),
        }
    }
    Ok(summary)
}

fn work(services: &Arc<Services>, until_idle: bool, stop: &AtomicBool) -> Result<WorkerSummary> {
    let store = services.open_store()?;
    let mut summary = WorkerSummary::default();
    while !stop.load(Ordering::Relaxed) {
        match store.claim_pending_incident()? {
            Some(id) => summary.add(&run_one(services, id)),
            None if until_idle => break,
            None => std::thread::sleep(IDLE_POLL),
        }
    }
    Ok(summary)
}

/// Runs one incident; an error is logged and recorded on the incident, never fatal.
fn run_one(services: &Arc<Services>, id: i64) -> RunOutcome {
    match services.run_incident(id) {
        Ok(outcome) => {
            tracing::info!(incident = id, ?outcome, "incident run ended");
            outcome
        }
        Err(err) => {
            let error = format!("{err:#}");
            tracing::error!(incident = id, "{error}");
            if let Ok(store) = services.open_store() {
                let _ = store.fail_incident(id, &error);
            }
            RunOutcome::Failed { error }
        }
    }
}
