//! What durable playbooks keep: the journal of every side-effecting call an incident's
//! playbook made (arguments, then result), the incident's run state (attempt, context that
//! survives re-runs, last error), and claiming incidents for a worker. The result of a
//! sensitive call (a generated password) is sealed before it is written and opened only to
//! replay; everyone else reads [`REDACTED`].

use super::seal::Cipher;
use super::{json, IncidentStatus, Refusal, Store};
use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};

/// One journaled call. `result` is `None` while the call is in flight (after a crash: in
/// doubt) or, for a question, until someone answers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JournalEntry {
    pub attempt: i64,
    pub seq: i64,
    pub call: String,
    pub args: Value,
    pub result: Option<Value>,
    pub sensitive: bool,
    pub started_at: String,
    pub finished_at: Option<String>,
}

/// The run state of an incident's playbook.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunState {
    /// Re-running a failed incident starts a new attempt with an empty journal.
    pub attempt: i64,
    /// Kept across attempts (e.g. `SuccessfulVendors`).
    pub context: Map<String, Value>,
    /// Why the last attempt stopped, if it failed.
    pub error: Option<String>,
}

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";

/// Where a sensitive result is sealed: it opens only as this entry's result.
fn place(incident: i64, attempt: i64, seq: i64) -> String {
    format!("incident {incident} attempt {attempt} call {seq}")
}

impl Store {
    /// The journal of one attempt, in call order, as people may see it: the results of
    /// sensitive calls read [`REDACTED`].
    pub fn journal(&self, incident: i64, attempt: i64) -> Result<Vec<JournalEntry>> {
        let mut entries = self.journal_as_stored(incident, attempt)?;
        for entry in entries.iter_mut().filter(|e| e.sensitive) {
            if entry.result.is_some() {
                entry.result = Some(Value::from(REDACTED));
            }
        }
        Ok(entries)
    }

    /// The journal of one attempt with sensitive results opened, for replaying the
    /// playbook (which must see the password it generated before). Never show it.
    pub fn journal_for_replay(&self, incident: i64, attempt: i64) -> Result<Vec<JournalEntry>> {
        let mut entries = self.journal_as_stored(incident, attempt)?;
        for entry in entries.iter_mut().filter(|e| e.sensitive) {
            let sealed = entry
                .result
                .as_ref()
                .and_then(|r| r.get("sealed"))
                .and_then(Value::as_str);
            if let Some(sealed) = sealed {
                let plain = self
                    .cipher()?
                    .open(&place(incident, attempt, entry.seq), sealed)?;
                entry.result =
                    Some(serde_json::from_slice(&plain).context("a sensitive journal result")?);
            }
        }
        Ok(entries)
    }

    fn journal_as_stored(&self, incident: i64, attempt: i64) -> Result<Vec<JournalEntry>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT attempt, seq, call, args, result, sensitive, started_at, finished_at
             FROM journal WHERE incident = ?1 AND attempt = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![incident, attempt], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, String>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })?;
        rows.map(|row| {
            let (attempt, seq, call, args, result, sensitive, started_at, finished_at) = row?;
            Ok(JournalEntry {
                attempt,
                seq,
                call,
                args: serde_json::from_str(&args).context("a journal entry's arguments")?,
                result: result
                    .map(|r| serde_json::from_str(&r))
                    .transpose()
                    .context("a journal entry's result")?,
                sensitive,
                started_at,
                finished_at,
            })
        })
        .collect()
    }

    /// Records that call `seq` is about to act (its result unknown until finished). For a
    /// sensitive call, `args` must be what may be shown of its arguments: only its result
    /// is sealed.
    pub fn journal_begin(
        &self,
        incident: i64,
        attempt: i64,
        seq: i64,
        call: &str,
        args: &Value,
        sensitive: bool,
    ) -> Result<()> {
        self.conn().execute(
            "INSERT INTO journal (incident, attempt, seq, call, args, sensitive) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![incident, attempt, seq, call, args.to_string(), sensitive],
        )?;
        Ok(())
    }

    /// Records the result of call `seq`, sealed if the call is sensitive.
    pub fn journal_finish(
        &self,
        incident: i64,
        attempt: i64,
        seq: i64,
        result: &Value,
    ) -> Result<()> {
        let sensitive: bool = self
            .conn()
            .query_row(
                "SELECT sensitive FROM journal WHERE incident = ?1 AND attempt = ?2 AND seq = ?3",
                params![incident, attempt, seq],
                |r| r.get(0),
            )
            .optional()?
            .with_context(|| format!("journal entry {seq} of incident {incident} is missing"))?;
        let stored = if sensitive {
            let sealed = self.cipher()?.seal(
                &place(incident, attempt, seq),
                result.to_string().as_bytes(),
            )?;
            serde_json::json!({ "sealed": sealed })
        } else {
            result.clone()
        };
        self.conn().execute(
            "UPDATE journal SET result = ?4, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
             WHERE incident = ?1 AND attempt = ?2 AND seq = ?3",
            params![incident, attempt, seq, stored.to_string()],
        )?;
        Ok(())
    }

    /// Drops the sealed results of sensitive entries (generated passwords) once the
    /// incident can no longer resume them: closed, or failed (a re-run starts a new
    /// attempt with a fresh journal).
    pub fn redact_journal(&self, incident: i64) -> Result<()> {
        self.conn().execute(
            "UPDATE journal SET result = ?2 WHERE incident = ?1 AND sensitive = 1 AND result IS NOT NULL",
            params![incident, Value::from(REDACTED).to_string()],
        )?;
        Ok(())
    }

    /// Opens every sealed journal result with `old` and seals it again with `new` (part of
    /// a key rotation's transaction). Returns how many it re-sealed.
    pub(super) fn reseal_journal(&self, old: &Cipher, new: &Cipher) -> Result<usize> {
        let rows: Vec<(i64, i64, i64, String)> = {
            let mut stmt = self.conn().prepare(
                "SELECT incident, attempt, seq, result FROM journal
                 WHERE sensitive = 1 AND result IS NOT NULL",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut count = 0;
        for (incident, attempt, seq, text) in rows {
            let result: Value =
                serde_json::from_str(&text).context("a sensitive journal result")?;
            let Some(sealed) = result.get("sealed").and_then(Value::as_str) else {
                continue; // already redacted
            };
            let place = place(incident, attempt, seq);
            let plain = old.open(&place, sealed)?;
            let resealed = serde_json::json!({ "sealed": new.seal(&place, &plain)? });
            self.conn().execute(
                "UPDATE journal SET result = ?4 WHERE incident = ?1 AND attempt = ?2 AND seq = ?3",
                params![incident, attempt, seq, resealed.to_string()],
            )?;
            count += 1;
        }
        Ok(count)
    }

    /// Seals the sensitive results a database from before sealing holds in clear, and
    /// drops their arguments, which were written whole (a migration step: runs once, in
    /// the migration's transaction). Returns how many entries it changed.
    pub(super) fn seal_clear_journal(&self) -> Result<usize> {
        let redacted = Value::from(REDACTED);
        let rows: Vec<(i64, i64, i64, Option<String>)> = {
            let mut stmt = self.conn().prepare(
                "SELECT incident, attempt, seq, result FROM journal WHERE sensitive = 1",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let count = rows.len();
        for (incident, attempt, seq, result) in rows {
            let result = match result {
                None => None,
                Some(text) => {
                    let value: Value =
                        serde_json::from_str(&text).context("a sensitive journal result")?;
                    Some(if value == redacted {
                        value
                    } else {
                        let sealed = self
                            .cipher()?
                            .seal(&place(incident, attempt, seq), text.as_bytes())?;
                        serde_json::json!({ "sealed": sealed })
                    })
                }
            };
            self.conn().execute(
                "UPDATE journal SET args = ?4, result = ?5 WHERE incident = ?1 AND attempt = ?2 AND seq = ?3",
                params![
                    incident,
                    attempt,
                    seq,
                    redacted.to_string(),
                    result.map(|r| r.to_string())
                ],
            )?;
        }
        Ok(count)
    }

    pub fn run_state(&self, incident: i64) -> Result<RunState> {
        let (attempt, context, error): (i64, String, Option<String>) = self
            .conn()
            .query_row(
                "SELECT attempt, context, error FROM incidents WHERE id = ?1",
                [incident],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| Refusal::NotFound(format!("no incident {incident}")))?;
        Ok(RunState {
            attempt,
            context: json::object(&context).context("the incident's context")?,
            error,
        })
    }

    pub fn set_incident_context(&self, incident: i64, context: &Map<String, Value>) -> Result<()> {
        self.conn().execute(
            "UPDATE incidents SET context = ?2 WHERE id = ?1",
            params![incident, Value::Object(context.clone()).to_string()],
        )?;
        Ok(())
    }

    /// Marks the incident failed with a message a person can act on.
    pub fn fail_incident(&self, incident: i64, error: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE incidents SET status = ?2, error = ?3 WHERE id = ?1",
            params![incident, IncidentStatus::Failed, error],
        )?;
        Ok(())
    }

    /// Starts a new attempt (a person re-runs a failed incident): a fresh journal, the
    /// context kept, the error cleared.
    pub fn new_attempt(&self, incident: i64) -> Result<i64> {
        self.conn().execute(
            "UPDATE incidents SET attempt = attempt + 1, error = NULL, status = ?2 WHERE id = ?1",
            params![incident, IncidentStatus::Active],
        )?;
        Ok(self.run_state(incident)?.attempt)
    }

    /// Merges `patch` into the incident's fields.
    pub fn update_incident_fields(&self, incident: i64, patch: &Map<String, Value>) -> Result<()> {
        let current = self
            .incident(incident)?
            .ok_or_else(|| Refusal::NotFound(format!("no incident {incident}")))?;
        let mut fields = current.fields;
        fields.extend(patch.clone());
        self.conn().execute(
            "UPDATE incidents SET fields = ?2 WHERE id = ?1",
            params![incident, Value::Object(fields).to_string()],
        )?;
        Ok(())
    }

    pub fn set_incident_owner(&self, incident: i64, owner: Option<&str>) -> Result<()> {
        self.conn().execute(
            "UPDATE incidents SET owner = ?2 WHERE id = ?1",
            params![incident, owner],
        )?;
        Ok(())
    }

    pub fn rename_incident(&self, incident: i64, name: &str) -> Result<()> {
        self.conn().execute(
            "UPDATE incidents SET name = ?2 WHERE id = ?1",
            params![incident, name],
        )?;
        Ok(())
    }

    /// Takes the oldest pending incident for a worker, atomically, skipping people who
    /// already have an incident running.
    pub fn claim_pending_incident(&self) -> Result<Option<i64>> {
        // One incident per person at a time: two playbooks for the same user (e.g. a
        // duplicate fetched before the first ran) would race each other in every app. The
        // immediate transaction makes the check and the claim one step across workers.
        self.in_transaction(|store| {
            Ok(store
                .conn()
                .query_row(
                    "UPDATE incidents SET status = 'active'
                     WHERE id = (SELECT id FROM incidents AS i WHERE status = 'pending'
                         AND (i.email IS NULL OR NOT EXISTS (SELECT 1 FROM incidents AS a
                             WHERE a.status = 'active' AND a.email = i.email))
                         ORDER BY id LIMIT 1)
                     RETURNING id",
                    [],
                    |r| r.get(0),
                )
                .optional()?)
        })
    }

    /// Incidents a stopped process left running; they resume from their journal.
    pub fn interrupted_incidents(&self) -> Result<Vec<i64>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT id FROM incidents WHERE status = 'active' ORDER BY id")?;
        let ids = stmt
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{IncidentStatus, NewIncident, Store};
    use serde_json::{json, Map, Value};

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
        assert_eq!(store.claim_pending_incident().unwrap(), Some(first));
        assert_eq!(
            store.claim_pending_incident().unwrap(),
            Some(other),
            "a@x.test is busy"
        );
        assert_eq!(store.claim_pending_incident().unwrap(), Some(anonymous));
        assert_eq!(store.claim_pending_incident().unwrap(), None);
        store
            .set_incident_status(first, IncidentStatus::Closed)
            .unwrap();
        assert_eq!(store.claim_pending_incident().unwrap(), Some(duplicate));
    }
}
