//! Guessing keys costs the guesser: after `max_failures` failed authentications from one
//! address within `window`, every request from that address is answered 429 with
//! `Retry-After` until `block` has passed, before its key is even looked at (a valid key
//! too, so a guess that hits is not told so). An IPv6 client is counted by its /64, which
//! one host usually has whole. At most [`MAX_TRACKED`] addresses are kept, stale ones dropped
//! first, so an attacker with many addresses cannot grow this without bound.
//!
//! Behind a proxy every client has the proxy's address; `max_failures` 0 turns this off.

use super::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Addresses tracked at most; past it, new addresses go uncounted until old ones expire.
pub const MAX_TRACKED: usize = 100_000;

/// When an address is locked out, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within `window` that lock an address out; 0 never does.
    pub max_failures: u32,
    pub window: Duration,
    /// How long a locked-out address is answered 429.
    pub block: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 10,
            window: Duration::from_secs(60),
            block: Duration::from_secs(300),
        }
    }
}

/// Failed authentications by address.
pub struct Lockout {
    policy: LockoutPolicy,
    addresses: Mutex<HashMap<IpAddr, Record>>,
}

#[derive(Default)]
struct Record {
    /// Times of the failures within the window, oldest first.
    failures: VecDeque<Instant>,
    blocked_until: Option<Instant>,
}

impl Record {
    fn live(&self, now: Instant, window: Duration) -> bool {
        self.blocked_until.is_some_and(|until| until > now)
            || self
                .failures
                .back()
                .is_some_and(|last| now.duration_since(*last) < window)
    }
}

impl Lockout {
    pub fn new(policy: LockoutPolicy) -> Self {
        Self {
            policy,
            addresses: Mutex::default(),
        }
    }

    /// How long `address` stays locked out, if it is.
    pub fn blocked(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let addresses = self.lock();
        let until = addresses.get(&counted_as(address))?.blocked_until?;
        (until > now).then(|| until - now)
    }

    /// Counts a failed authentication from `address`; returns the block it starts, if this
    /// failure is the one too many.
    pub fn failed(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let LockoutPolicy {
            max_failures,
            window,
            block,
        } = self.policy;
        if max_failures == 0 {
            return None;
        }
        let mut addresses = self.lock();
        let key = counted_as(address);
        if !addresses.contains_key(&key) && addresses.len() >= MAX_TRACKED {
            addresses.retain(|_, record| record.live(now, window));
            if addresses.len() >= MAX_TRACKED {
                tracing::warn!(
                    "{MAX_TRACKED} addresses are failing to authenticate; {address} goes uncounted"
                );
                return None;
            }
        }
        let record = addresses.entry(key).or_default();
        if record.blocked_until.is_some_and(|until| until > now) {
            return None;
        }
        while record
            .failures
            .front()
            .is_some_and(|first| now.duration_since(*first) >= window)
        {
            record.failures.pop_front();
        }
        record.failures.push_back(now);
        if record.failures.len() < max_failures as usize {
            return None;
        }
        record.failures.clear();
        record.blocked_until = Some(now + block);
        Some(block)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, Record>> {
        self.addresses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// The key an address is counted under: IPv4 as is (an IPv4-mapped IPv6 address too),
/// IPv6 by its /64.
fn counted_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

/// Middleware: answers 429 to a locked-out address before anything else runs.
pub async fn refuse_locked_out(
    State(lockout): State<Arc<Lockout>>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let Some((address, wait)) =
        peer.and_then(|ip| Some((ip, lockout.blocked(ip, Instant::now())?)))
    else {
        return next.run(request).await;
    };
    // Whole seconds, rounded up, so a client that waits as told is let in.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed authentications from {address}; try again in {seconds} seconds"),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: LockoutPolicy = LockoutPolicy {
        max_failures: 3,
        window: Duration::from_secs(60),
        block: Duration::from_secs(300),
    };

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    #[test]
    fn the_failure_too_many_locks_the_address_out_for_the_block() {
        let lockout = Lockout::new(POLICY);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        assert_eq!(lockout.failed(a, t0), None);
        assert_eq!(lockout.failed(a, t0 + Duration::from_secs(1)), None);
        assert_eq!(lockout.blocked(a, t0 + Duration::from_secs(1)), None);
        let third = t0 + Duration::from_secs(2);
        assert_eq!(lockout.failed(a, third), Some(POLICY.block));
        assert_eq!(
            lockout.blocked(a, third + Duration::from_secs(100)),
            Some(Duration::from_secs(200))
        );
        assert_eq!(lockout.blocked(ip("192.0.2.2"), third), None, "others");
        assert_eq!(lockout.blocked(a, third + POLICY.block), None, "it ends");
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let lockout = Lockout::new(POLICY);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        lockout.failed(a, t0);
        lockout.failed(a, t0 + Duration::from_secs(30));
        // The first has left the window: two in it, not three.
        assert_eq!(lockout.failed(a, t0 + Duration::from_secs(61)), None);
        assert_eq!(
            lockout.failed(a, t0 + Duration::from_secs(62)),
            Some(POLICY.block)
        );
    }

    #[test]
    fn an_ipv6_host_is_counted_by_its_slash_64_and_mapped_ipv4_as_ipv4() {
        let lockout = Lockout::new(POLICY);
        let t0 = Instant::now();
        lockout.failed(ip("2001:db8:1:2::1"), t0);
        lockout.failed(ip("2001:db8:1:2::ffff:1"), t0);
        lockout.failed(ip("2001:db8:1:2:abcd::9"), t0);
        assert!(lockout.blocked(ip("2001:db8:1:2::77"), t0).is_some());
        assert!(lockout.blocked(ip("2001:db8:1:3::1"), t0).is_none());
        lockout.failed(ip("::ffff:192.0.2.9"), t0);
        lockout.failed(ip("192.0.2.9"), t0);
        lockout.failed(ip("::ffff:192.0.2.9"), t0);
        assert!(lockout.blocked(ip("192.0.2.9"), t0).is_some());
    }

    #[test]
    fn zero_failures_never_locks_out() {
        let lockout = Lockout::new(LockoutPolicy {
            max_failures: 0,
            ..POLICY
        });
        let t0 = Instant::now();
        for _ in 0..100 {
            assert_eq!(lockout.failed(ip("192.0.2.1"), t0), None);
        }
        assert_eq!(lockout.blocked(ip("192.0.2.1"), t0), None);
    }
}
