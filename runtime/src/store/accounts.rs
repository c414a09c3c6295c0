//! What the store knows of one person's app accounts: every result of an IAM command the
//! playbooks of that person's incidents ran (create, update, disable, ...), one per app
//! instance, as the journal recorded it.

use super::Store;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One app's answer to one IAM command, in one incident.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AccountEvent {
    pub incident: i64,
    /// When the command finished.
    pub at: String,
    pub instance: String,
    /// e.g. `create`, `update`, `disable`.
    pub action: String,
    pub success: bool,
    /// Whether the account is active, when the app said.
    pub active: Option<bool>,
    /// The account's id in the app.
    pub id: String,
    pub username: String,
    /// Why it failed or was skipped.
    pub error: String,
}

/// The fields of a journaled vendor result this reads; the rest stay in the journal.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Vendor {
    #[serde(default)]
    instance_name: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    success: bool,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default)]
    id: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    error_message: String,
    #[serde(default)]
    reason: String,
}

impl Store {
    /// Every app's answer to the IAM commands run for `email`'s incidents, newest first.
    pub fn account_events(&self, email: &str) -> Result<Vec<AccountEvent>> {
        let mut stmt = self.conn().prepare(
            "SELECT j.incident, coalesce(j.finished_at, j.started_at), j.result
             FROM journal j JOIN incidents i ON i.id = j.incident
             WHERE i.email = lower(?1) AND j.call = 'iam' AND j.result IS NOT NULL
             ORDER BY 2 DESC, j.incident DESC, j.seq DESC",
        )?;
        let rows = stmt.query_map([email], |r| {
            Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<String>(2)?))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (incident, at, result) = row?;
            // One result per app the command ran on; anything else is not an IAM answer.
            let Ok(serde_json::Value::Array(results)) = serde_json::from_str(&result) else {
                continue;
            };
            for value in results {
                let vendor: Vendor = serde_json::from_value(value).with_context(|| {
                    format!("an IAM result in the journal of incident {incident}")
                })?;
                events.push(event(incident, &at, vendor));
            }
        }
        Ok(events)
    }
}

fn event(incident: i64, at: &str, vendor: Vendor) -> AccountEvent {
    AccountEvent {
        incident,
        at: at.to_owned(),
        instance: vendor.instance_name,
        action: vendor.action,
        success: vendor.success,
        active: vendor.active,
        id: vendor.id,
        username: vendor.username,
        error: if vendor.error_message.is_empty() {
            vendor.reason
        } else {
            vendor.error_message
        },
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{NewIncident, Store};
    use serde_json::{json, Map, Value};

    #[test]
    fn a_persons_accounts_come_from_the_iam_results_of_their_incidents_only() {
        let store = Store::open_in_memory().expect("store");
        let incident = |email: &str| {
            let fields: Map<String, Value> =
                serde_json::from_value(json!({"email": email})).expect("fields");
            store
                .create_incident(&NewIncident {
                    kind: "IAM - New Hire",
                    name: email,
                    fields: &fields,
                })
                .expect("incident")
                .id
        };
        let kim = incident("Kim@acme.test");
        let other = incident("other@acme.test");
        let created = json!([
            {"instanceName": "gh", "action": "create", "success": true, "active": true, "id": "7", "username": "kim"},
            {"instanceName": "okta", "action": "create", "success": false, "id": "", "errorMessage": "quota"}
        ]);
        for (id, result) in [(kim, &created), (other, &created)] {
            store
                .journal_begin(id, 1, 0, "iam", &json!({}), false)
                .expect("begin");
            store
                .journal_finish(id, 1, 0, result, false)
                .expect("finish");
        }
        store
            .journal_begin(kim, 1, 1, "mail", &json!({}), false)
            .expect("a call that is not IAM");

        let events = store.account_events("kim@acme.test").expect("events");
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(events.iter().all(|e| e.incident == kim));
        assert_eq!(
            (events[0].instance.as_str(), events[0].id.as_str()),
            ("gh", "7")
        );
        assert_eq!(events[0].active, Some(true));
        assert_eq!(
            (events[1].success, events[1].error.as_str()),
            (false, "quota")
        );
    }
}
