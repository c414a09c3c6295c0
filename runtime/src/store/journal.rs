//! What durable playbooks keep: the journal of every side-effecting call an incident's
//! playbook made (arguments, then result), the incident's run state (attempt, context that
//! survives re-runs, last error), and claiming incidents for a worker. The result of a
//! sensitive call (a generated password) is sealed before it is written and opened only to
//! replay; everyone else reads [`REDACTED`].

use super::db::{params, OptionalExtension};
use super::leases::NOW;
use super::seal::Cipher;
use super::{json, IncidentStatus, Refusal, Store};
use anyhow::{bail, Context, Result};
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
    /// Runs of this incident a worker retried because the network or an app failed.
    pub retries: i64,
    /// When the next retry is due, while one is.
    pub retry_at: Option<String>,
}

/// What a redacted value reads as.
pub const REDACTED: &str = "<redacted>";

/// Where a sensitive result is sealed: it opens only as this entry's result.
fn place(incident: i64, attempt: i64, seq: i64) -> String {
    format!("incident {incident} attempt {attempt} call {seq}")
}

fn privacy(sensitive: bool) -> &'static str {
    if sensitive {
        "sensitive"
    } else {
        "public"
    }
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
        let mut stmt = self.conn().prepare(
            "SELECT attempt, seq, call, args, result, sensitive, started_at, finished_at
             FROM journal WHERE incident = ?1 AND attempt = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![incident, attempt], |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<i64>(1)?,
                r.get::<String>(2)?,
                r.get::<String>(3)?,
                r.get::<Option<String>>(4)?,
                r.get::<bool>(5)?,
                r.get::<String>(6)?,
                r.get::<Option<String>>(7)?,
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
        let changed = self.conn().execute(
            "INSERT INTO journal (incident, attempt, seq, call, args, sensitive)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6
             WHERE CAST(?7 AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM incidents WHERE id = ?1 AND lease_token = ?7)",
            params![incident, attempt, seq, call, args.to_string(), sensitive, self.fence_for(incident)],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }

    /// Records the result of call `seq`, sealed if the call is `sensitive` (as it was
    /// begun: an entry begun otherwise is an error, so a secret is never stored in clear).
    pub fn journal_finish(
        &self,
        incident: i64,
        attempt: i64,
        seq: i64,
        result: &Value,
        sensitive: bool,
    ) -> Result<()> {
        let stored = if sensitive {
            let sealed = self.cipher()?.seal(
                &place(incident, attempt, seq),
                result.to_string().as_bytes(),
            )?;
            serde_json::json!({ "sealed": sealed }).to_string()
        } else {
            result.to_string()
        };
        let changed = self.conn().execute(
            "UPDATE journal SET result = ?4, finished_at = ilm_now_ms()
             WHERE incident = ?1 AND attempt = ?2 AND seq = ?3 AND sensitive = ?5
                 AND (CAST(?6 AS BIGINT) IS NULL OR EXISTS (SELECT 1 FROM incidents WHERE id = ?1 AND lease_token = ?6))",
            params![incident, attempt, seq, stored, sensitive, self.fence_for(incident)],
        )?;
        if changed == 0 {
            // Nothing written: say whether the entry is missing, was begun otherwise, or
            // the lease was lost.
            let begun: Option<bool> = self
                .conn()
                .query_row(
                    "SELECT sensitive FROM journal WHERE incident = ?1 AND attempt = ?2 AND seq = ?3",
                    params![incident, attempt, seq],
                    |r| r.get(0),
                )
                .optional()?;
            match begun {
                None => bail!("journal entry {seq} of incident {incident} is missing"),
                Some(begun) if begun != sensitive => bail!(
                    "journal entry {seq} of incident {incident} was begun {} and finished {}",
                    privacy(begun),
                    privacy(sensitive)
                ),
                Some(_) => {
                    self.fenced_write(incident, changed)?;
                }
            }
        }
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
            let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<super::db::DbResult<_>>()?
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
            let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
            rows.collect::<super::db::DbResult<_>>()?
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
        type Row = (i64, String, Option<String>, i64, Option<String>);
        let (attempt, context, error, retries, retry_at): Row = self
            .conn()
            .query_row(
                "SELECT attempt, context, error, retries, retry_at FROM incidents WHERE id = ?1",
                [incident],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .ok_or_else(|| Refusal::NotFound(format!("no incident {incident}")))?;
        Ok(RunState {
            attempt,
            context: json::object(&context).context("the incident's context")?,
            error,
            retries,
            retry_at,
        })
    }

    pub fn set_incident_context(&self, incident: i64, context: &Map<String, Value>) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE incidents SET context = ?2 WHERE id = ?1 AND (CAST(?3 AS BIGINT) IS NULL OR lease_token = ?3)",
            params![
                incident,
                Value::Object(context.clone()).to_string(),
                self.fence_for(incident)
            ],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }

    /// Marks the incident failed with a message a person can act on, and ends its lease.
    pub fn fail_incident(&self, incident: i64, error: &str) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE incidents SET status = ?2, error = ?3, retry_at = NULL,
                 lease_owner = NULL, lease_expires_at = NULL
             WHERE id = ?1 AND (CAST(?4 AS BIGINT) IS NULL OR lease_token = ?4)",
            params![
                incident,
                IncidentStatus::Failed,
                error,
                self.fence_for(incident)
            ],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }

    /// Starts a new attempt (a person re-runs a failed incident): a fresh journal, the
    /// context kept, the error and retries cleared. Refused while another worker holds a
    /// live lease on the incident.
    pub fn new_attempt(&self, incident: i64) -> Result<i64> {
        let changed = self.conn().execute(
            &format!(
                "UPDATE incidents SET attempt = attempt + 1, error = NULL, retries = 0,
                     retry_at = NULL, status = CASE WHEN CAST(?3 AS BIGINT) IS NULL THEN ?2 ELSE status END
                 WHERE id = ?1 AND (lease_token = ?3 OR (?3 IS NULL AND NOT (status = 'active'
                     AND lease_expires_at IS NOT NULL AND lease_expires_at > {NOW})))"
            ),
            params![incident, IncidentStatus::Pending, self.fence_for(incident)],
        )?;
        if changed == 0 {
            self.fenced_write(incident, changed)?;
            return Err(Refusal::Conflict(format!(
                "incident {incident} is running in another process; restart it once that run ends"
            ))
            .into());
        }
        Ok(self.run_state(incident)?.attempt)
    }

    /// Schedules a retry of a failed incident in `wait`: a new attempt (with a fresh
    /// journal, the context kept), pending until then; the error stays for people to see.
    pub fn schedule_retry(&self, incident: i64, wait: std::time::Duration) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE incidents SET status = 'pending', attempt = attempt + 1, retries = retries + 1,
                 retry_at = ilm_after_ms(?2)
             WHERE id = ?1 AND status = 'failed' AND (CAST(?3 AS BIGINT) IS NULL OR lease_token = ?3)",
            params![
                incident,
                wait.as_secs_f64(),
                self.fence_for(incident)
            ],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }

    /// Whether an incident waits for a retry that is not due yet.
    pub fn retries_waiting(&self) -> Result<bool> {
        Ok(self.conn().query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM incidents WHERE status = 'pending' AND retry_at > {NOW})"),
            (),
            |r| r.get(0),
        )?)
    }

    /// Merges `patch` into the incident's fields.
    pub fn update_incident_fields(&self, incident: i64, patch: &Map<String, Value>) -> Result<()> {
        let current = self
            .incident(incident)?
            .ok_or_else(|| Refusal::NotFound(format!("no incident {incident}")))?;
        let mut fields = current.fields;
        fields.extend(patch.clone());
        let changed = self.conn().execute(
            "UPDATE incidents SET fields = ?2 WHERE id = ?1 AND (CAST(?3 AS BIGINT) IS NULL OR lease_token = ?3)",
            params![
                incident,
                Value::Object(fields).to_string(),
                self.fence_for(incident)
            ],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }

    pub fn set_incident_owner(&self, incident: i64, owner: Option<&str>) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE incidents SET owner = ?2 WHERE id = ?1 AND (CAST(?3 AS BIGINT) IS NULL OR lease_token = ?3)",
            params![incident, owner, self.fence_for(incident)],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }

    pub fn rename_incident(&self, incident: i64, name: &str) -> Result<()> {
        let changed = self.conn().execute(
            "UPDATE incidents SET name = ?2 WHERE id = ?1 AND (CAST(?3 AS BIGINT) IS NULL OR lease_token = ?3)",
            params![incident, name, self.fence_for(incident)],
        )?;
        self.fenced_write(incident, changed)?;
        Ok(())
    }
}
