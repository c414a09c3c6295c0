//! What durable playbooks keep: the journal of every side-effecting call an incident's
//! playbook made (arguments, then result), the incident's run state (attempt, context that
//! survives re-runs, last error), and claiming incidents for a worker.

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

impl Store {
    /// The journal of one attempt, in call order.
    pub fn journal(&self, incident: i64, attempt: i64) -> Result<Vec<JournalEntry>> {
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

    /// Records that call `seq` is about to act (its result unknown until finished).
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

    /// Records the result of call `seq`.
    pub fn journal_finish(
        &self,
        incident: i64,
        attempt: i64,
        seq: i64,
        result: &Value,
    ) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE journal SET result = ?4, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
             WHERE incident = ?1 AND attempt = ?2 AND seq = ?3",
            params![incident, attempt, seq, result.to_string()],
        )?;
        if changed == 0 {
            anyhow::bail!("journal entry {seq} of incident {incident} is missing");
        }
        Ok(())
    }

    /// Replaces the arguments and results of sensitive entries (generated passwords) once
    /// an incident no longer needs them to resume.
    pub fn redact_journal(&self, incident: i64) -> Result<()> {
        let redacted = Value::from(REDACTED).to_string();
        self.conn().execute(
            "UPDATE journal SET args = ?2, result = CASE WHEN result IS NULL THEN NULL ELSE ?2 END
             WHERE incident = ?1 AND sensitive = 1",
            params![incident, redacted],
        )?;
        Ok(())
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
