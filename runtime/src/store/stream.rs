//! Writing the profiles of a whole report (the first-run sync) as its rows are read: one
//! prepared statement for every profile, and no profile read back.

use super::db::{params, Conn, Statement};
use super::Store;
use anyhow::{bail, Result};

/// SQLite's page cache while profiles are written in bulk, in KiB. The profiles' email
/// and employee-id indexes take keys in random order, so with the default 2 MB cache a
/// transaction of 100,000 profiles keeps evicting index pages and reading them back.
/// Larger is no faster: past the indexes the cache holds table pages written once, and a
/// 256 MB cache made a million-row sync slower (41 s against 35 s) and 200 MB larger.
/// The cache only grows as pages are used, and shrinks back when the write is done.
const BULK_WRITE_CACHE_KIB: i64 = 64 * 1024;

/// Creates or replaces profiles one at a time. The caller holds a transaction around it;
/// SQLite's cache is set back when the writer is dropped.
pub struct ProfileWriter<'s> {
    store: &'s Store,
    insert: Statement<'s>,
    now: String,
    /// SQLite's cache size before the bulk write.
    cache_before: Option<i64>,
    written: usize,
}

impl Store {
    /// A writer of profiles in bulk (see [`ProfileWriter`]).
    pub fn profile_writer(&self) -> Result<ProfileWriter<'_>> {
        // Read before the cache is set, so nothing after that can fail.
        let now = self.now_utc()?;
        let insert = self.conn().prepare(
            // `created_at` given, not left to its default: the default's clock call per
            // row was a few percent of a first-run sync.
            "INSERT INTO user_profiles (email, fields, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(email) DO UPDATE SET fields = excluded.fields,
                 updated_at = excluded.updated_at",
        )?;
        let cache_before = match self.conn() {
            Conn::Sqlite(sqlite) => {
                let cache: i64 = sqlite.query_row("PRAGMA cache_size", (), |r| r.get(0))?;
                sqlite.pragma_update(None, "cache_size", -BULK_WRITE_CACHE_KIB)?;
                Some(cache)
            }
            Conn::Postgres(_) => None,
        };
        Ok(ProfileWriter {
            store: self,
            insert,
            now,
            cache_before,
            written: 0,
        })
    }
}

impl ProfileWriter<'_> {
    /// Creates or replaces the profile `email` with `fields` (a JSON object's text).
    pub fn put(&mut self, email: &str, fields: &str) -> Result<()> {
        if email.trim().is_empty() {
            bail!("a user profile needs an email");
        }
        self.insert.execute(params![email, fields, self.now])?;
        self.written += 1;
        Ok(())
    }

    /// How many profiles were written.
    pub fn written(&self) -> usize {
        self.written
    }
}

impl Drop for ProfileWriter<'_> {
    fn drop(&mut self) {
        let (Some(cache), Conn::Sqlite(sqlite)) = (self.cache_before, self.store.conn()) else {
            return;
        };
        if let Err(err) = sqlite.pragma_update(None, "cache_size", cache) {
            // Only this connection's cache stays large, until it closes.
            tracing::warn!("setting SQLite's cache size back after a bulk write: {err}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::BULK_WRITE_CACHE_KIB;
    use crate::store::db::Conn;
    use crate::store::Store;
    use serde_json::json;

    fn cache_size(store: &Store) -> Option<i64> {
        match store.conn() {
            Conn::Sqlite(sqlite) => sqlite.query_row("PRAGMA cache_size", (), |r| r.get(0)).ok(),
            Conn::Postgres(_) => None,
        }
    }

    #[test]
    fn a_bulk_write_stores_every_profile_and_leaves_the_cache_as_it_was() {
        let store = Store::open_in_memory().unwrap();
        let before = cache_size(&store);
        let profiles = (0..3).map(|i| {
            let email = format!("user{i}@example.com");
            let fields = json!({"email": email, "employeeid": i.to_string()}).to_string();
            (email, fields)
        });
        let written = store
            .in_transaction(|s| {
                let mut writer = s.profile_writer()?;
                // SQLite's cache is the bulk write's while it lasts (PostgreSQL has none).
                let bulk = before.map(|_| -BULK_WRITE_CACHE_KIB);
                assert_eq!(cache_size(s), bulk);
                for (email, fields) in profiles {
                    writer.put(&email, &fields)?;
                }
                Ok(writer.written())
            })
            .unwrap();
        assert_eq!(written, 3);
        let stored = store.profile("user2@example.com").unwrap().unwrap();
        assert_eq!(stored.fields["employeeid"], json!("2"));
        assert_eq!(cache_size(&store), before);
        let mut writer = store.profile_writer().unwrap();
        assert!(writer.put(" ", "{}").is_err());
        assert_eq!(writer.written(), 0);
        drop(writer);
        assert_eq!(cache_size(&store), before);
    }
}
