//! The store: one module owns the SQL. Each concern has its own file with the queries for
//! its tables, written once for both databases (`db`): SQLite, embedded, the default; or
//! PostgreSQL (`postgres`), which several processes on several machines share. This file
//! opens the database and applies its migrations.
//! Secrets never reach the file in clear: instance secrets and the results of sensitive
//! journal calls are sealed with a key kept outside it (`secret_key`), the files are the
//! owner's alone (`files`), and deleted content is overwritten (`secure_delete`).

mod accounts;
mod answers;
mod api_keys;
mod audit;
mod change_log;
mod clock;
pub(crate) mod db;
mod fetch_claims;
mod fetch_state;
mod fetch_status;
pub mod files;
mod incidents;
mod instances;
mod journal;
mod json;
mod key_rotation;
mod leases;
mod lists;
mod paging;
mod people;
mod pool;
mod postgres;
mod privilege;
mod profiles;
mod refusal;
mod seal;
#[cfg(test)]
mod sealing_tests;
pub mod secret_key;
mod sign_in;
mod stream;

pub use accounts::AccountEvent;
pub use answers::Question;
pub use api_keys::{ApiKeyRecord, CreatedKey, KeyCheck, KeyHolder, NewApiKey};
pub use audit::{Actor, AuditEntry, AuditFilter, AuthFailure, ANONYMOUS};
pub use fetch_status::FetchStatus;
pub use incidents::{Carried, Incident, IncidentFilter, IncidentStatus, NewIncident};
pub use instances::{Instance, InstanceRecord, Secret};
pub use journal::{JournalEntry, RunState, REDACTED};
pub use key_rotation::Rotation;
pub use leases::{is_lease_lost, Lease, LeaseLost};

/// Whether `err` (anywhere in its chain) is the database being unreachable: the work is
/// not wrong, the store is away; it resumes once the store is back.
pub fn is_store_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        matches!(
            e.downcast_ref::<db::DbError>(),
            Some(db::DbError::Unavailable(_))
        )
    })
}
pub use paging::{Page, PageRequest};
pub use people::{NewUser, PeopleStamp, Permission, Role, User};
pub use pool::{PooledStore, StorePool};
pub use privilege::{ADMINISTRATOR, ADMIN_USER};
pub use profiles::{ProfileFilter, UserProfile};
pub use refusal::Refusal;
pub use secret_key::{KeyError, KeySource};
pub use sign_in::SignedIn;

use anyhow::{Context, Result};
use db::{Conn, WriteTx};
use seal::Cipher;
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// SQLite's schema migrations, applied in order; `PRAGMA user_version` records how many
/// ran. Never edit a released migration: append a new one, and the same change to
/// PostgreSQL's (`postgres::MIGRATIONS`).
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
    // 2: the runtime's people (users, roles), API keys and the audit log, with the built-in
    // roles and the `admin` user.
    r#"CREATE TABLE roles (
        id          TEXT PRIMARY KEY,   -- also the role's name: XSOAR keeps id == name
        permissions TEXT NOT NULL,      -- JSON array of permission strings
        builtin     INTEGER NOT NULL DEFAULT 0,
        version     INTEGER NOT NULL DEFAULT 1,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE TABLE users (
        id         TEXT PRIMARY KEY,    -- the login name, as in XSOAR
        username   TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        first_name TEXT NOT NULL DEFAULT '',
        last_name  TEXT NOT NULL DEFAULT '',
        email      TEXT NOT NULL DEFAULT '',
        disabled   INTEGER NOT NULL DEFAULT 0,
        version    INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE TABLE user_roles (
        user_id  TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        role_id  TEXT NOT NULL REFERENCES roles(id),
        position INTEGER NOT NULL,      -- keeps the order the roles were given in
        PRIMARY KEY (user_id, role_id)
    );
    CREATE INDEX user_roles_role ON user_roles(role_id);
    CREATE TABLE api_keys (
        id         INTEGER PRIMARY KEY AUTOINCREMENT, -- the key id; never reused
        lookup     TEXT NOT NULL UNIQUE, -- the key's first characters, to find its row
        hash       BLOB NOT NULL,        -- SHA-256 of the key; the key itself is never stored
        user_id    TEXT NOT NULL REFERENCES users(id),
        role_id    TEXT NOT NULL REFERENCES roles(id),
        comment    TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        expires_at TEXT,                 -- NULL: never
        revoked_at TEXT
    );
    CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        actor   TEXT NOT NULL,          -- the user id behind the API key, or 'cli'
        api_key INTEGER,                -- the key used, for API requests
        action  TEXT NOT NULL,          -- e.g. 'user.set-roles'
        target  TEXT NOT NULL,
        before  TEXT,                   -- JSON
        after   TEXT                    -- JSON
    );
    INSERT INTO roles (id, permissions, builtin) VALUES
        ('Administrator', '["users.read","users.write","roles.read","roles.write","incidents.read","incidents.write","profiles.read","profiles.write"]', 1),
        ('Analyst', '["users.read","roles.read","incidents.read","incidents.write","profiles.read"]', 1),
        ('Read-Only', '["users.read","roles.read","incidents.read","profiles.read"]', 1);
    INSERT INTO users (id, username, name) VALUES ('admin', 'admin', 'Admin');
    INSERT INTO user_roles (user_id, role_id, position) VALUES ('admin', 'Administrator', 0);"#,
    // 3: user profiles, keyed by work email. `fields` is the only copy of the
    // profile; the generated columns make it searchable.
    "CREATE TABLE user_profiles (
        email        TEXT PRIMARY KEY COLLATE NOCASE,
        fields       TEXT NOT NULL,     -- JSON object, cli name -> value
        employee_id  TEXT GENERATED ALWAYS AS (CAST(json_extract(fields, '$.employeeid') AS TEXT)) VIRTUAL,
        display_name TEXT GENERATED ALWAYS AS (json_extract(fields, '$.displayname')) VIRTUAL,
        created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE INDEX user_profiles_employee_id ON user_profiles(employee_id);",
    // 4: incidents; `email` is generated from the fields for searching.
    "CREATE TABLE incidents (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        type       TEXT NOT NULL,       -- e.g. 'IAM - New Hire'
        name       TEXT NOT NULL,       -- the employee's email for IAM incidents
        status     TEXT NOT NULL DEFAULT 'pending',
        owner      TEXT REFERENCES users(id),
        fields     TEXT NOT NULL DEFAULT '{}', -- JSON object, cli name -> value
        email      TEXT GENERATED ALWAYS AS (lower(json_extract(fields, '$.email'))) VIRTUAL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now')),
        closed_at  TEXT
    );
    CREATE INDEX incidents_type_status ON incidents(type, status);
    CREATE INDEX incidents_email ON incidents(email);",
    // 5: durable playbooks: the journal of side effects, the incident's run state, lists.
    "ALTER TABLE incidents ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE incidents ADD COLUMN context TEXT NOT NULL DEFAULT '{}'; -- survives re-runs
    ALTER TABLE incidents ADD COLUMN error TEXT;
    CREATE TABLE journal (
        incident    INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
        attempt     INTEGER NOT NULL,
        seq         INTEGER NOT NULL,
        call        TEXT NOT NULL,      -- e.g. 'iam', 'mail', 'ask'
        args        TEXT NOT NULL,      -- JSON
        result      TEXT,               -- JSON; NULL while in flight or unanswered
        sensitive   INTEGER NOT NULL DEFAULT 0, -- redacted once the incident closes
        started_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        finished_at TEXT,
        PRIMARY KEY (incident, attempt, seq)
    );
    CREATE TABLE lists (
        name       TEXT PRIMARY KEY,
        body       TEXT NOT NULL,
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );",
    // 6: each fetching instance's state: first-run done, queued events.
    "CREATE TABLE fetch_state (
        instance TEXT PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,
        state    TEXT NOT NULL          -- JSON: synced_users, events
    );",
    // 7: secrets at rest. The id of the key secrets are sealed with (the key itself lives
    // outside the database); `instances.secrets` values become {"sealed": ...},
    // {"env": NAME} or {"file": PATH}, and sensitive journal results {"sealed": ...}. The
    // values an older database holds in clear are sealed by `after_migration`.
    "CREATE TABLE secret_key (
        id         INTEGER PRIMARY KEY CHECK (id = 1),
        key_id     TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );",
    // 8: how each source instance's last fetch went, for `ilm status`.
    "CREATE TABLE fetch_status (
        instance   TEXT PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,
        last_at    TEXT NOT NULL,
        last_ok_at TEXT,
        last_error TEXT,                -- NULL when the last fetch worked
        failures   INTEGER NOT NULL,    -- failed fetches in a row
        summary    TEXT NOT NULL        -- JSON: what the last fetch that worked did
    );",
    // 9: claims are leases (owner, a fencing token that only grows, an expiry), and
    // failures the network caused are retried (how many so far, when next).
    "ALTER TABLE incidents ADD COLUMN lease_owner TEXT;
    ALTER TABLE incidents ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN lease_expires_at TEXT; -- %Y-%m-%dT%H:%M:%fZ
    ALTER TABLE incidents ADD COLUMN retries INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN retry_at TEXT;
    CREATE INDEX incidents_status ON incidents(status);",
    // 10: signing in to the web console: a user's password (an Argon2id PHC string) and
    // the sessions signed in, by the SHA-256 of their id (the cookie alone holds the id).
    "CREATE TABLE user_passwords (
        user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
        hash    TEXT NOT NULL,
        set_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ','now'))
    );
    CREATE TABLE console_sessions (
        id_hash    TEXT PRIMARY KEY,
        user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        expires_at TEXT NOT NULL        -- %Y-%m-%dT%H:%M:%SZ
    );",
    // 11: one fetcher per source instance at a time (`fetch_claims.rs`).
    "CREATE TABLE fetch_claims (
        instance   TEXT PRIMARY KEY REFERENCES instances(name) ON DELETE CASCADE,
        owner      TEXT NOT NULL,
        expires_at TEXT NOT NULL        -- %Y-%m-%dT%H:%M:%fZ
    );",
    // 12: a user's role grants in the order they were given, read without a sort
    // (`people.rs`: listing the users).
    "CREATE INDEX user_roles_order ON user_roles(user_id, position);",
    // 13: a generated password's sealed result in the journal is needed only to resume the
    // attempt that drew it: it is redacted by the statement that closes or fails the
    // incident, so no crash can leave it behind (`journal.rs`).
    "CREATE TRIGGER journal_redact_when_done AFTER UPDATE OF status ON incidents
     WHEN new.status IN ('closed', 'failed') BEGIN
        UPDATE journal SET result = '\"<redacted>\"'
        WHERE incident = new.id AND sensitive = 1 AND result IS NOT NULL
          AND result <> '\"<redacted>\"';
     END;",
];

/// The migration whose `after_migration` seals what older versions kept in clear.
const SEAL_SECRETS_MIGRATION: usize = 7;

/// A Workday source instance named `name`, with nothing set: what store tests that need
/// an instance row add.
#[cfg(test)]
pub(crate) fn test_instance(name: &str) -> Instance {
    Instance {
        name: name.into(),
        plugin: "workday".into(),
        params: Default::default(),
        secrets: Default::default(),
        allow_hosts: vec![],
        limits: Default::default(),
        enabled: true,
    }
}

/// Where the store lives: a SQLite file, or a PostgreSQL server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(PathBuf),
    /// `url` is a `postgres://` URL; the secret key file is in `key_dir` (every process
    /// that shares the database needs the same key: copy the file, or set `ILM_SECRET_KEY`).
    Postgres {
        url: String,
        key_dir: PathBuf,
    },
}

impl Database {
    /// `postgres://…` or `postgresql://…` names a server; anything else is a SQLite file.
    pub fn parse(location: &str, key_dir: &Path) -> Self {
        if location.starts_with("postgres://") || location.starts_with("postgresql://") {
            Database::Postgres {
                url: location.to_owned(),
                key_dir: key_dir.to_owned(),
            }
        } else {
            Database::Sqlite(PathBuf::from(location))
        }
    }

    /// The database as messages name it (a URL without its password).
    pub fn label(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres { url, .. } => postgres::redacted(url),
        }
    }

    /// Where this database's secret key comes from: `ILM_SECRET_KEY`, or the key file.
    pub fn key_source(&self) -> KeySource {
        match self {
            Database::Sqlite(path) => KeySource::for_database(path),
            Database::Postgres { key_dir, .. } => KeySource::in_dir(key_dir),
        }
    }
}

impl From<&Path> for Database {
    fn from(path: &Path) -> Self {
        Database::Sqlite(path.to_owned())
    }
}
impl From<PathBuf> for Database {
    fn from(path: PathBuf) -> Self {
        Database::Sqlite(path)
    }
}
impl From<&PathBuf> for Database {
    fn from(path: &PathBuf) -> Self {
        Database::Sqlite(path.clone())
    }
}
impl From<&Database> for Database {
    fn from(db: &Database) -> Self {
        db.clone()
    }
}

/// A handle on the runtime's database.
pub struct Store {
    conn: Conn,
    /// The database's path or URL, for messages.
    label: String,
    keys: KeySource,
    /// Unlocked at the first secret sealed or opened, so commands that touch none never
    /// need the key; unlocked again when the database names another key (a rotation).
    cipher: RefCell<Option<Arc<Cipher>>>,
    /// The lease this handle writes under (`fenced`): (incident, fencing token).
    fence: Option<(i64, i64)>,
}

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date. Its
    /// secrets are sealed with `ILM_SECRET_KEY`, or else the key file beside it.
    pub fn open(db: impl Into<Database>) -> Result<Self> {
        let db = db.into();
        let keys = db.key_source();
        Self::open_with_key(db, keys)
    }

    /// [`Store::open`] with the key taken from `keys`.
    pub fn open_with_key(db: impl Into<Database>, keys: KeySource) -> Result<Self> {
        match db.into() {
            Database::Sqlite(path) => {
                files::private_database(&path)?;
                let conn = rusqlite::Connection::open(&path)
                    .with_context(|| format!("opening the database {}", path.display()))?;
                Self::init_sqlite(conn, path.display().to_string(), keys)
            }
            Database::Postgres { url, .. } => {
                let conn = postgres::PgConn::connect(&url)?;
                let label = conn.label().to_owned();
                Self::init(Conn::Postgres(Box::new(conn)), label, keys)
            }
        }
    }

    /// An in-memory database, for tests and benchmarks. The unit tests run against
    /// PostgreSQL instead when `ILM_TEST_POSTGRES` names a server: a new schema each.
    pub fn open_in_memory() -> Result<Self> {
        #[cfg(test)]
        if let Ok(server) = std::env::var("ILM_TEST_POSTGRES") {
            let url = postgres::scratch_schema(&server)?;
            return Self::open_with_key(
                Database::Postgres {
                    url,
                    key_dir: PathBuf::new(),
                },
                KeySource::Ephemeral,
            );
        }
        Self::init_sqlite(
            rusqlite::Connection::open_in_memory()?,
            ":memory:".to_owned(),
            KeySource::Ephemeral,
        )
    }

    fn init_sqlite(conn: rusqlite::Connection, label: String, keys: KeySource) -> Result<Self> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // In WAL mode NORMAL survives a crash of the process (what the journal guards
        // against) and skips the fsync per commit; a power cut may lose the last commits,
        // which a resumed playbook repeats (its calls are idempotent or at-least-once).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted and overwritten content (a redacted journal value, a replaced secret) is
        // zeroed instead of lingering in free space.
        conn.pragma_update(None, "secure_delete", "ON")?;
        conn.set_prepared_statement_cache_capacity(64);
        clock::register(&conn)?;
        Self::init(Conn::Sqlite(conn), label, keys)
    }

    fn init(conn: Conn, label: String, keys: KeySource) -> Result<Self> {
        let store = Self {
            conn,
            label,
            keys,
            cipher: RefCell::new(None),
            fence: None,
        };
        store.migrate()?;
        change_log::install(&store.conn)?;
        Ok(store)
    }

    /// Whether the database server closed this handle's connection, or could not be
    /// reached, since it opened: a run that saw it stops without failing its incident.
    pub fn connection_lost(&self) -> bool {
        self.conn.was_lost()
    }

    /// Which kind of database this is, for messages and `ilm status`.
    pub fn backend(&self) -> &'static str {
        if self.conn.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// Makes sure the secret key exists (creating the key file on a new database) and
    /// opens this database's secrets.
    pub fn secret_key_ready(&self) -> Result<()> {
        self.cipher().map(|_| ())
    }

    /// The cipher of this database's secret key, unlocked at first use. A process that
    /// kept the key from before another one rotated it unlocks the new key, rather than
    /// sealing with one the database no longer names.
    fn cipher(&self) -> Result<Arc<Cipher>> {
        let cached = self.cipher.borrow().clone();
        if let Some(cipher) = cached {
            if secret_key::recorded_key(&self.conn)?.as_deref() == Some(cipher.key_id()) {
                return Ok(cipher);
            }
        }
        let cipher = Arc::new(secret_key::unlock(&self.keys, &self.conn, &self.label)?);
        *self.cipher.borrow_mut() = Some(cipher.clone());
        Ok(cipher)
    }

    /// Today's date (UTC) as `YYYY-MM-DD`.
    pub fn today(&self) -> Result<String> {
        Ok(self
            .conn
            .query_row("SELECT ilm_today()", (), |r| r.get(0))?)
    }

    /// The current time (UTC, RFC 3339, whole seconds) as the store sees it.
    pub fn now_utc(&self) -> Result<String> {
        Ok(self.conn.query_row("SELECT ilm_now()", (), |r| r.get(0))?)
    }

    /// The underlying connection, for the store's own modules.
    fn conn(&self) -> &Conn {
        &self.conn
    }

    /// A write transaction that takes the write lock at once: with several connections,
    /// a deferred one could fail when its first read turns into a write.
    fn write(&self) -> Result<WriteTx<'_>> {
        Ok(WriteTx::begin(&self.conn)?)
    }
}

impl Store {
    /// This backend's migrations.
    fn migrations(&self) -> &'static [&'static str] {
        if self.conn.is_postgres() {
            postgres::MIGRATIONS
        } else {
            MIGRATIONS
        }
    }

    /// How many migrations ran.
    fn schema_version(&self) -> Result<usize> {
        if !self.conn.is_postgres() {
            return Ok(self
                .conn
                .query_row("PRAGMA user_version", (), |r| r.get(0))?);
        }
        let exists: bool = self.conn.query_row(
            "SELECT to_regclass('ilm_schema_version') IS NOT NULL",
            (),
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(0);
        }
        Ok(self.conn.query_row(
            "SELECT coalesce(max(version), 0) FROM ilm_schema_version",
            (),
            |r| r.get(0),
        )?)
    }

    fn set_schema_version(&self, number: usize) -> Result<()> {
        if self.conn.is_postgres() {
            self.conn.execute_batch(
                "CREATE TABLE IF NOT EXISTS ilm_schema_version (version bigint NOT NULL);
                 DELETE FROM ilm_schema_version;",
            )?;
            self.conn.execute(
                "INSERT INTO ilm_schema_version (version) VALUES (?1)",
                [number],
            )?;
        } else {
            self.conn
                .execute_batch(&format!("PRAGMA user_version = {number}"))?;
        }
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
        let migrations = self.migrations();
        let applied = self.schema_version()?;
        if applied > migrations.len() {
            anyhow::bail!(
                "the database schema is version {applied}, newer than this ilm ({}); upgrade ilm",
                migrations.len()
            );
        }
        let mut sealed = 0;
        for (index, sql) in migrations.iter().enumerate().skip(applied) {
            let number = index + 1;
            let tx = self.write()?;
            // Another process may have applied it while this one waited for the lock.
            if self.schema_version()? >= number {
                continue;
            }
            tx.execute_batch(sql)
                .with_context(|| format!("applying schema migration {number} to {}", self.label))?;
            sealed += self
                .after_migration(number)
                .with_context(|| format!("applying schema migration {number}"))?;
            self.set_schema_version(number)?;
            tx.commit()?;
        }
        if sealed > 0 {
            self.scrub();
        }
        Ok(())
    }

    /// What a migration needs beyond SQL; returns how many values it sealed.
    fn after_migration(&self, number: usize) -> Result<usize> {
        // PostgreSQL's schema starts where SQLite's ended: nothing was ever kept in clear.
        if self.conn.is_postgres() {
            return Ok(0);
        }
        Ok(match number {
            SEAL_SECRETS_MIGRATION => self.seal_clear_secrets()? + self.seal_clear_journal()?,
            _ => 0,
        })
    }

    /// Rewrites the whole file after secrets were sealed in place, so the clear text an
    /// older version left in free pages and in the write-ahead log is gone too.
    fn scrub(&self) {
        let result = self
            .conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
        match result {
            Ok(()) => tracing::info!(
                "sealed the secrets {} held in clear and rewrote the file",
                self.label
            ),
            Err(e) => tracing::warn!(
                "sealed the secrets {} held in clear, but rewriting the file failed ({e}); \
                 old copies may remain in its free pages until `sqlite3 {} VACUUM`",
                self.label,
                self.label
            ),
        }
    }
}
