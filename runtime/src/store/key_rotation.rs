//! Replacing the secret key: every sealed value (instance secrets, sealed journal results)
//! is opened with the old key and sealed with a new one in one transaction, which also
//! records the new key's id and audits the rotation. The new key is written beside the key
//! file before that commit and renamed over it after, so a crash in between leaves the
//! database and a key that opens it (see [`super::secret_key`]).

use super::audit::{self, Actor};
use super::seal::{Cipher, KEY_LEN};
use super::secret_key::{self, KeySource};
use super::Store;
use anyhow::{Context, Result};
use base64::Engine as _;
use serde::Serialize;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;

/// What a rotation did.
#[derive(Debug, Clone, Serialize)]
pub struct Rotation {
    pub old_key_id: String,
    pub new_key_id: String,
    /// Instance secrets re-sealed.
    pub secrets: usize,
    /// Sensitive journal results re-sealed.
    pub journal_results: usize,
    /// The key file now holding the new key, when the key lives in a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// The new key (base64), when the key comes from `ILM_SECRET_KEY`: shown once, for the
    /// operator to store; the database no longer opens with the old one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_key: Option<String>,
    /// Where a copy of that new key waits until a process opens the database with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_key_copy: Option<PathBuf>,
}

/// A rotation committed to the database whose new key is not yet where the next process
/// looks for it. [`Committed::finish`] puts it there; a crash before that is recovered by
/// the next open.
pub(super) struct Committed<'a> {
    store: &'a Store,
    rotation: Rotation,
}

impl Store {
    /// Replaces the secret key (see the module's documentation). With the key in
    /// `ILM_SECRET_KEY`, the new key is in the result, and the caller must show it.
    pub fn rotate_secret_key(&self) -> Result<Rotation> {
        self.reseal_under_new_key()?.finish()
    }

    /// Every step of a rotation up to and including the database's commit.
    pub(super) fn reseal_under_new_key(&self) -> Result<Committed<'_>> {
        let old = self.cipher()?;
        let mut key = [0u8; KEY_LEN];
        getrandom::fill(&mut key).map_err(|e| anyhow::anyhow!("drawing a key: {e}"))?;
        let new = Arc::new(Cipher::new(&key)?);
        let text = base64::engine::general_purpose::STANDARD.encode(key);
        let pending = match self.keys.key_file() {
            Some(file) => Some(secret_key::write_pending(file, &text)?),
            None => None,
        };
        let resealed = self.in_transaction(|store| {
            let secrets = store.reseal_secrets(&old, &new)?;
            let journal_results = store.reseal_journal(&old, &new)?;
            store
                .conn()
                .execute(
                    "INSERT INTO secret_key (id, key_id) VALUES (1, ?1)
                     ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id",
                    [new.key_id()],
                )
                .context("recording the new key's id")?;
            audit::record(
                store.conn(),
                &Actor::Cli,
                "secret-key.rotate",
                "secret key",
                json!({ "key_id": old.key_id() }),
                json!({ "key_id": new.key_id(), "secrets": secrets, "journal_results": journal_results }),
            )?;
            Ok((secrets, journal_results))
        });
        let (secrets, journal_results) = match resealed {
            Ok(counts) => counts,
            Err(err) => {
                if let Some(pending) = &pending {
                    let _ = std::fs::remove_file(pending);
                }
                return Err(err.context("rotating the secret key; nothing was changed"));
            }
        };
        *self.cipher.borrow_mut() = Some(new.clone());
        let rotation = Rotation {
            old_key_id: old.key_id().to_owned(),
            new_key_id: new.key_id().to_owned(),
            secrets,
            journal_results,
            key_file: match &self.keys {
                KeySource::File(file) => Some(file.clone()),
                _ => None,
            },
            new_key: matches!(self.keys, KeySource::Env { .. }).then_some(text),
            new_key_copy: match &self.keys {
                KeySource::Env { .. } => pending,
                _ => None,
            },
        };
        Ok(Committed {
            store: self,
            rotation,
        })
    }
}

impl Committed<'_> {
    /// Puts the new key where the next process looks: over the key file. A key from the
    /// environment stays in the pending file until a process opens the database with it
    /// from `ILM_SECRET_KEY`, so a crash before the operator stored it loses nothing.
    pub(super) fn finish(self) -> Result<Rotation> {
        if let KeySource::File(file) = &self.store.keys {
            secret_key::install_pending(file)?;
        }
        Ok(self.rotation)
    }
}
