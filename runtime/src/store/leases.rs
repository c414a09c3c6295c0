//! Claims are leases. A worker that takes an incident writes its owner, an expiry and a
//! fencing token that only grows (every claim bumps it) on the incident row, in one
//! statement. It renews the expiry while it runs; another worker may take the incident
//! over only once the lease has expired, which bumps the token again. A store handle
//! fenced with a lease ([`Store::fenced`]) checks the token in every write it makes to
//! that incident and its journal, so a worker that lost its lease can write nothing and
//! fails with [`LeaseLost`].

use super::db::{params, OptionalExtension, ToValue};
use super::{IncidentStatus, Refusal, Store};
use anyhow::Result;
use std::time::Duration;

/// A worker's hold on one incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub incident: i64,
    /// Who holds it: `host/pid/run-id` of the process.
    pub owner: String,
    /// The fencing token: writes that name an older one are refused.
    pub token: i64,
    /// The incident had failed: its run starts a new attempt (otherwise it starts or
    /// resumes the current one).
    pub new_attempt: bool,
}

/// A write made under a lease another worker has since taken over.
#[derive(Debug, thiserror::Error)]
#[error(
    "lost the lease on incident {incident}: another worker took it over (fencing token {token} \
     is stale), so this process stops running it and writes nothing more; the new holder \
     resumes it from its journal"
)]
pub struct LeaseLost {
    pub incident: i64,
    pub token: i64,
}

/// Whether `err` (anywhere in its chain) is a [`LeaseLost`].
pub fn is_lease_lost(err: &anyhow::Error) -> bool {
    err.chain().any(|e| e.is::<LeaseLost>())
}

/// The store's clock, with milliseconds: lease expiries compare as text.
pub(super) const NOW: &str = "ilm_now_ms()";

/// A pending incident (as `i`) whose retry is due and whose person has no incident running:
/// two playbooks for the same user would race each other in every app.
fn runnable() -> String {
    format!(
        "i.status = 'pending' AND (i.retry_at IS NULL OR i.retry_at <= {NOW})
         AND (i.email IS NULL OR NOT EXISTS (SELECT 1 FROM incidents AS a
             WHERE a.status = 'active' AND a.email = i.email))"
    )
}

/// A lease is live while it has not expired; an active incident without one (left by a
/// runtime from before leases) is free to take.
fn expired(table: &str) -> String {
    format!("({table}.lease_expires_at IS NULL OR {table}.lease_expires_at <= {NOW})")
}

impl Store {
    /// This handle, fenced with `lease`: its writes to the leased incident (status, fields,
    /// context, owner, journal) succeed only while the incident still carries the lease's
    /// token, and fail with [`LeaseLost`] otherwise.
    pub fn fenced(mut self, lease: &Lease) -> Self {
        self.fence = Some((lease.incident, lease.token));
        self
    }

    /// The token writes to `incident` must match, if this handle is fenced on it.
    pub(super) fn fence_for(&self, incident: i64) -> Option<i64> {
        self.fence
            .filter(|(fenced, _)| *fenced == incident)
            .map(|(_, token)| token)
    }

    /// Turns "no row changed" of a fenced write into [`LeaseLost`].
    pub(super) fn fenced_write(&self, incident: i64, changed: usize) -> Result<usize> {
        match self.fence_for(incident) {
            Some(token) if changed == 0 => Err(LeaseLost { incident, token }.into()),
            _ => Ok(changed),
        }
    }

    /// Takes the next incident to run for `owner`, atomically: first an active incident
    /// whose lease expired (its worker stopped), then the oldest pending one whose retry
    /// is due and whose person has no incident running (two playbooks for the same user
    /// would race each other in every app).
    pub fn claim_next(&self, owner: &str, ttl: Duration) -> Result<Option<Lease>> {
        // Each half walks the status index in id order and stops at its first match. One
        // WHERE with an OR of both sorted every candidate on each claim, a scan of the whole
        // queue: with 2,000 incidents pending, 8 ms a claim.
        let next = format!(
            "SELECT id FROM (
                 SELECT * FROM (SELECT i.id, 0 AS rank FROM incidents AS i
                     WHERE i.status = 'active' AND {} ORDER BY i.id LIMIT 1) AS orphaned
                 UNION ALL
                 SELECT * FROM (SELECT i.id, 1 AS rank FROM incidents AS i
                     WHERE {} ORDER BY i.id LIMIT 1) AS pending
             ) AS next ORDER BY rank LIMIT 1",
            expired("i"),
            runnable()
        );
        self.in_transaction(|store| store.take(&format!("({next})"), &[], owner, ttl, false))
    }

    /// Takes incident `id` for `owner` if it is pending and may run now (as `claim_next`
    /// would take it): what an answer does to resume its incident at once. `None` when it
    /// is not, because a worker took it first, say.
    pub fn claim_if_runnable(&self, id: i64, owner: &str, ttl: Duration) -> Result<Option<Lease>> {
        let runnable = format!(
            "(SELECT i.id FROM incidents AS i WHERE i.id = ?3 AND {})",
            runnable()
        );
        self.in_transaction(|store| store.take(&runnable, params![id], owner, ttl, false))
    }

    /// Takes incident `id` for `owner` because a person asked to run it: refused while
    /// another worker holds a live lease on it, or when it is closed.
    pub fn claim_incident(&self, id: i64, owner: &str, ttl: Duration) -> Result<Lease> {
        self.in_transaction(|store| {
            let row: Option<(IncidentStatus, Option<String>, bool)> = store
                .conn()
                .query_row(
                    &format!(
                        "SELECT status, lease_owner, {} FROM incidents WHERE id = ?1",
                        expired("incidents")
                    ),
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let (was, holder, free) =
                row.ok_or_else(|| Refusal::NotFound(format!("no incident {id}")))?;
            match was {
                IncidentStatus::Closed => anyhow::bail!("incident {id} is closed"),
                IncidentStatus::Active if !free => Err(Refusal::Conflict(format!(
                    "incident {id} is running in another process ({}); wait for it to \
                     finish, or for its lease to expire if that process stopped",
                    holder.as_deref().unwrap_or("unknown")
                ))
                .into()),
                _ => store
                    .take("?3", params![id], owner, ttl, was == IncidentStatus::Failed)?
                    .ok_or_else(|| Refusal::NotFound(format!("no incident {id}")).into()),
            }
        })
    }

    /// Writes a new lease for `owner`, lasting `ttl`, on the incident `which` names (an id
    /// or a query of one, whose parameters `more` start at `?3`), inside the claim's
    /// transaction; `None` when it names none. The token grows, so every write of an
    /// earlier holder is refused.
    fn take(
        &self,
        which: &str,
        more: &[&dyn ToValue],
        owner: &str,
        ttl: Duration,
        new_attempt: bool,
    ) -> Result<Option<Lease>> {
        let ttl = ttl.as_secs_f64();
        let mut values: Vec<&dyn ToValue> = vec![&owner, &ttl];
        values.extend(more);
        let taken: Option<(i64, i64)> = self
            .conn()
            .query_row(
                &format!(
                    "UPDATE incidents SET status = 'active', lease_owner = ?1, retry_at = NULL,
                         lease_token = lease_token + 1, lease_expires_at = ilm_after_ms(?2)
                     WHERE id = {which} RETURNING id, lease_token"
                ),
                values.as_slice(),
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(taken.map(|(incident, token)| Lease {
            incident,
            owner: owner.to_owned(),
            token,
            new_attempt,
        }))
    }

    /// Extends `lease` by `ttl`; [`LeaseLost`] if another worker took the incident over.
    pub fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE incidents SET lease_expires_at = ilm_after_ms(?3)
             WHERE id = ?1 AND lease_token = ?2 AND status = 'active'",
            params![lease.incident, lease.token, ttl.as_secs_f64()],
        )?;
        if changed == 0 {
            return Err(LeaseLost {
                incident: lease.incident,
                token: lease.token,
            }
            .into());
        }
        Ok(())
    }

    /// Gives `lease` up once its run ended (the token stays: it only grows).
    pub fn release_lease(&self, lease: &Lease) -> Result<()> {
        self.conn().execute(
            "UPDATE incidents SET lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND lease_token = ?2",
            params![lease.incident, lease.token],
        )?;
        Ok(())
    }

    /// The owners of live leases, to find those whose process is gone.
    pub fn lease_owners(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT DISTINCT lease_owner FROM incidents
             WHERE status = 'active' AND lease_owner IS NOT NULL AND NOT {}",
            expired("incidents")
        ))?;
        let owners = stmt
            .query_map((), |r| r.get(0))?
            .collect::<super::db::DbResult<_>>()?;
        Ok(owners)
    }

    /// Ends the leases of an owner known to be gone (its process died), so its incidents
    /// are taken over now instead of when the leases run out. Returns how many.
    pub fn expire_leases_of(&self, owner: &str) -> Result<usize> {
        Ok(self.conn().execute(
            &format!(
                "UPDATE incidents SET lease_expires_at = {NOW}
                 WHERE lease_owner = ?1 AND status = 'active'"
            ),
            [owner],
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::{is_lease_lost, Lease};
    use crate::store::{IncidentStatus, KeySource, NewIncident, Store, REDACTED};
    use serde_json::{json, Map, Value};
    use std::time::Duration;

    const LONG: Duration = Duration::from_secs(60);

    fn incident(store: &Store, email: &str) -> i64 {
        let Value::Object(fields) = json!({"email": email}) else {
            unreachable!()
        };
        store
            .create_incident(&NewIncident {
                kind: "T",
                name: email,
                fields: &fields,
            })
            .unwrap()
            .id
    }

    fn claim(store: &Store) -> Option<i64> {
        store
            .claim_next("w", LONG)
            .unwrap()
            .map(|lease| lease.incident)
    }

    #[test]
    fn an_answer_claims_its_incident_only_when_a_worker_could_run_it() {
        let store = Store::open_in_memory().unwrap();
        let running = incident(&store, "a@x.test");
        let answered = incident(&store, "a@x.test");
        let failed = incident(&store, "b@x.test");
        store
            .set_incident_status(failed, IncidentStatus::Failed)
            .unwrap();
        assert_eq!(claim(&store), Some(running));

        let claim_answered = |id| {
            store
                .claim_if_runnable(id, "serve", LONG)
                .unwrap()
                .map(|lease| lease.incident)
        };
        assert_eq!(claim_answered(answered), None, "its person has one running");
        assert_eq!(
            claim_answered(failed),
            None,
            "a failed one waits for a retry"
        );
        assert_eq!(claim_answered(running), None, "taken already");
        store
            .set_incident_status(running, IncidentStatus::Closed)
            .unwrap();
        assert_eq!(claim_answered(answered), Some(answered));
        assert_eq!(claim(&store), None, "the worker finds it taken");
    }

    #[test]
    fn a_person_with_a_running_incident_waits_for_it() {
        let store = Store::open_in_memory().unwrap();
        let first = incident(&store, "a@x.test");
        let duplicate = incident(&store, "A@x.test");
        let other = incident(&store, "b@x.test");
        let anonymous = store
            .create_incident(&NewIncident {
                kind: "T",
                name: "",
                fields: &Map::new(),
            })
            .unwrap()
            .id;
        assert_eq!(claim(&store), Some(first));
        assert_eq!(claim(&store), Some(other), "a@x.test is busy");
        assert_eq!(claim(&store), Some(anonymous));
        assert_eq!(claim(&store), None);
        store
            .set_incident_status(first, IncidentStatus::Closed)
            .unwrap();
        assert_eq!(claim(&store), Some(duplicate));
    }

    #[test]
    fn an_incident_whose_worker_stopped_is_taken_before_older_pending_ones() {
        let store = Store::open_in_memory().unwrap();
        let older = incident(&store, "a@x.test");
        let orphaned = incident(&store, "b@x.test");
        store.claim_incident(orphaned, "gone", LONG).unwrap();
        assert_eq!(claim(&store), Some(older), "the lease of `gone` is live");
        store
            .set_incident_status(older, IncidentStatus::Pending)
            .unwrap();
        store.expire_leases_of("gone").unwrap();

        let taken = store.claim_next("w", LONG).unwrap().unwrap();
        assert_eq!(taken.incident, orphaned);
        assert!(!taken.new_attempt, "it resumes its attempt");
        assert_eq!(claim(&store), Some(older));
        assert_eq!(claim(&store), None);
    }

    /// A run that ends writes its incident's status, and that write gives the lease up:
    /// a run makes no separate release after it.
    #[test]
    fn an_incident_that_stops_running_holds_no_lease() {
        let holder = |store: &Store, id: i64| -> (Option<String>, Option<String>) {
            store
                .conn()
                .query_row(
                    "SELECT lease_owner, lease_expires_at FROM incidents WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap()
        };
        for status in [
            IncidentStatus::Waiting,
            IncidentStatus::Closed,
            IncidentStatus::Failed,
        ] {
            let store = Store::open_in_memory().unwrap();
            let id = incident(&store, "a@x.test");
            let lease = store.claim_next("w", LONG).unwrap().unwrap();
            assert!(holder(&store, id).0.is_some(), "claimed");
            let run = store.fenced(&lease);
            match status {
                IncidentStatus::Failed => run.fail_incident(id, "boom").unwrap(),
                _ => drop(run.set_incident_status(id, status).unwrap()),
            }
            assert_eq!(holder(&run, id), (None, None), "{status:?}");
        }
    }

    /// A generated password's sealed result goes when its incident closes or fails, in the
    /// same write; the end written by a worker whose lease was taken over is refused, and
    /// leaves the result for the new holder to replay.
    #[test]
    fn ending_an_incident_redacts_its_sensitive_results_and_a_stale_end_does_not() {
        let results = |store: &Store, id: i64| -> Vec<Option<Value>> {
            let replay = store.journal_for_replay(id, 1).unwrap();
            replay.into_iter().map(|entry| entry.result).collect()
        };
        let password = json!({"NEW_PASSWORD": "s3cret"});
        for status in [IncidentStatus::Closed, IncidentStatus::Failed] {
            let store = Store::open_in_memory().unwrap();
            let id = incident(&store, "a@x.test");
            let stale = store.claim_next("w", LONG).unwrap().unwrap();
            let run = store.fenced(&stale);
            run.journal_begin(id, 1, 0, "transform", &Value::Null, true)
                .unwrap();
            run.journal_finish(id, 1, 0, &password, true).unwrap();
            run.journal_begin(id, 1, 1, "today", &Value::Null, false)
                .unwrap();
            run.journal_finish(id, 1, 1, &json!("2025-01-01"), false)
                .unwrap();

            // One handle, its fence the stale lease's, then the current one's.
            run.expire_leases_of("w").unwrap();
            let current = run.claim_next("v", LONG).unwrap().unwrap();
            let refused = match status {
                IncidentStatus::Failed => run.fail_incident(id, "boom").map(drop),
                _ => run.set_incident_status(id, status).map(drop),
            };
            assert!(refused.is_err(), "{status:?}: the stale end was written");
            let kept = [Some(password.clone()), Some(json!("2025-01-01"))];
            assert_eq!(results(&run, id), kept, "{status:?}");

            let run = run.fenced(&current);
            match status {
                IncidentStatus::Failed => run.fail_incident(id, "boom").unwrap(),
                _ => drop(run.set_incident_status(id, status).unwrap()),
            }
            let redacted = [Some(json!(REDACTED)), Some(json!("2025-01-01"))];
            assert_eq!(results(&run, id), redacted, "{status:?}");
        }
    }

    /// Two handles on one file, as two processes have.
    fn two_stores() -> (tempfile::TempDir, Store, Store) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ilm.db");
        let open = || Store::open_with_key(&path, KeySource::File(dir.path().join("key"))).unwrap();
        let (a, b) = (open(), open());
        (dir, a, b)
    }

    #[test]
    fn a_live_lease_is_not_taken_over_and_an_expired_one_is() {
        let (_dir, a, b) = two_stores();
        let id = incident(&a, "a@x.test");
        let first = a.claim_next("a", LONG).unwrap().unwrap();
        assert_eq!(b.claim_next("b", LONG).unwrap(), None, "the lease is live");
        let refused = b.claim_incident(id, "b", LONG).unwrap_err().to_string();
        assert!(
            refused.contains("running in another process (a)"),
            "{refused}"
        );

        a.expire_leases_of("a").unwrap();
        let second = b.claim_next("b", LONG).unwrap().unwrap();
        assert_eq!(second.incident, id);
        assert!(second.token > first.token, "the token grows: {second:?}");
    }

    #[test]
    fn a_stale_worker_can_write_nothing() {
        let (_dir, a, b) = two_stores();
        let id = incident(&a, "a@x.test");
        let stale: Lease = a.claim_next("a", LONG).unwrap().unwrap();
        let a = a.fenced(&stale);
        a.journal_begin(id, 1, 0, "today", &Value::Null, false)
            .unwrap();
        a.expire_leases_of("a").unwrap();
        let fresh = b.claim_next("b", LONG).unwrap().unwrap();
        let b = b.fenced(&fresh);

        let mut context = Map::new();
        context.insert("k".into(), json!(1));
        let writes: Vec<(&str, anyhow::Result<()>)> = vec![
            (
                "journal_finish",
                a.journal_finish(id, 1, 0, &json!("2025-01-01"), false),
            ),
            (
                "journal_begin",
                a.journal_begin(id, 1, 1, "today", &Value::Null, false),
            ),
            (
                "status",
                a.set_incident_status(id, IncidentStatus::Closed).map(drop),
            ),
            ("fail", a.fail_incident(id, "boom")),
            ("fields", a.update_incident_fields(id, &context)),
            ("context", a.set_incident_context(id, &context)),
            ("owner", a.set_incident_owner(id, Some("admin"))),
            ("rename", a.rename_incident(id, "x")),
            ("renew", a.renew_lease(&stale, LONG)),
        ];
        for (what, result) in writes {
            let err = result.expect_err(what);
            assert!(is_lease_lost(&err), "{what}: {err:#}");
        }
        let journal = b.journal(id, 1).unwrap();
        assert_eq!(journal.len(), 1);
        assert_eq!(journal[0].result, None, "the stale finish wrote nothing");
        let incident = b.incident(id).unwrap().unwrap();
        assert_eq!(
            (incident.status, incident.name, incident.owner),
            (IncidentStatus::Active, "a@x.test".to_owned(), None)
        );
        assert_eq!(b.run_state(id).unwrap().context, Map::new());

        // The new holder writes as usual.
        b.journal_finish(id, 1, 0, &json!("2025-01-01"), false)
            .unwrap();
        b.set_incident_status(id, IncidentStatus::Closed).unwrap();
    }
}
