//! Retrying incidents whose run failed because of the network or a busy app: a call that
//! did not reach the app (or its directory) or ran out of time, a rate limit (HTTP 429) or
//! a server error (5xx). A script error or an app refusing the data is not retried: trying again gives
//! the same answer. A retry is a new attempt, as a person's re-run is: the failed call's
//! answer is in the journal, so replaying the attempt would fail the same way, and the
//! playbooks keep the instances that already succeeded in the incident's context, so what
//! finished is not done again.

use crate::store::JournalEntry;
use serde_json::Value;
use std::time::Duration;

/// The code of a plugin call stopped at its deadline.
pub const TIMEOUT: &str = "timeout";

/// The code the host gives a request that did not reach its server (refused, unreachable,
/// reset, timed out).
const NETWORK_ERROR: &str = "network-error";

/// The code the host gives an LDAP call that got no answer from the directory.
pub const LDAP_UNAVAILABLE: &str = "ldap-unavailable";

/// How a worker retries.
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Runs of an incident at most, the first included (1: never retry).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles for each one after.
    pub backoff: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            backoff: Duration::from_secs(30),
        }
    }
}

impl Retries {
    /// The wait before the next run, after `runs` runs failed for a transient cause; `None`
    /// once the attempts are used up.
    pub fn next_wait(&self, runs: u32) -> Option<Duration> {
        (runs < self.max_attempts).then(|| self.backoff * 2u32.saturating_pow(runs - 1))
    }
}

/// Whether an app failure code is a transient one.
fn is_transient(code: &str) -> bool {
    code == NETWORK_ERROR
        || code == TIMEOUT
        || code == LDAP_UNAVAILABLE
        || code
            .parse::<u16>()
            .is_ok_and(|status| status == 429 || (500..=599).contains(&status))
}

/// Why a failed attempt is worth retrying: the last call it journaled is an IAM command
/// that an app answered (or did not) with a transient failure. `None` for anything else.
pub fn transient_cause(journal: &[JournalEntry]) -> Option<String> {
    let last = journal.iter().rev().find(|e| e.result.is_some())?;
    if last.call != "iam" {
        return None;
    }
    let results = last.result.as_ref()?.as_array()?;
    results.iter().find_map(|vendor| {
        let text = |key: &str| vendor.get(key).and_then(Value::as_str).unwrap_or_default();
        let failed = vendor.get("success") == Some(&Value::Bool(false));
        let declared = vendor.get("transient") == Some(&Value::Bool(true));
        (failed && (declared || is_transient(text("errorCode")))).then(|| {
            format!(
                "{} answered {}: {}",
                text("instanceName"),
                text("errorCode"),
                text("errorMessage")
            )
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(call: &str, result: Value) -> JournalEntry {
        JournalEntry {
            attempt: 1,
            seq: 0,
            call: call.into(),
            args: Value::Null,
            result: Some(result),
            sensitive: false,
            started_at: String::new(),
            finished_at: None,
        }
    }

    fn vendor(code: &str) -> Value {
        json!([{"instanceName": "gh", "success": false, "errorCode": code, "errorMessage": "m"}])
    }

    #[test]
    fn the_network_rate_limits_and_server_errors_are_transient_and_the_rest_is_not() {
        for code in [
            "503",
            "500",
            "429",
            "network-error",
            "timeout",
            "ldap-unavailable",
        ] {
            assert_eq!(
                transient_cause(&[entry("iam", vendor(code))]),
                Some(format!("gh answered {code}: m")),
                "{code}"
            );
        }
        for code in [
            "400",
            "404",
            "409",
            "plugin-error",
            "config",
            "E0000001",
            "ldap-untrusted",
            "49",
        ] {
            assert_eq!(
                transient_cause(&[entry("iam", vendor(code))]),
                None,
                "{code}"
            );
        }
        let declared = json!([{"instanceName": "okta", "success": false, "errorCode": "E0000009",
            "errorMessage": "m", "transient": true}]);
        assert_eq!(
            transient_cause(&[entry("iam", declared)]),
            Some("okta answered E0000009: m".to_owned()),
            "a code the manifest declares transient"
        );
        assert_eq!(
            transient_cause(&[entry("today", json!("2025-01-01"))]),
            None
        );
        assert_eq!(
            transient_cause(&[entry("iam", vendor("503")), entry("today", json!("x"))]),
            None,
            "only the call the run stopped after counts"
        );
    }

    #[test]
    fn waits_double_until_the_attempts_are_used_up() {
        let retries = Retries {
            max_attempts: 3,
            backoff: Duration::from_secs(1),
        };
        let waits: Vec<_> = (1..=3).map(|runs| retries.next_wait(runs)).collect();
        assert_eq!(
            waits,
            [
                Some(Duration::from_secs(1)),
                Some(Duration::from_secs(2)),
                None
            ]
        );
    }
}
