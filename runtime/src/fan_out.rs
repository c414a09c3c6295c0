//! Independent outbound calls run at once: an IAM command on eight apps waits for the
//! slowest app, not for the sum of them. The calls run on a pool of threads kept for the
//! process: starting a thread per call was measured to cost more than a call to a fast app.

use rayon::{ThreadPool, ThreadPoolBuilder};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

/// Calls in flight at once for each incident running: one command on eight apps. Calls
/// mostly wait on the network, so this is not tied to the number of cores.
const CALLS_PER_RUN: usize = 8;

/// Calls in flight at once across the process; more wait for a thread.
const MAX_CALL_THREADS: usize = 32;

/// The pool's size, set by [`size_for`] before the first call. Not larger than needed: an
/// idle pool thread spins and yields a while before it sleeps, trying to steal work from
/// every other thread, and with 32 threads on two cores that took the CPU a PostgreSQL
/// server on the same machine needed (8 threads instead of 32: 25-35 % more people
/// provisioned a minute by two workers).
static CALL_THREADS: AtomicUsize = AtomicUsize::new(CALLS_PER_RUN);

/// Sizes the pool for `runs` incidents running at once; a call after the first fan-out
/// changes nothing.
pub fn size_for(runs: usize) {
    let threads = runs.max(1).saturating_mul(CALLS_PER_RUN);
    CALL_THREADS.store(threads.min(MAX_CALL_THREADS), Ordering::Relaxed);
}

/// The pool, or `None` when the system would not give it threads (then calls run in turn).
fn pool() -> Option<&'static ThreadPool> {
    static POOL: OnceLock<Option<ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        ThreadPoolBuilder::new()
            .num_threads(CALL_THREADS.load(Ordering::Relaxed))
            .thread_name(|i| format!("ilm-call-{i}"))
            .build()
            .map_err(|err| tracing::warn!("calls will run in turn: no threads for them: {err}"))
            .ok()
    })
    .as_ref()
}

/// `call` on every item at once, the results in the items' order; `None` where a call
/// panicked (the panic is logged by the hook), so one bad call cannot take the others down.
pub fn each<T: Send, R: Send>(items: Vec<T>, call: impl Fn(T) -> R + Sync) -> Vec<Option<R>> {
    let guarded = |item| catch_unwind(AssertUnwindSafe(|| call(item))).ok();
    let Some(pool) = pool().filter(|_| items.len() > 1) else {
        return items.into_iter().map(guarded).collect();
    };
    let span = tracing::Span::current();
    let mut results: Vec<Option<R>> = items.iter().map(|_| None).collect();
    pool.scope(|scope| {
        for (slot, item) in results.iter_mut().zip(items) {
            let (guarded, span) = (&guarded, span.clone());
            scope.spawn(move |_| {
                let _entered = span.enter();
                *slot = guarded(item);
            });
        }
    });
    results
}

#[cfg(test)]
mod tests {
    use super::each;
    use std::sync::Barrier;

    #[test]
    fn every_call_runs_at_once_and_results_keep_their_order() {
        // Each call waits for all the others: run in turn, the first would wait forever.
        let barrier = Barrier::new(8);
        let out = each((0..8).collect(), |i: u32| {
            barrier.wait();
            i * 10
        });
        assert_eq!(out, (0..8).map(|i| Some(i * 10)).collect::<Vec<_>>());
    }

    #[test]
    fn a_call_that_panics_is_none_and_the_others_finish() {
        let out = each(vec![1, 0, 2], |d: u32| 10 / d);
        assert_eq!(out, vec![Some(10), None, Some(5)]);
    }
}
