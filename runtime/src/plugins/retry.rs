//! Retrying what a vendor asks to be retried, for every plugin: HTTP 429 (rate limited) for
//! any method, and 500/502/503/504 only for methods that are safe to repeat (a POST that
//! failed with a 5xx may have been applied). The wait honours `Retry-After` and Okta's
//! `X-Rate-Limit-Reset`, doubles otherwise, and never runs past the call's deadline: a wait
//! that would leave no time for the plugin to finish returns the vendor's answer instead.

use super::net::{InboundResponse, NetError, NetPolicy, OutboundRequest};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often and how long a plugin call may retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// When the plugin call must be done; retries stop early enough to leave it `reserve`.
    pub deadline: Instant,
    pub reserve: Duration,
    pub max_attempts: u32,
    /// The first wait when the vendor names none; it doubles per attempt.
    pub first_wait: Duration,
    /// The longest single wait.
    pub max_wait: Duration,
}

impl RetryPolicy {
    /// The policy for a call that must end within `budget` from now.
    pub fn for_call(budget: Duration) -> Self {
        Self {
            deadline: Instant::now() + budget,
            reserve: (budget / 4).min(Duration::from_secs(5)),
            max_attempts: 6,
            first_wait: Duration::from_millis(250),
            max_wait: Duration::from_secs(30),
        }
    }
}

/// Sends `req`, retrying as the module doc says. Errors that are not HTTP answers (refused,
/// unreachable) are not retried here: they say something about the instance, not the load.
pub fn send(
    net: &NetPolicy,
    req: OutboundRequest,
    policy: &RetryPolicy,
) -> Result<InboundResponse, NetError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let response = net.send(req.clone())?;
        if attempt >= policy.max_attempts || !retryable(&req.method, response.status) {
            return Ok(response);
        }
        let wait = wait_before_retry(&response, attempt, policy, epoch_seconds());
        if Instant::now() + wait + policy.reserve > policy.deadline {
            return Ok(response);
        }
        tracing::info!(
            status = response.status,
            attempt,
            wait_ms = wait.as_millis() as u64,
            "retrying a plugin request the vendor asked to repeat"
        );
        std::thread::sleep(wait);
    }
}

fn retryable(method: &str, status: u16) -> bool {
    let idempotent = matches!(
        method.to_ascii_uppercase().as_str(),
        "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
    );
    status == 429 || idempotent && matches!(status, 500 | 502 | 503 | 504)
}

/// The vendor's own hint (`Retry-After` seconds, or `X-Rate-Limit-Reset` as epoch
/// seconds), else a doubling backoff; capped at `max_wait`.
fn wait_before_retry(
    response: &InboundResponse,
    attempt: u32,
    policy: &RetryPolicy,
    now_epoch: u64,
) -> Duration {
    let header = |name: &str| {
        response
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
    };
    let hinted = header("retry-after").map(Duration::from_secs).or_else(|| {
        header("x-rate-limit-reset")
            .map(|reset| Duration::from_secs(reset.saturating_sub(now_epoch)))
    });
    let backoff = policy.first_wait * 2u32.saturating_pow(attempt.saturating_sub(1));
    // A reset already past (clock skew) still waits the backoff, so a retry is not instant.
    hinted
        .filter(|wait| !wait.is_zero())
        .unwrap_or(backoff)
        .min(policy.max_wait)
}

fn epoch_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)]) -> InboundResponse {
        InboundResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: Vec::new(),
        }
    }

    #[test]
    fn rate_limits_are_retried_for_every_method_server_errors_only_when_safe() {
        assert!(retryable("POST", 429));
        assert!(retryable("GET", 503));
        assert!(!retryable("POST", 503), "a POST may have been applied");
        assert!(!retryable("GET", 404));
        assert!(!retryable("GET", 501));
    }

    #[test]
    fn the_wait_follows_the_vendors_reset_time() {
        let policy = RetryPolicy::for_call(Duration::from_secs(30));
        let okta = answer(429, &[("X-Rate-Limit-Reset", "1000007")]);
        assert_eq!(
            wait_before_retry(&okta, 1, &policy, 1_000_000),
            Duration::from_secs(7)
        );
        let retry_after = answer(429, &[("Retry-After", "3")]);
        assert_eq!(
            wait_before_retry(&retry_after, 1, &policy, 0),
            Duration::from_secs(3)
        );
    }

    #[test]
    fn without_a_hint_the_wait_doubles_and_is_capped() {
        let policy = RetryPolicy::for_call(Duration::from_secs(30));
        let bare = answer(503, &[]);
        assert_eq!(
            wait_before_retry(&bare, 1, &policy, 0),
            Duration::from_millis(250)
        );
        assert_eq!(
            wait_before_retry(&bare, 3, &policy, 0),
            Duration::from_millis(1000)
        );
        assert_eq!(wait_before_retry(&bare, 20, &policy, 0), policy.max_wait);
        let stale_reset = answer(429, &[("X-Rate-Limit-Reset", "5")]);
        assert_eq!(
            wait_before_retry(&stale_reset, 2, &policy, 100),
            Duration::from_millis(500)
        );
    }
}
