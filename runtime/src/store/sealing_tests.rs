//! Secrets at rest: what reaches the database file, what a missing or wrong key does, and
//! the upgrade of a database that kept its secrets in clear.

use super::{KeyError, KeySource, Secret, Store, MIGRATIONS, REDACTED};
use crate::store::{Instance, NewIncident};
use rusqlite::params;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TOKEN: &str = "tok-3f9a1c-never-in-the-file";

struct Db {
    dir: tempfile::TempDir,
}

impl Db {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self) -> PathBuf {
        self.dir.path().join("ilm.db")
    }
    fn key_file(&self) -> PathBuf {
        self.dir.path().join("secret.key")
    }
    fn open(&self) -> anyhow::Result<Store> {
        Store::open_with_key(self.path(), KeySource::File(self.key_file()))
    }
    /// The database and its side files, as bytes.
    fn bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for suffix in ["", "-wal", "-shm"] {
            let path = format!("{}{suffix}", self.path().display());
            all.extend(std::fs::read(path).unwrap_or_default());
        }
        all
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn instance(name: &str, token: &str) -> Instance {
    let mut secrets = BTreeMap::new();
    secrets.insert("token".to_owned(), Secret::text(token));
    Instance {
        name: name.into(),
        plugin: "github".into(),
        params: Map::new(),
        secrets,
        allow_hosts: vec![],
        limits: Map::new(),
        enabled: true,
    }
}

fn token_of(store: &Store, name: &str) -> anyhow::Result<Option<Secret>> {
    Ok(store
        .instance(name)?
        .and_then(|i| i.secrets.get("token").cloned()))
}

#[test]
fn an_instance_secret_is_sealed_in_the_file_and_opens_with_the_key() {
    let db = Db::new();
    let store = db.open().unwrap();
    store.add_instance(&instance("gh", TOKEN)).unwrap();
    drop(store);
    assert!(!contains(&db.bytes(), TOKEN), "the token is in the file");
    let store = db.open().unwrap();
    assert_eq!(token_of(&store, "gh").unwrap(), Some(Secret::text(TOKEN)));
}

#[cfg(unix)]
#[test]
fn the_key_file_is_made_at_the_first_secret_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let db = Db::new();
    let store = db.open().unwrap();
    assert!(!db.key_file().exists(), "made before any secret needed it");
    store.add_instance(&instance("gh", TOKEN)).unwrap();
    let mode = std::fs::metadata(db.key_file())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let db_mode = std::fs::metadata(db.path()).unwrap().permissions().mode();
    assert_eq!(db_mode & 0o777, 0o600);
}

#[test]
fn references_are_stored_as_references() {
    let db = Db::new();
    let store = db.open().unwrap();
    let mut gh = instance("gh", TOKEN);
    gh.secrets
        .insert("token".into(), Secret::Env("GITHUB_TOKEN".into()));
    store.add_instance(&gh).unwrap();
    assert_eq!(
        token_of(&store, "gh").unwrap(),
        Some(Secret::Env("GITHUB_TOKEN".into()))
    );
}

#[test]
fn a_missing_key_file_is_an_error_naming_the_file_and_the_fix() {
    let db = Db::new();
    db.open()
        .unwrap()
        .add_instance(&instance("gh", TOKEN))
        .unwrap();
    std::fs::remove_file(db.key_file()).unwrap();
    let err = token_of(&db.open().unwrap(), "gh").unwrap_err();
    assert!(
        matches!(
            err.root_cause().downcast_ref(),
            Some(KeyError::Missing { .. })
        ),
        "{err:#}"
    );
    let text = format!("{err:#}");
    assert!(
        text.contains(&db.key_file().display().to_string()),
        "{text}"
    );
    assert!(text.contains("ILM_SECRET_KEY"), "{text}");
    assert!(!db.key_file().exists(), "a new key replaced the lost one");
}

#[test]
fn a_wrong_key_is_an_error_naming_where_it_came_from() {
    let db = Db::new();
    db.open()
        .unwrap()
        .add_instance(&instance("gh", TOKEN))
        .unwrap();
    let other = KeySource::Env {
        text: "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=".into(),
        file: db.key_file(),
    };
    let store = Store::open_with_key(db.path(), other).unwrap();
    let err = token_of(&store, "gh").unwrap_err();
    assert!(
        matches!(
            err.root_cause().downcast_ref(),
            Some(KeyError::Wrong { .. })
        ),
        "{err:#}"
    );
    assert!(format!("{err:#}").contains("ILM_SECRET_KEY"), "{err:#}");
    // Nor may a new secret be sealed with it.
    assert!(store.add_instance(&instance("gh2", "x")).is_err());
}

#[test]
fn a_secret_copied_to_another_instance_does_not_open() {
    let db = Db::new();
    let store = db.open().unwrap();
    store.add_instance(&instance("a", TOKEN)).unwrap();
    store.add_instance(&instance("b", "b-token")).unwrap();
    store
        .conn()
        .execute(
            "UPDATE instances SET secrets = (SELECT secrets FROM instances WHERE name = 'a') WHERE name = 'b'",
            (),
        )
        .unwrap();
    let err = token_of(&store, "b").unwrap_err();
    assert!(
        format!("{err:#}").contains("copied from another place"),
        "{err:#}"
    );
}

fn incident(store: &Store) -> i64 {
    let Value::Object(fields) = json!({"email": "a@x.test"}) else {
        unreachable!()
    };
    store
        .create_incident(&NewIncident {
            kind: "T",
            name: "a@x.test",
            fields: &fields,
        })
        .unwrap()
        .id
}

#[test]
fn a_result_finished_otherwise_than_its_entry_was_begun_is_refused_and_not_written() {
    let db = Db::new();
    let store = db.open().unwrap();
    let id = incident(&store);
    store
        .journal_begin(id, 1, 0, "transform", &json!(REDACTED), true)
        .unwrap();
    let refused = store
        .journal_finish(id, 1, 0, &json!({"NEW_PASSWORD": TOKEN}), false)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("journal entry 0 of incident") && refused.contains("begun sensitive"),
        "{refused}"
    );
    assert!(!contains(&db.bytes(), TOKEN), "the password is in the file");
    assert_eq!(store.journal(id, 1).unwrap()[0].result, None);

    let missing = store
        .journal_finish(id, 1, 1, &json!("2025-01-01"), false)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("journal entry 1 of incident"), "{missing}");
    assert!(missing.contains("is missing"), "{missing}");
}

#[test]
fn a_sensitive_result_is_sealed_and_opens_only_for_replay() {
    let db = Db::new();
    let store = db.open().unwrap();
    let id = incident(&store);
    let shown = json!({"name": "generate-password", "input": REDACTED});
    store
        .journal_begin(id, 1, 0, "transform", &shown, true)
        .unwrap();
    store
        .journal_finish(id, 1, 0, &json!({"NEW_PASSWORD": TOKEN}), true)
        .unwrap();
    store
        .journal_begin(id, 1, 1, "today", &Value::Null, false)
        .unwrap();
    store
        .journal_finish(id, 1, 1, &json!("2025-01-01"), false)
        .unwrap();

    assert!(!contains(&db.bytes(), TOKEN), "the password is in the file");
    let shown_journal = store.journal(id, 1).unwrap();
    assert_eq!(shown_journal[0].result, Some(json!(REDACTED)));
    assert_eq!(shown_journal[0].args, shown);
    assert_eq!(shown_journal[1].result, Some(json!("2025-01-01")));
    let replay = store.journal_for_replay(id, 1).unwrap();
    assert_eq!(replay[0].result, Some(json!({"NEW_PASSWORD": TOKEN})));

    store
        .set_incident_status(id, crate::store::IncidentStatus::Closed)
        .unwrap();
    let replay = store.journal_for_replay(id, 1).unwrap();
    assert_eq!(replay[0].result, Some(json!(REDACTED)));
    assert_eq!(replay[1].result, Some(json!("2025-01-01")));
}

/// A database as the version before sealing left it: schema 6, a secret and an unclosed
/// incident's generated password in clear.
fn legacy_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    for (index, sql) in MIGRATIONS.iter().take(6).enumerate() {
        conn.execute_batch(sql).unwrap();
        conn.pragma_update(None, "user_version", index + 1).unwrap();
    }
    conn.execute(
        "INSERT INTO instances (name, plugin, params, secrets, allow_hosts, limits) VALUES ('gh', 'github', '{}', ?1, '[]', '{}')",
        [json!({"token": TOKEN, "port": 8443}).to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO instances (name, plugin, params, secrets, allow_hosts, limits) VALUES ('mem', 'memory-app', '{}', '{}', '[]', '{}')",
        [],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO incidents (type, name, fields, status) VALUES ('T', 'a@x.test', '{}', 'active')",
        [],
    )
    .unwrap();
    let password = json!({"NEW_PASSWORD": format!("{TOKEN}-pw")});
    conn.execute(
        "INSERT INTO journal (incident, attempt, seq, call, args, result, sensitive) VALUES (1, 1, 0, 'transform', ?1, ?2, 1)",
        params![json!({"name": "generate-password", "input": {}}).to_string(), password.to_string()],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO journal (incident, attempt, seq, call, args, sensitive) VALUES (1, 1, 1, 'mail', ?1, 1)",
        [json!({"to": "it@x.test", "body": format!("Password: {TOKEN}-pw")}).to_string()],
    )
    .unwrap();
}

#[test]
fn a_database_with_secrets_in_clear_is_sealed_on_first_open_without_loss() {
    let db = Db::new();
    legacy_database(&db.path());
    assert!(
        contains(&db.bytes(), TOKEN),
        "the fixture holds the token in clear"
    );

    let store = db.open().unwrap();
    assert!(db.key_file().exists());
    assert!(
        !contains(&db.bytes(), TOKEN),
        "clear text survived the upgrade"
    );
    let gh = store.instance("gh").unwrap().unwrap();
    assert_eq!(gh.secrets.get("token"), Some(&Secret::text(TOKEN)));
    assert_eq!(gh.secrets.get("port"), Some(&Secret::Value(json!(8443))));
    assert!(store.instance("mem").unwrap().unwrap().secrets.is_empty());
    let replay = store.journal_for_replay(1, 1).unwrap();
    assert_eq!(
        replay[0].result,
        Some(json!({"NEW_PASSWORD": format!("{TOKEN}-pw")}))
    );
    assert_eq!(replay[1].result, None, "an in-flight call stays in flight");
    assert_eq!(replay[1].args, json!(REDACTED));
    drop(store);
    // Opening again changes nothing.
    let store = db.open().unwrap();
    assert_eq!(
        store.instance("gh").unwrap().unwrap().secrets.get("token"),
        Some(&Secret::text(TOKEN))
    );
}

#[test]
fn instances_without_secrets_need_no_key() {
    let db = Db::new();
    let store = db.open().unwrap();
    let mut plain = instance("plain", "");
    plain.secrets.clear();
    store.add_instance(&plain).unwrap();
    assert!(store.instance("plain").unwrap().is_some());
    assert!(!db.key_file().exists());
}

/// A database with a sealed instance secret and a sealed journal result: the database,
/// a store on it, the incident and the key file's text.
fn with_sealed_values() -> (Db, Store, i64, String) {
    let db = Db::new();
    let store = db.open().unwrap();
    store.add_instance(&instance("gh", TOKEN)).unwrap();
    let id = incident(&store);
    store
        .journal_begin(id, 1, 0, "transform", &json!(REDACTED), true)
        .unwrap();
    store
        .journal_finish(id, 1, 0, &json!({"NEW_PASSWORD": TOKEN}), true)
        .unwrap();
    let key = std::fs::read_to_string(db.key_file()).unwrap();
    (db, store, id, key)
}

fn assert_opens(store: &Store, id: i64) {
    assert_eq!(token_of(store, "gh").unwrap(), Some(Secret::text(TOKEN)));
    let replay = store.journal_for_replay(id, 1).unwrap();
    assert_eq!(replay[0].result, Some(json!({"NEW_PASSWORD": TOKEN})));
}

fn env_key(db: &Db, text: &str) -> KeySource {
    KeySource::Env {
        text: text.to_owned(),
        file: db.key_file(),
    }
}

#[test]
fn a_rotated_key_opens_every_sealed_value_and_the_old_key_none() {
    let (db, store, id, old_key) = with_sealed_values();
    // Another process, holding the old key, keeps working after the rotation.
    let running = db.open().unwrap();
    assert_opens(&running, id);

    let rotation = store.rotate_secret_key().unwrap();
    assert_eq!((rotation.secrets, rotation.journal_results), (1, 1));
    assert_ne!(rotation.old_key_id, rotation.new_key_id);
    assert_eq!(rotation.key_file.as_deref(), Some(db.key_file().as_path()));
    assert!(rotation.new_key.is_none(), "a key file's key is not shown");
    let new_key = std::fs::read_to_string(db.key_file()).unwrap();
    assert_ne!(new_key, old_key);
    assert!(!super::secret_key::pending_path(&db.key_file()).exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(db.key_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_opens(&store, id);
    assert_opens(&db.open().unwrap(), id);
    assert_opens(&running, id);
    assert!(!contains(&db.bytes(), TOKEN), "a value is in clear");

    let with_old = Store::open_with_key(db.path(), env_key(&db, &old_key)).unwrap();
    let err = token_of(&with_old, "gh").unwrap_err();
    assert!(
        matches!(err.downcast_ref::<KeyError>(), Some(KeyError::Wrong { .. })),
        "{err:#}"
    );
    let audit = store.audit_log(10).unwrap();
    assert_eq!(audit[0].action, "secret-key.rotate");
    assert_eq!(audit[0].after["key_id"], json!(rotation.new_key_id));
}

#[test]
fn a_crash_between_the_commit_and_the_key_file_loses_nothing() {
    let (db, store, id, old_key) = with_sealed_values();
    // The database commits to the new key; the process dies before the key file changes.
    let committed = store.reseal_under_new_key().unwrap();
    drop(committed);
    drop(store);
    assert_eq!(std::fs::read_to_string(db.key_file()).unwrap(), old_key);
    let pending = super::secret_key::pending_path(&db.key_file());
    let new_key = std::fs::read_to_string(&pending).unwrap();

    // The next open finishes the rotation.
    let store = db.open().unwrap();
    assert_opens(&store, id);
    assert_eq!(std::fs::read_to_string(db.key_file()).unwrap(), new_key);
    assert!(!pending.exists());
}

#[test]
fn a_rotation_that_does_not_commit_leaves_the_old_key_in_use() {
    let (db, store, id, old_key) = with_sealed_values();
    // A pending key the database never named (the rotation died before its commit).
    super::secret_key::write_pending(
        &db.key_file(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    )
    .unwrap();
    drop(store);
    let store = db.open().unwrap();
    assert_opens(&store, id);
    assert_eq!(std::fs::read_to_string(db.key_file()).unwrap(), old_key);
}

#[test]
fn a_key_from_the_environment_is_shown_and_kept_on_disk_until_used() {
    let (db, file_keyed, id, old_key) = with_sealed_values();
    drop(file_keyed);
    let store = Store::open_with_key(db.path(), env_key(&db, &old_key)).unwrap();

    let rotation = store.rotate_secret_key().unwrap();
    let new_key = rotation.new_key.clone().expect("the new key is shown");
    let copy = rotation
        .new_key_copy
        .clone()
        .expect("a copy until it is used");
    assert_eq!(std::fs::read_to_string(&copy).unwrap().trim(), new_key);
    assert_opens(&store, id);

    // Still the old key in the environment: refused, naming where the new key is.
    let stale = Store::open_with_key(db.path(), env_key(&db, &old_key)).unwrap();
    let err = format!("{:#}", token_of(&stale, "gh").unwrap_err());
    assert!(err.contains(&copy.display().to_string()), "{err}");
    // The new key in the environment: opens, and the copy is gone.
    let updated = Store::open_with_key(db.path(), env_key(&db, &new_key)).unwrap();
    assert_opens(&updated, id);
    assert!(!copy.exists());
}
