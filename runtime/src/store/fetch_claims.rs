//! One fetcher per source instance at a time, across processes and machines: a fetch
//! claims its instance for a while and gives the claim up when it ends. A fetch that finds
//! the instance claimed by a live process is skipped; a claim outlives a process that died
//! only until it expires (or at once, when the caller knows that process is gone).

use super::db::{params, OptionalExtension};
use super::Store;
use anyhow::Result;
use std::time::Duration;

impl Store {
    /// Claims the fetch of `instance` for `owner` for `ttl`. `Err(holder)` when another
    /// owner's live claim holds it, unless `is_gone(holder)` says its process ended.
    pub fn claim_fetch(
        &self,
        instance: &str,
        owner: &str,
        ttl: Duration,
        is_gone: impl Fn(&str) -> bool,
    ) -> Result<Result<(), String>> {
        self.in_transaction(|store| {
            let held: Option<(String, bool)> = store
                .conn()
                .query_row(
                    "SELECT owner, expires_at > ilm_now_ms() FROM fetch_claims WHERE instance = ?1",
                    [instance],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((holder, true)) = held {
                if holder != owner && !is_gone(&holder) {
                    return Ok(Err(holder));
                }
            }
            store.conn().execute(
                "INSERT INTO fetch_claims (instance, owner, expires_at)
                 VALUES (?1, ?2, ilm_after_ms(?3))
                 ON CONFLICT (instance) DO UPDATE SET owner = excluded.owner,
                     expires_at = excluded.expires_at",
                params![instance, owner, ttl.as_secs_f64()],
            )?;
            Ok(Ok(()))
        })
    }

    /// Gives up `owner`'s claim on the fetch of `instance`.
    pub fn release_fetch(&self, instance: &str, owner: &str) -> Result<()> {
        self.conn().execute(
            "DELETE FROM fetch_claims WHERE instance = ?1 AND owner = ?2",
            [instance, owner],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{test_instance, Store};
    use std::time::Duration;

    const LONG: Duration = Duration::from_secs(600);

    /// A store with the source instances `hr` and `okta`.
    fn store() -> Store {
        let store = Store::open_in_memory().unwrap();
        for name in ["hr", "okta"] {
            store.add_instance(&test_instance(name)).unwrap();
        }
        store
    }

    fn alive(_: &str) -> bool {
        false
    }

    #[test]
    fn a_live_claim_turns_other_fetchers_away_until_it_is_given_up() {
        let store = store();
        assert_eq!(store.claim_fetch("hr", "a", LONG, alive).unwrap(), Ok(()));
        assert_eq!(
            store.claim_fetch("hr", "b", LONG, alive).unwrap(),
            Err("a".to_owned())
        );
        // Another instance is another claim; the holder may claim again (a renewal).
        assert_eq!(store.claim_fetch("okta", "b", LONG, alive).unwrap(), Ok(()));
        assert_eq!(store.claim_fetch("hr", "a", LONG, alive).unwrap(), Ok(()));
        // Only the holder gives it up.
        store.release_fetch("hr", "b").unwrap();
        assert!(store.claim_fetch("hr", "b", LONG, alive).unwrap().is_err());
        store.release_fetch("hr", "a").unwrap();
        assert_eq!(store.claim_fetch("hr", "b", LONG, alive).unwrap(), Ok(()));
    }

    #[test]
    fn an_expired_claim_or_one_whose_process_is_gone_is_taken_over() {
        let store = store();
        store
            .claim_fetch("hr", "a", Duration::from_millis(1), alive)
            .unwrap()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(store.claim_fetch("hr", "b", LONG, alive).unwrap(), Ok(()));
        let gone = |holder: &str| holder == "b";
        assert_eq!(store.claim_fetch("hr", "c", LONG, gone).unwrap(), Ok(()));
        assert_eq!(
            store.claim_fetch("hr", "d", LONG, alive).unwrap(),
            Err("c".to_owned())
        );
    }
}
