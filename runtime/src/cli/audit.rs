//! `ilm audit`: who changed what (users, roles, API keys, profiles, incidents, instances,
//! lists, plugins) and failed API sign-ins, newest first.

use super::{output, Context, Outcome};
use crate::store::AuditFilter;
use anyhow::Result;
use clap::Args;
use serde_json::Value;

/// A changed value longer than this is cut in the table (`--json` has it whole).
const VALUE_WIDTH: usize = 40;
/// At most this many changed fields are named per row.
const CHANGES_SHOWN: usize = 4;

#[derive(Args)]
pub struct AuditArgs {
    /// How many entries to show.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Only entries by this actor (a user id, `cli`, `anonymous`, `playbook NAME`).
    #[arg(long)]
    actor: Option<String>,
    /// Only entries about this target (an email, `incident 42`, an instance or list name).
    #[arg(long)]
    target: Option<String>,
    /// Only this action (`profile.update`) or group of actions (`profile`, `instance`).
    #[arg(long)]
    action: Option<String>,
    /// Only entries at or after this UTC date or time (`2026-12-01`, `2026-12-01T10:00:00Z`).
    #[arg(long)]
    since: Option<String>,
    /// The entries as JSON, with their whole before and after.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: AuditArgs) -> Result<Outcome> {
    let entries = ctx.store()?.search_audit_log(&AuditFilter {
        limit: args.limit,
        actor: args.actor,
        target: args.target,
        action: args.action,
        since: args.since,
    })?;
    if args.json {
        println!("{}", output::json(&entries)?);
    } else {
        println!(
            "{}",
            output::table(
                &["at", "actor", "key", "action", "target", "change"],
                entries.into_iter().map(|e| vec![
                    e.at,
                    e.actor,
                    e.api_key.map(|k| k.to_string()).unwrap_or_default(),
                    e.action,
                    e.target,
                    summary(&e.before, &e.after),
                ]),
            )
        );
    }
    Ok(Outcome::Success)
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
