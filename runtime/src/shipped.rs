//! The playbooks, mappers and transformers the runtime ships with, and how `ilm init` gives
//! a data directory its own copy: files the administrator has edited are never
//! overwritten.

use anyhow::{Context, Result};
use serde::Serialize;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/shipped_playbooks.rs"));

/// What writing the shipped files into a folder did, by path under it.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Copied {
    /// Files that were missing and are now written.
    pub written: Vec<String>,
    /// Files that are there already as shipped.
    pub unchanged: Vec<String>,
    /// Files that differ from the shipped ones (edited, or from another version): kept.
    pub kept: Vec<String>,
}

/// Writes every shipped file missing under `dir`; never touches one that exists.
pub fn copy_into(dir: &Path) -> Result<Copied> {
    let mut copied = Copied::default();
    for (relative, contents) in FILES {
        let path = dir.join(relative);
        match std::fs::read(&path) {
            Ok(existing) if existing == *contents => copied.unchanged.push((*relative).to_owned()),
            Ok(_) => copied.kept.push((*relative).to_owned()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("creating {}", parent.display()))?;
                }
                std::fs::write(&path, contents)
                    .with_context(|| format!("writing {}", path.display()))?;
                copied.written.push((*relative).to_owned());
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    Ok(copied)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_files_include_the_entry_playbook_its_config_and_the_maps() {
        let names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        for expected in [
            "config.toml",
            "iam-sync-user.rhai",
            "lib/iam.rhai",
            "mappers/workday-incoming.toml",
            // A plugin's own mapper, reached through the link in playbooks/mappers/.
            "mappers/servicenow.rhai",
            "transformers/ou-mapping.rhai",
        ] {
            assert!(
                names.contains(&expected),
                "{expected} is not shipped: {names:?}"
            );
        }
    }

    #[test]
    fn a_second_copy_keeps_edited_files_and_writes_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        let first = copy_into(dir.path()).unwrap();
        assert_eq!(first.written.len(), FILES.len());
        std::fs::write(dir.path().join("config.toml"), "# edited\n").unwrap();
        std::fs::remove_file(dir.path().join("lib/iam.rhai")).unwrap();
        let second = copy_into(dir.path()).unwrap();
        assert_eq!(second.kept, ["config.toml"]);
        assert_eq!(second.written, ["lib/iam.rhai"]);
        assert_eq!(second.unchanged.len(), FILES.len() - 2);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config.toml")).unwrap(),
            "# edited\n"
        );
    }
}
