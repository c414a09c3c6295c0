//! Lists: named text bodies playbooks read, such as the JSON
//! `app-provisioning-settings` or the deactivation counter.

use super::db::{params, OptionalExtension};
use super::Store;
use anyhow::Result;

impl Store {
    pub fn list(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT body FROM lists WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_list(&self, name: &str, body: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO lists (name, body) VALUES (?1, ?2)
             ON CONFLICT(name) DO UPDATE SET body = excluded.body,
                 updated_at = ilm_now()",
            params![name, body],
        )?;
        Ok(())
    }

    pub fn list_names(&self) -> Result<Vec<String>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT name FROM lists ORDER BY name")?;
        let names = stmt
            .query_map((), |r| r.get(0))?
            .collect::<super::db::DbResult<_>>()?;
        Ok(names)
    }
}
