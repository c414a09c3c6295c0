//! Writing the profiles of a whole report at once (the first-run sync): one prepared
//! statement for every profile, and no profile read back.

use super::db::params;
use super::Store;
use anyhow::{bail, Result};

impl Store {
    /// Creates or replaces each profile `(email, fields as a JSON object text)` in order,
    /// calling `progress` with how many are written. The caller runs it in a transaction.
    pub fn put_profiles(
        &self,
        profiles: impl IntoIterator<Item = (String, String)>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize> {
        let now = self.now_utc()?;
        let mut insert = self.conn().prepare(
            "INSERT INTO user_profiles (email, fields, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(email) DO UPDATE SET fields = excluded.fields,
                 updated_at = excluded.updated_at",
        )?;
        let mut written = 0;
        for (email, fields) in profiles {
            if email.trim().is_empty() {
                bail!("a user profile needs an email");
            }
            insert.execute(params![email, fields, now])?;
            written += 1;
            progress(written);
        }
        Ok(written)
    }
}
