//! This process's side of leases (the store keeps them, see `store::leases`): who this
//! process is, how long its leases last, the heartbeat that renews a lease while its
//! incident runs, ending the leases of a process on this machine that died, and claiming
//! a source instance's fetch so one process fetches it at a time.

use crate::store::{is_lease_lost, Lease, Store, StorePool};
use anyhow::{Context, Result};
use std::sync::mpsc;
use std::time::Duration;

/// How long a lease lasts unless renewed; a heartbeat renews it three times as often.
const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// Overrides the lease length in milliseconds. Tests use short leases; nobody else needs to.
const TTL_VAR: &str = "ILM_LEASE_MS";

/// The leases one process takes.
#[derive(Debug, Clone)]
pub struct Leases {
    /// `host/pid/run-id`: the run id tells this process from an earlier one that had the
    /// same process id.
    pub owner: String,
    pub ttl: Duration,
}

impl Leases {
    /// This process's identity, and the lease length from `ILM_LEASE_MS` if set.
    pub fn for_this_process() -> Result<Self> {
        let ttl = match std::env::var(TTL_VAR) {
            Ok(text) => Duration::from_millis(text.parse().with_context(|| {
                format!("{TTL_VAR}={text:?} is not a number of milliseconds; unset it or give e.g. 30000")
            })?),
            Err(_) => DEFAULT_TTL,
        };
        let mut run = [0u8; 8];
        getrandom::fill(&mut run)
            .map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
        Ok(Self {
            owner: format!("{}/{}/{}", host(), std::process::id(), hex::encode(run)),
            ttl,
        })
    }

    /// Runs `run` while a heartbeat thread renews `lease` on its own connection. A renewal
    /// that finds the lease taken over only logs it: the run's next write fails with
    /// `LeaseLost`, which stops it.
    pub fn hold<T>(&self, stores: &StorePool, lease: &Lease, run: impl FnOnce() -> T) -> T {
        let (done, stopped) = mpsc::channel::<()>();
        std::thread::scope(|scope| {
            scope.spawn(move || self.renew_until(stores, lease, &stopped));
            let out = run();
            drop(done);
            out
        })
    }

    fn renew_until(&self, stores: &StorePool, lease: &Lease, stopped: &mpsc::Receiver<()>) {
        let store = match stores.get() {
            Ok(store) => store,
            Err(err) => {
                tracing::error!(
                    incident = lease.incident,
                    "the lease heartbeat cannot open the store: {err:#}"
                );
                return;
            }
        };
        while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(self.ttl / 3) {
            match store.renew_lease(lease, self.ttl) {
                Ok(()) => {}
                Err(err) if is_lease_lost(&err) => {
                    tracing::warn!(incident = lease.incident, "{err:#}");
                    return;
                }
                // A busy or briefly unavailable store: try again on the next beat.
                Err(err) => {
                    tracing::warn!(incident = lease.incident, "renewing the lease: {err:#}")
                }
            }
        }
    }

    /// Ends the live leases held by processes of this machine that no longer exist (killed,
    /// crashed), so their incidents are taken over at once instead of when the leases run
    /// out. A process on another machine is never judged: its leases expire on their own.
    pub fn end_dead_owners(&self, store: &Store) -> Result<()> {
        for owner in store.lease_owners()? {
            if self.is_dead(&owner) {
                let ended = store.expire_leases_of(&owner)?;
                tracing::info!(owner, ended, "ended the leases of a process that is gone");
            }
        }
        Ok(())
    }

    /// Claims the fetch of `instance` for this process; [`FetchBusy`] while another live
    /// process fetches it.
    pub fn claim_fetch(&self, store: &Store, instance: &str) -> Result<()> {
        store
            .claim_fetch(instance, &self.owner, FETCH_CLAIM_TTL, |holder| {
                self.is_dead(holder)
            })?
            .map_err(|holder| {
                FetchBusy {
                    instance: instance.to_owned(),
                    holder,
                }
                .into()
            })
    }

    /// Gives up this process's claim on the fetch of `instance`.
    pub fn release_fetch(&self, store: &Store, instance: &str) -> Result<()> {
        store.release_fetch(instance, &self.owner)
    }

    fn is_dead(&self, owner: &str) -> bool {
        let mut parts = owner.splitn(3, '/');
        let (Some(host), Some(pid), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        if host != self::host() || owner == self.owner {
            return false;
        }
        if pid == std::process::id().to_string() {
            // Our process id, another run id: an earlier process whose id was reused.
            return true;
        }
        !std::path::Path::new("/proc").join(pid).exists()
    }
}

/// How long a fetch's claim on its instance holds if its process dies without giving it
/// up on another machine: far longer than a fetch of the largest report takes.
const FETCH_CLAIM_TTL: Duration = Duration::from_secs(15 * 60);

/// Another process is fetching the instance.
#[derive(Debug, thiserror::Error)]
#[error(
    "{instance} is being fetched by another process ({holder}); this fetch is skipped, as \
     that one files what the report holds: run it again once that fetch has ended"
)]
pub struct FetchBusy {
    pub instance: String,
    pub holder: String,
}

/// This machine's name, as the kernel knows it.
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}
