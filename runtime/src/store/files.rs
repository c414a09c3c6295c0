//! The runtime's files are its owner's alone: the data directory is 0700; the database, its
//! `-wal` and `-shm` and the secret key are 0600. New ones are created with these modes
//! (SQLite gives `-wal` and `-shm` the mode of the database file), and one found looser is
//! tightened on open, with a warning, so an installation made before this rule heals itself.

use anyhow::{Context, Result};
use std::path::Path;

/// Mode of the data directory.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the database, its side files and the key file.
pub const FILE_MODE: u32 = 0o600;

/// Creates the data directory (and missing parents) owner-only, or tightens it. An empty
/// one is tightened quietly: nothing in it was exposed.
pub fn private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
        builder
            .create(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let empty = std::fs::read_dir(dir)
        .with_context(|| format!("reading the data directory {}", dir.display()))?
        .next()
        .is_none();
    restrict(dir, DIR_MODE, !empty)
}

/// Creates an empty database file owner-only before SQLite opens it (SQLite would create
/// it 0644), and tightens an existing one and its `-wal` and `-shm`.
pub(super) fn private_database(db: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    match options.open(db) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e).with_context(|| format!("creating the database {}", db.display())),
    }
    tighten(db, FILE_MODE)?;
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        // A side file comes and goes: another process's last connection removes it when
        // it closes, at any moment between the calls here.
        match tighten(Path::new(&side), FILE_MODE) {
            Err(e)
                if e.downcast_ref::<std::io::Error>().map(std::io::Error::kind)
                    == Some(std::io::ErrorKind::NotFound) => {}
            other => other?,
        }
    }
    Ok(())
}

/// Removes every permission beyond `mode` from `path`, warning when there were some.
pub(super) fn tighten(path: &Path, mode: u32) -> Result<()> {
    restrict(path, mode, true)
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32, warn: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let current = std::fs::metadata(path)
        .with_context(|| format!("reading the permissions of {}", path.display()))?
        .permissions()
        .mode()
        & 0o777;
    if current & !mode == 0 {
        return Ok(());
    }
    if warn {
        tracing::warn!(
            "{} was {current:03o}, open to other users; setting it to {:03o}",
            path.display(),
            current & mode
        );
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(current & mode)).with_context(
        || {
            format!(
                "restricting {} to {mode:03o} (chmod it by hand)",
                path.display()
            )
        },
    )
}

#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32, _warn: bool) -> Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_data_directory_and_database_are_owner_only() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        private_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join("ilm.db");
        private_database(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn looser_files_are_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("ilm.db");
        let wal = tmp.path().join("ilm.db-wal");
        for path in [&db, &wal] {
            std::fs::write(path, b"").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o664)).unwrap();
        }
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(tmp.path()).unwrap();
        private_database(&db).unwrap();
        assert_eq!(mode(tmp.path()), 0o700);
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&wal), 0o600);
    }
}
