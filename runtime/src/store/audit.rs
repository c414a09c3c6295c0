//! The audit log: who changed which user, role, API key, profile, incident, instance,
//! list or plugin, when, and from what to what, and which addresses failed to
//! authenticate to the API. Entries are written in the same
//! transaction as the change they describe.

use super::db::{params, Conn};
use super::Store;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

/// Who made a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// Someone at the `ilm` command line (who can read the database anyway).
    Cli,
    /// A request through the API, made with this key of this user.
    ApiKey { user: String, key_id: i64 },
    /// A user signed in to the web console.
    Console { user: String },
}

impl Actor {
    /// Who, as the audit log names them: the key's user, or `cli`.
    pub fn name(&self) -> &str {
        self.columns().0
    }

    fn columns(&self) -> (&str, Option<i64>) {
        match self {
            Actor::Cli => ("cli", None),
            Actor::ApiKey { user, key_id } => (user, Some(*key_id)),
            Actor::Console { user } => (user, None),
        }
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    /// The user id behind the API key, `cli`, or [`ANONYMOUS`] for a refused key.
    pub actor: String,
    pub api_key: Option<i64>,
    /// e.g. `user.set-roles`, `apikey.revoke`.
    pub action: String,
    /// The user, role or key acted on.
    pub target: String,
    pub before: Value,
    pub after: Value,
}

/// A changed value longer than this is cut in a summary (the entry has it whole).
const VALUE_WIDTH: usize = 40;
/// At most this many changed fields are named in a summary.
const CHANGES_SHOWN: usize = 4;

impl AuditEntry {
    /// What changed, in one short line, for a table row.
    pub fn summary(&self) -> String {
        summary(&self.before, &self.after)
    }
}

/// Appends an entry; `Value::Null` marks "nothing" (before a creation).
pub(super) fn record(
    conn: &Conn,
    actor: &Actor,
    action: &str,
    target: &str,
    before: Value,
    after: Value,
) -> Result<()> {
    let (who, key) = actor.columns();
    let text = |v: Value| (!v.is_null()).then(|| v.to_string());
    conn.execute(
        "INSERT INTO audit_log (actor, api_key, action, target, before, after)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![who, key, action, target, text(before), text(after)],
    )
    .context("writing the audit log")?;
    Ok(())
}

/// The actor of entries about requests whose key was refused.
pub const ANONYMOUS: &str = "anonymous";

/// An API request refused for want of a valid key, as the audit log keeps it: action
/// `auth.fail`, target the client's address, and `auth.lockout` when it locked the address out.
#[derive(Debug, Clone)]
pub struct AuthFailure {
    /// The client's IP address.
    pub address: String,
    /// e.g. `GET /users`.
    pub request: String,
    /// Why the key was refused, as the client was told.
    pub reason: String,
    /// Set when this failure locked the address out, for this many seconds.
    pub lockout_secs: Option<u64>,
}

/// Which audit entries to read; `None` matches anything.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub limit: u32,
    pub actor: Option<String>,
    pub target: Option<String>,
    /// An action (`profile.update`) or its group (`profile`).
    pub action: Option<String>,
    /// Entries at or after this UTC time (`2026-12-01` or `2026-12-01T10:00:00Z`).
    pub since: Option<String>,
    /// Entries older than the entry with this id: the next page after it.
    pub before: Option<i64>,
}

impl Store {
    /// Records a change made outside the database, such as a plugin installed into the
    /// plugins folder.
    pub fn record_audit(
        &self,
        actor: &Actor,
        action: &str,
        target: &str,
        before: Value,
        after: Value,
    ) -> Result<()> {
        record(self.conn(), actor, action, target, before, after)
    }

    /// Records a failed authentication (and the lockout it caused, if any).
    pub fn audit_auth_failure(&self, failure: &AuthFailure) -> Result<()> {
        let tx = self.write()?;
        let insert = |action: &str, after: Value| -> Result<()> {
            tx.execute(
                "INSERT INTO audit_log (actor, action, target, after) VALUES (?1, ?2, ?3, ?4)",
                params![ANONYMOUS, action, failure.address, after.to_string()],
            )
            .context("writing the audit log")?;
            Ok(())
        };
        insert(
            "auth.fail",
            json!({"request": failure.request, "reason": failure.reason}),
        )?;
        if let Some(seconds) = failure.lockout_secs {
            insert("auth.lockout", json!({ "seconds": seconds }))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The newest `limit` entries, newest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.search_audit_log(&AuditFilter {
            limit,
            ..AuditFilter::default()
        })
    }

    /// The newest entries that match `filter`, newest first.
    pub fn search_audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, at, actor, api_key, action, target, before, after
             FROM audit_log
             WHERE (CAST(?2 AS TEXT) IS NULL OR actor = ?2)
               AND (CAST(?3 AS TEXT) IS NULL OR target = ?3)
               AND (CAST(?4 AS TEXT) IS NULL OR action = ?4 OR action LIKE ?4 || '.%')
               AND (CAST(?5 AS TEXT) IS NULL OR at >= ?5)
               AND (CAST(?6 AS BIGINT) IS NULL OR id < ?6)
             ORDER BY id DESC LIMIT ?1",
        )?;
        let params = params![
            filter.limit,
            filter.actor,
            filter.target,
            filter.action,
            filter.since,
            filter.before
        ];
        let rows = stmt.query_map(params, |r| {
            Ok((
                AuditEntry {
                    id: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    api_key: r.get(3)?,
                    action: r.get(4)?,
                    target: r.get(5)?,
                    before: Value::Null,
                    after: Value::Null,
                },
                r.get::<Option<String>>(6)?,
                r.get::<Option<String>>(7)?,
            ))
        })?;
        let parse = |text: Option<String>| -> Result<Value> {
            text.map_or(Ok(Value::Null), |t| {
                serde_json::from_str(&t).context("an audit entry's JSON")
            })
        };
        rows.map(|row| {
            let (mut entry, before, after) = row?;
            entry.before = parse(before)?;
            entry.after = parse(after)?;
            Ok(entry)
        })
        .collect()
    }
}

/// What changed, in one short line: `title: "Engineer" → "Sr Engineer"`, the fields of a
/// creation, or the value itself.
fn summary(before: &Value, after: &Value) -> String {
    let mut changes = Vec::new();
    differences("", before, after, &mut changes);
    let more = changes.len().saturating_sub(CHANGES_SHOWN);
    changes.truncate(CHANGES_SHOWN);
    let mut line = changes.join("; ");
    if more > 0 {
        line.push_str(&format!("; and {more} more"));
    }
    line
}

fn differences(path: &str, before: &Value, after: &Value, out: &mut Vec<String>) {
    match (before, after) {
        (Value::Object(old), Value::Object(new)) => {
            let keys = old
                .keys()
                .chain(new.keys().filter(|k| !old.contains_key(*k)));
            for key in keys {
                let (o, n) = (
                    old.get(key).unwrap_or(&Value::Null),
                    new.get(key).unwrap_or(&Value::Null),
                );
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                differences(&path, o, n, out);
            }
        }
        // A creation or a deletion: the fields it had.
        (Value::Null, Value::Object(fields)) | (Value::Object(fields), Value::Null) => {
            let sign = if before.is_null() { "+" } else { "-" };
            out.extend(fields.keys().map(|k| {
                let path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                format!("{sign}{path}")
            }));
        }
        (old, new) if old != new => {
            let label = if path.is_empty() {
                String::new()
            } else {
                format!("{path}: ")
            };
            out.push(format!("{label}{} → {}", short(old), short(new)));
        }
        _ => {}
    }
}

fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= VALUE_WIDTH {
        return text;
    }
    let cut: String = text.chars().take(VALUE_WIDTH - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::summary;
    use serde_json::json;

    #[test]
    fn a_row_names_what_changed_and_cuts_long_values() {
        let before = json!({"status": "pending", "fields": {"title": "Engineer", "city": "Oslo"}});
        let after = json!({"status": "closed", "fields": {"title": "Sr Engineer", "city": "Oslo", "note": "x".repeat(100)}});
        let line = summary(&before, &after);
        assert!(line.contains("status: \"pending\" → \"closed\""), "{line}");
        assert!(
            line.contains("fields.title: \"Engineer\" → \"Sr Engineer\""),
            "{line}"
        );
        assert!(
            !line.contains("city"),
            "unchanged fields are not shown: {line}"
        );
        assert!(line.contains("fields.note: null → \"xxx"), "{line}");
        assert!(line.chars().count() < 160, "{line}");
    }

    #[test]
    fn creations_name_their_fields_and_long_lists_are_counted() {
        let created = json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6});
        assert_eq!(
            summary(&json!(null), &created),
            "+a; +b; +c; +d; and 2 more"
        );
        assert_eq!(summary(&json!("50"), &json!("51")), "\"50\" → \"51\"");
    }
}
