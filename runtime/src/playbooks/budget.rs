//! A run's budget: how many journaled calls one playbook run may make and how long it may
//! take, so a runaway script (a loop of host calls, a loop that never ends) fails its
//! incident quickly instead of filling the journal or holding a worker. Exhausting the
//! budget ends the run as a termination a script's `try`/`catch` cannot swallow.

use serde::Deserialize;
use std::time::{Duration, Instant};

/// `[limits]` in `playbooks/config.toml`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Journaled calls one run of an incident's playbook may make (replayed ones count).
    pub max_calls: usize,
    /// Seconds one run may take.
    pub max_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_calls: 10_000,
            max_seconds: 600,
        }
    }
}

/// The termination tokens of an exhausted budget, one per kind.
pub const CALLS_TOKEN: &str = "ilm:budget-calls";
pub const TIME_TOKEN: &str = "ilm:budget-time";

/// The error a journaled call fails with when the budget is spent; the host turns it
/// into the termination `token`.
#[derive(Debug)]
pub struct OverBudget(pub &'static str);

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the run's budget is spent ({})", self.0)
    }
}

impl std::error::Error for OverBudget {}

/// The budget of one run, its clock started.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    limits: Limits,
    deadline: Instant,
}

impl Budget {
    pub fn start(limits: Limits) -> Self {
        Self {
            limits,
            deadline: Instant::now() + Duration::from_secs(limits.max_seconds),
        }
    }

    /// The token to end the run with before journaled call `seq` (0-based), if any.
    pub fn before_call(&self, seq: usize) -> Option<&'static str> {
        if seq >= self.limits.max_calls {
            return Some(CALLS_TOKEN);
        }
        self.out_of_time()
    }

    /// The token to end the run with when its time is up.
    pub fn out_of_time(&self) -> Option<&'static str> {
        (Instant::now() >= self.deadline).then_some(TIME_TOKEN)
    }

    /// What an exhausted budget's token means, with the fix.
    pub fn explain(&self, token: &str) -> Option<String> {
        match token {
            CALLS_TOKEN => Some(format!(
                "the run reached its budget of {} journaled calls (a runaway loop?); fix the script, \
                 or raise max_calls under [limits] in playbooks/config.toml",
                self.limits.max_calls
            )),
            TIME_TOKEN => Some(format!(
                "the run reached its wall-time budget of {} s; fix the script, or raise \
                 max_seconds under [limits] in playbooks/config.toml",
                self.limits.max_seconds
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_past_the_cap_and_time_past_the_deadline_end_the_run() {
        let budget = Budget::start(Limits {
            max_calls: 2,
            max_seconds: 600,
        });
        assert_eq!(budget.before_call(1), None);
        assert_eq!(budget.before_call(2), Some(CALLS_TOKEN));
        let spent = Budget::start(Limits {
            max_calls: 2,
            max_seconds: 0,
        });
        assert_eq!(spent.before_call(0), Some(TIME_TOKEN));
        assert!(budget
            .explain(CALLS_TOKEN)
            .unwrap()
            .contains("2 journaled calls"));
        assert!(spent.explain(TIME_TOKEN).unwrap().contains("0 s"));
        assert_eq!(budget.explain("ilm:halt"), None);
    }
}
