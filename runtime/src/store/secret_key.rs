//! Where the secret key comes from, and that it is the right one. The key is never in the
//! database: it is `ILM_SECRET_KEY` (base64) when set, else the key file beside the
//! database (`<data-dir>/secret.key`), created at the first secret sealed, with mode 0600,
//! atomically and never over an existing file. The database records the key's id, so a
//! missing or wrong key stops with a message that names the key and the fix, instead of a
//! new key silently orphaning every sealed value.
//!
//! A rotation writes its new key to `secret.key.new` before the database commits to it,
//! then renames it over `secret.key`. Opening a database that names the pending key (the
//! rotation stopped between the two) finishes the rename, so no crash loses the key.

use super::db::{Conn, OptionalExtension};
use super::files::{tighten, FILE_MODE};
use super::seal::{Cipher, KEY_LEN};
use anyhow::{Context, Result};
use base64::Engine as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that gives the key instead of the key file.
pub const KEY_ENV: &str = "ILM_SECRET_KEY";
/// The key file's name, in the data directory.
pub const KEY_FILE: &str = "secret.key";
/// Beside the key file: the key a rotation is putting in its place.
const PENDING_SUFFIX: &str = ".new";

/// Where a store finds its key.
#[derive(Clone)]
pub enum KeySource {
    /// `ILM_SECRET_KEY`'s text; `file` is where the key file would be, for messages.
    Env { text: String, file: PathBuf },
    /// The key file, created at first use.
    File(PathBuf),
    /// A random key living as long as the store: in-memory databases.
    Ephemeral,
}

impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Why the key cannot be used; each message says which key and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the database {db} holds secrets sealed with the key {id}, but the key file {file} is missing: \
         restore it from a backup, or set {KEY_ENV} to that key (base64)"
    )]
    Missing {
        db: String,
        id: String,
        file: String,
    },
    #[error(
        "{source_} (key {got}) is not the key the database {db} was sealed with (key {want}): {fix}"
    )]
    Wrong {
        source_: String,
        got: String,
        db: String,
        want: String,
        fix: String,
    },
    #[error(
        "{source_} is not a secret key (expected {KEY_LEN} random bytes in base64, e.g. from \
         `head -c {KEY_LEN} /dev/urandom | base64`)"
    )]
    Malformed { source_: String },
}

impl KeySource {
    /// `ILM_SECRET_KEY` when set and not empty, else `secret.key` beside the database.
    pub fn for_database(db: &Path) -> Self {
        Self::in_dir(db.parent().unwrap_or(Path::new("")))
    }

    /// `ILM_SECRET_KEY` when set and not empty, else `secret.key` in `dir`.
    pub fn in_dir(dir: &Path) -> Self {
        let file = dir.join(KEY_FILE);
        match std::env::var(KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => KeySource::Env { text, file },
            _ => KeySource::File(file),
        }
    }

    /// The key file, or where it would be when the key comes from the environment.
    pub fn key_file(&self) -> Option<&Path> {
        match self {
            KeySource::Env { file, .. } | KeySource::File(file) => Some(file),
            KeySource::Ephemeral => None,
        }
    }

    /// The key's origin, as messages name it.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Env { .. } => KEY_ENV.to_owned(),
            KeySource::File(path) => format!("the key file {}", path.display()),
            KeySource::Ephemeral => "the in-memory key".to_owned(),
        }
    }

    /// The key; `None` when the key file is missing and `create` is false.
    fn read(&self, create: bool) -> Result<Option<[u8; KEY_LEN]>> {
        match self {
            KeySource::Env { text, .. } => decode(text, self).map(Some),
            KeySource::File(path) => {
                if !path.exists() {
                    if !create {
                        return Ok(None);
                    }
                    create_key_file(path)?;
                }
                tighten(path, FILE_MODE)?;
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the key file {}", path.display()))?;
                decode(&text, self).map(Some)
            }
            KeySource::Ephemeral => {
                let mut key = [0u8; KEY_LEN];
                getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("drawing a key: {e}"))?;
                Ok(Some(key))
            }
        }
    }

    fn fix(&self) -> String {
        match self {
            KeySource::Env { file, .. } => format!(
                "set {KEY_ENV} to the database's key, or unset it to use {}",
                file.display()
            ),
            KeySource::File(path) => format!(
                "restore the original {} from a backup, or set {KEY_ENV} to the database's key",
                path.display()
            ),
            KeySource::Ephemeral => "open the database with its key".to_owned(),
        }
    }
}

fn decode(text: &str, source: &KeySource) -> Result<[u8; KEY_LEN]> {
    let text = text.trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .ok()
        .filter(|b| b.len() == KEY_LEN)
        .ok_or_else(|| KeyError::Malformed {
            source_: source.describe(),
        })?;
    let mut key = [0u8; KEY_LEN];
    key.copy_from_slice(&bytes);
    Ok(key)
}

/// Writes a new random key to `path` unless a key is already there. The key is written
/// whole to a private temporary file and then hard-linked into place, which fails if the
/// name exists: two processes starting at once end up sharing the first one's key, and no
/// reader ever sees a half-written file.
fn create_key_file(path: &Path) -> Result<()> {
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("drawing a key: {e}"))?;
    let text = format!(
        "{}\n",
        base64::engine::general_purpose::STANDARD.encode(key)
    );
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("{e}"))?;
    let temp = dir.join(format!(".{KEY_FILE}.{}", hex::encode(tag)));
    write_private(&temp, text.as_bytes())
        .with_context(|| format!("writing a new key file in {}", dir.display()))?;
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(()),
        // A file system without hard links: exclusive creation still never overwrites.
        Err(_) => match write_private(path, text.as_bytes()) {
            Ok(()) => {}
            Err(_) if path.exists() => return Ok(()),
            Err(e) => {
                return Err(e).with_context(|| format!("creating the key file {}", path.display()))
            }
        },
    }
    // The key must outlive a crash right after the first secret was sealed with it.
    sync_dir(dir);
    tracing::info!(
        "created the secret key {}; back it up: without it the stored secrets cannot be read",
        path.display()
    );
    Ok(())
}

/// Where a rotation keeps the new key until it replaces `key_file`.
pub(super) fn pending_path(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(PENDING_SUFFIX);
    PathBuf::from(name)
}

/// Writes `key` (base64) whole to the pending key file beside `key_file`, replacing a stale
/// one, and makes it durable before the database is told about it.
pub(super) fn write_pending(key_file: &Path, key: &str) -> Result<PathBuf> {
    let pending = pending_path(key_file);
    let dir = key_file.parent().unwrap_or(Path::new("."));
    let mut tag = [0u8; 8];
    getrandom::fill(&mut tag).map_err(|e| anyhow::anyhow!("{e}"))?;
    let temp = dir.join(format!(".{KEY_FILE}.{}", hex::encode(tag)));
    write_private(&temp, format!("{key}\n").as_bytes())
        .with_context(|| format!("writing the new key in {}", dir.display()))?;
    std::fs::rename(&temp, &pending)
        .with_context(|| format!("writing the new key to {}", pending.display()))?;
    sync_dir(dir);
    Ok(pending)
}

/// Puts the pending key in place of `key_file` (one rename: a reader sees the old key or
/// the new one, never neither).
pub(super) fn install_pending(key_file: &Path) -> Result<()> {
    let pending = pending_path(key_file);
    std::fs::rename(&pending, key_file).with_context(|| {
        format!(
            "replacing {} with the new key {}: do it by hand (`mv {} {}`); the database already uses the new key",
            key_file.display(),
            pending.display(),
            pending.display(),
            key_file.display()
        )
    })?;
    sync_dir(key_file.parent().unwrap_or(Path::new(".")));
    Ok(())
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The cipher for the database on `conn`: the key from `source`, checked against (or, at
/// first use, recorded as) the key the database was sealed with.
pub(super) fn unlock(source: &KeySource, conn: &Conn, db: &str) -> Result<Cipher> {
    let recorded = recorded_key(conn)?;
    if let Some(cipher) = finish_rotation(source, recorded.as_deref())? {
        return Ok(cipher);
    }
    let key = match source.read(recorded.is_none())? {
        Some(key) => key,
        None => {
            let file = match source {
                KeySource::File(path) => path.display().to_string(),
                other => other.describe(),
            };
            return Err(KeyError::Missing {
                db: db.to_owned(),
                id: recorded.unwrap_or_default(),
                file,
            }
            .into());
        }
    };
    let cipher = Cipher::new(&key)?;
    if recorded.is_none() {
        conn.execute(
            "INSERT INTO secret_key (id, key_id) VALUES (1, ?1) ON CONFLICT DO NOTHING",
            [cipher.key_id()],
        )
        .context("recording the secret key's id")?;
    }
    // Read back: another process may have recorded its key first.
    let want = recorded_key(conn)?.unwrap_or_default();
    if want != cipher.key_id() {
        return Err(KeyError::Wrong {
            source_: source.describe(),
            got: cipher.key_id().to_owned(),
            db: db.to_owned(),
            want,
            fix: source.fix(),
        }
        .into());
    }
    Ok(cipher)
}

/// The cipher of a rotation's pending key when the database already names it: the
/// rotation committed and stopped before its key replaced the old one. A key file is then
/// replaced now. A key from the environment must be changed by the operator; once it is,
/// the pending copy is deleted.
fn finish_rotation(source: &KeySource, recorded: Option<&str>) -> Result<Option<Cipher>> {
    let Some(file) = source.key_file() else {
        return Ok(None);
    };
    let pending = pending_path(file);
    let Ok(text) = std::fs::read_to_string(&pending) else {
        return Ok(None);
    };
    let Ok(key) = decode(&text, source) else {
        return Ok(None);
    };
    let cipher = Cipher::new(&key)?;
    if recorded != Some(cipher.key_id()) {
        // A rotation that never committed: the database still uses the current key.
        return Ok(None);
    }
    match source {
        KeySource::File(_) => {
            install_pending(file)?;
            tracing::warn!(
                "finished an interrupted secret key rotation: {} is the new key",
                file.display()
            );
            Ok(Some(cipher))
        }
        // The operator stored the new key: the copy on disk has served its purpose.
        KeySource::Env { text: given, .. } if decode(given, source).ok() == Some(key) => {
            std::fs::remove_file(&pending)
                .with_context(|| format!("removing {}", pending.display()))?;
            Ok(None)
        }
        _ => anyhow::bail!(
            "{KEY_ENV} is not the key the database was re-sealed with by `ilm secret-key rotate`; \
             the new key is in {}: set {KEY_ENV} to its content (the file is deleted at the next start)",
            pending.display()
        ),
    }
}

pub(super) fn recorded_key(conn: &Conn) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT key_id FROM secret_key WHERE id = 1", (), |r| {
            r.get(0)
        })
        .optional()?)
}
