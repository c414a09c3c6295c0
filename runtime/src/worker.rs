//! The worker: claims incidents and runs their playbooks, N at a time. A claim is a lease
//! (see `store::leases`), so any number of workers, in one process or several, share the
//! work: an incident another worker left running is taken over once its lease expired, or
//! at once when that worker's process on this machine is gone.

use crate::playbooks::{RunOutcome, Services};
use crate::retries::{self, Retries};
use crate::store::{is_lease_lost, is_store_unavailable, Lease};
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
    /// Incidents whose run failed and that are not retried.
    pub failed: usize,
    /// Runs stopped because another worker took their incident over.
    pub lost: usize,
    /// Failed runs scheduled to run again (the network or an app failed); not in `failed`.
    pub retried: usize,
}

impl std::fmt::Display for WorkerSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "closed {}, waiting {}, failed {}",
            self.closed, self.waiting, self.failed
        )?;
        if self.retried > 0 {
            write!(f, ", retried {}", self.retried)?;
        }
        if self.lost > 0 {
            write!(f, ", lost to another worker {}", self.lost)?;
        }
        Ok(())
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
    fn add(&mut self, outcome: Option<&RunOutcome>) {
        match outcome {
            Some(RunOutcome::Closed) => self.closed += 1,
            Some(RunOutcome::Waiting { .. }) => self.waiting += 1,
            Some(RunOutcome::Failed { .. }) => self.failed += 1,
            None => self.lost += 1,
        }
    }

    fn merge(&mut self, other: WorkerSummary) {
        self.closed += other.closed;
        self.waiting += other.waiting;
        self.failed += other.failed;
        self.lost += other.lost;
        self.retried += other.retried;
    }
}

/// Runs incidents with `concurrency` threads until `stop` is set, or, with `until_idle`,
/// until no pending incident is left (retries not yet due included). A run that failed
/// because of the network or an app is retried as `retries` says.
pub fn run(
    services: &Arc<Services>,
    concurrency: usize,
    until_idle: bool,
    retries: Retries,
    stop: &AtomicBool,
) -> Result<WorkerSummary> {
    crate::fan_out::size_for(concurrency);
    let mut summary = WorkerSummary::default();
    let results = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..concurrency.max(1))
            .map(|_| scope.spawn(|| work(services, until_idle, retries, stop)))
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

fn work(
    services: &Arc<Services>,
    until_idle: bool,
    retries: Retries,
    stop: &AtomicBool,
) -> Result<WorkerSummary> {
    let store = services.open_store()?;
    let leases = &services.leases;
    let mut summary = WorkerSummary::default();
    leases.end_dead_owners(&store)?;
    while !stop.load(Ordering::Relaxed) {
        let claimed = match store.claim_next(&leases.owner, leases.ttl) {
            Ok(claimed) => claimed,
            // The store is away (a database restart): wait for it, as for work.
            Err(err) if is_store_unavailable(&err) => {
                tracing::warn!("{err:#}; trying again in {IDLE_POLL:?}");
                std::thread::sleep(IDLE_POLL);
                continue;
            }
            Err(err) => return Err(err),
        };
        match claimed {
            Some(lease) => {
                let outcome = run_one(services, &lease);
                let retried = matches!(outcome, Some(RunOutcome::Failed { .. }))
                    && retry(services, &lease, retries).unwrap_or_else(|err| {
                        tracing::error!(incident = lease.incident, "scheduling a retry: {err:#}");
                        false
                    });
                if retried {
                    summary.retried += 1;
                } else {
                    summary.add(outcome.as_ref());
                }
            }
            None if until_idle && !store.retries_waiting()? => break,
            None => {
                std::thread::sleep(IDLE_POLL);
                leases.end_dead_owners(&store)?;
            }
        }
    }
    Ok(summary)
}

/// Schedules the next run of a failed incident when its failure was transient and the
/// attempts are not used up; whether it did.
fn retry(services: &Services, lease: &Lease, retries: Retries) -> Result<bool> {
    let id = lease.incident;
    let store = services.open_store()?.fenced(lease);
    let state = store.run_state(id)?;
    let Some(cause) = retries::transient_cause(&store.journal(id, state.attempt)?) else {
        return Ok(false);
    };
    let runs = u32::try_from(state.retries + 1).unwrap_or(u32::MAX);
    let Some(wait) = retries.next_wait(runs) else {
        tracing::warn!(incident = id, "{cause}; not retried: {runs} runs failed");
        return Ok(false);
    };
    store.schedule_retry(id, wait)?;
    tracing::warn!(
        incident = id,
        "{cause}; retrying in {wait:?} (run {} of at most {})",
        runs + 1,
        retries.max_attempts
    );
    Ok(true)
}

/// Runs one claimed incident; an error is logged (the run recorded it on the incident),
/// never fatal. `None`: the lease was lost, another worker runs the incident now.
fn run_one(services: &Arc<Services>, lease: &crate::store::Lease) -> Option<RunOutcome> {
    let id = lease.incident;
    match services.run_claimed(lease) {
        Ok(outcome) => {
            tracing::info!(incident = id, ?outcome, "incident run ended");
            Some(outcome)
        }
        Err(err) if is_lease_lost(&err) || is_store_unavailable(&err) => {
            tracing::warn!(incident = id, "{err:#}");
            None
        }
        Err(err) => {
            let error = format!("{err:#}");
            tracing::error!(incident = id, "{error}");
            Some(RunOutcome::Failed { error })
        }
    }
}
