//! Per-instance fetch state and the bulk reads and writes a fetch needs.

use super::db::{params, OptionalExtension};
use super::Store;
use anyhow::{Context, Result};
use serde_json::{Map, Value};

impl Store {
    /// The instance's fetch state as stored (`None` before its first fetch).
    pub fn fetch_state(&self, instance: &str) -> Result<Option<Value>> {
        let text: Option<String> = self
            .conn()
            .query_row(
                "SELECT state FROM fetch_state WHERE instance = ?1",
                [instance],
                |r| r.get(0),
            )
            .optional()?;
        text.map(|t| serde_json::from_str(&t).context("the stored fetch state"))
            .transpose()
    }

    pub fn set_fetch_state(&self, instance: &str, state: &Value) -> Result<()> {
        self.conn().execute(
            "INSERT INTO fetch_state (instance, state) VALUES (?1, ?2)
             ON CONFLICT(instance) DO UPDATE SET state = excluded.state",
            params![instance, state.to_string()],
        )?;
        Ok(())
    }

    /// Every user profile's fields, in one pass (a fetch compares the whole report).
    pub fn all_profile_fields(&self) -> Result<Vec<Map<String, Value>>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT email, fields FROM user_profiles")?;
        let rows = stmt.query_map((), |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))?;
        rows.map(|row| {
            let (email, fields) = row?;
            match serde_json::from_str(&fields)
                .with_context(|| format!("the fields of the user profile {email}"))?
            {
                Value::Object(map) => Ok(map),
                _ => anyhow::bail!("the fields of the user profile {email} are not an object"),
            }
        })
        .collect()
    }

    /// Every user profile as its email and its fields' JSON text, one at a time: a fetch
    /// compares the whole report without holding every document at once.
    pub fn each_profile_json(&self, f: &mut dyn FnMut(&str, &str) -> Result<()>) -> Result<()> {
        self.conn().each_text_row(
            "SELECT email, fields FROM user_profiles",
            (),
            &mut |row: &[&str]| match row {
                [email, fields] => f(email, fields),
                _ => anyhow::bail!("expected the two columns email and fields"),
            },
        )
    }

    /// Runs `f` in one write transaction: all of it is written, or none.
    pub fn in_transaction<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        let tx = self.write()?;
        let value = f(self)?;
        tx.commit()?;
        Ok(value)
    }
}
