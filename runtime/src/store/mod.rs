//! The SQLite store: one module owns the SQL. Each concern has its own file with the
//! queries for its tables; this file opens the database and applies the migrations.

mod instances;

pub use instances::{Instance, InstanceRecord};

use anyhow::{Context, Result};
use rusqlite::Connection;
use std::path::Path;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
/// Never edit a released migration: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: integration instances and their per-instance JSON store.
    "CREATE TABLE instances (
        name        TEXT PRIMARY KEY,
        plugin      TEXT NOT NULL,
        params      TEXT NOT NULL,      -- JSON object, non-secret parameters
        secrets     TEXT NOT NULL,      -- JSON object, secret parameters (never printed)
        allow_hosts TEXT NOT NULL,      -- JSON array of extra allow-list entries
        limits      TEXT NOT NULL,      -- JSON object: deadline_ms, memory_mib
        enabled     INTEGER NOT NULL DEFAULT 1,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE TABLE integration_context (
        instance TEXT PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,
        json     TEXT NOT NULL
    );",
];

/// A handle on the runtime's database.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the database {}", path.display()))?;
        Self::init(conn)
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn open_in_memory() -> Result<Self> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        migrate(&mut conn)?;
        Ok(Self { conn })
    }

    /// The underlying connection, for the store's own modules.
    fn conn(&self) -> &Connection {
        &self.conn
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let applied: usize = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if applied > MIGRATIONS.len() {
        anyhow::bail!(
            "the database schema is version {applied}, newer than this ilm ({}); upgrade ilm",
            MIGRATIONS.len()
        );
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .with_context(|| format!("applying schema migration {}", index + 1))?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
    }
    Ok(())
}
