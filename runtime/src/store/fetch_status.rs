//! How each source instance's last fetch went: when, whether it worked, the error a person
//! must act on, and what it did. `ilm status` (and the console) read it.

use super::db::params;
use super::Store;
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::Value;

/// The last fetch of one instance.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FetchStatus {
    pub instance: String,
    /// When the last fetch ended (UTC).
    pub last_at: String,
    /// When the last fetch that worked ended.
    pub last_ok_at: Option<String>,
    /// The last fetch's error; `None` when it worked.
    pub last_error: Option<String>,
    /// Fetches that failed in a row.
    pub failures: u32,
    /// What the last fetch that worked did (its summary, as `ilm fetch --json` prints it).
    pub summary: Value,
}

impl Store {
    /// Records a fetch of `instance` that worked, with its summary.
    pub fn record_fetch_success(&self, instance: &str, summary: &Value) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO fetch_status (instance, last_at, last_ok_at, last_error, failures, summary)
                 VALUES (?1, ilm_now(), ilm_now(), NULL, 0, ?2)
                 ON CONFLICT(instance) DO UPDATE SET last_at = excluded.last_at,
                     last_ok_at = excluded.last_ok_at, last_error = NULL, failures = 0,
                     summary = excluded.summary",
                params![instance, summary.to_string()],
            )
            .with_context(|| format!("recording the fetch of {instance}"))?;
        Ok(())
    }

    /// Records a fetch of `instance` that failed; the last good summary stays.
    pub fn record_fetch_failure(&self, instance: &str, error: &str) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO fetch_status (instance, last_at, last_error, failures, summary)
                 VALUES (?1, ilm_now(), ?2, 1, 'null')
                 ON CONFLICT(instance) DO UPDATE SET last_at = excluded.last_at,
                     last_error = excluded.last_error, failures = fetch_status.failures + 1",
                params![instance, error],
            )
            .with_context(|| format!("recording the fetch of {instance}"))?;
        Ok(())
    }

    /// The last fetch of every instance that was fetched, by name.
    pub fn fetch_statuses(&self) -> Result<Vec<FetchStatus>> {
        let mut stmt = self.conn().prepare(
            "SELECT instance, last_at, last_ok_at, last_error, failures, summary
             FROM fetch_status ORDER BY instance",
        )?;
        let rows = stmt.query_map((), |r| {
            Ok((
                FetchStatus {
                    instance: r.get(0)?,
                    last_at: r.get(1)?,
                    last_ok_at: r.get(2)?,
                    last_error: r.get(3)?,
                    failures: r.get(4)?,
                    summary: Value::Null,
                },
                r.get::<String>(5)?,
            ))
        })?;
        rows.map(|row| {
            let (mut status, summary) = row?;
            status.summary = serde_json::from_str(&summary).context("a stored fetch summary")?;
            Ok(status)
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{test_instance, Store};
    use serde_json::json;

    #[test]
    fn failures_count_in_a_row_and_keep_the_last_good_summary() {
        let store = Store::open_in_memory().unwrap();
        store.add_instance(&test_instance("hr")).unwrap();
        store
            .record_fetch_success("hr", &json!({"queued": 3}))
            .unwrap();
        store.record_fetch_failure("hr", "HTTP 500").unwrap();
        store.record_fetch_failure("hr", "HTTP 503").unwrap();
        let status = &store.fetch_statuses().unwrap()[0];
        assert_eq!(status.failures, 2);
        assert_eq!(status.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(status.summary["queued"], 3);
        assert!(status.last_ok_at.is_some());

        store
            .record_fetch_success("hr", &json!({"queued": 0}))
            .unwrap();
        let status = &store.fetch_statuses().unwrap()[0];
        assert_eq!((status.failures, status.last_error.as_deref()), (0, None));
        store.remove_instance("hr").unwrap();
        assert!(
            store.fetch_statuses().unwrap().is_empty(),
            "removed with its instance"
        );
    }
}
