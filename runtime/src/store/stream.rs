//! Writing the profiles of a whole report at once (the first-run sync): one prepared
//! statement for every profile, and no profile read back.

use super::db::{params, Conn};
use super::Store;
use anyhow::{bail, Result};

/// SQLite's page cache while profiles are written in bulk, in KiB. The profiles' email
/// and employee-id indexes take keys in random order, so with the default 2 MB cache a
/// transaction of 100,000 profiles keeps evicting index pages and reading them back.
/// The cache only grows as pages are used, and shrinks back when the write is done.
const BULK_WRITE_CACHE_KIB: i64 = 256 * 1024;

impl Store {
    /// Creates or replaces each profile `(email, fields as a JSON object text)` in order,
    /// calling `progress` with how many are written. The caller runs it in a transaction.
    pub fn put_profiles(
        &self,
        profiles: impl IntoIterator<Item = (String, String)>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize> {
        let Conn::Sqlite(sqlite) = self.conn() else {
            return self.insert_profiles(profiles, progress);
        };
        let cache: i64 = sqlite.query_row("PRAGMA cache_size", (), |r| r.get(0))?;
        sqlite.pragma_update(None, "cache_size", -BULK_WRITE_CACHE_KIB)?;
        let written = self.insert_profiles(profiles, progress);
        sqlite.pragma_update(None, "cache_size", cache)?;
        written
    }

    fn insert_profiles(
        &self,
        profiles: impl IntoIterator<Item = (String, String)>,
        progress: &mut dyn FnMut(usize),
    ) -> Result<usize> {
        let now = self.now_utc()?;
        let mut insert = self.conn().prepare(
            // `created_at` given, not left to its default: the default's clock call per
            // row was a few percent of a first-run sync.
            "INSERT INTO user_profiles (email, fields, created_at, updated_at) VALUES (?1, ?2, ?3, ?3)
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

#[cfg(test)]
mod tests {
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
        let mut seen = Vec::new();
        let written = store
            .in_transaction(|s| s.put_profiles(profiles, &mut |done| seen.push(done)))
            .unwrap();
        assert_eq!((written, seen), (3, vec![1, 2, 3]));
        let stored = store.profile("user2@example.com").unwrap().unwrap();
        assert_eq!(stored.fields["employeeid"], json!("2"));
        assert_eq!(cache_size(&store), before);
        assert!(store
            .put_profiles([(" ".into(), "{}".into())], &mut |_| {})
            .is_err());
        assert_eq!(cache_size(&store), before);
    }
}
