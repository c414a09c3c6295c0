//! API keys, the way XSOAR has them: created for a user with a role, an optional expiry and
//! a comment; shown once; revocable. Only a SHA-256 hash of a key is kept. A key is 256
//! random bits, so a fast hash suffices (stretching only helps low-entropy passwords); its
//! first characters find the row, and the hash comparison runs in constant time.

use super::audit::{self, Actor};
use super::db::{params, OptionalExtension};
use super::people::{self, Permission, Role};
use super::{Refusal, Store};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes in a key; the key is their upper-case hex.
const KEY_BYTES: usize = 32;
/// How many leading characters of a key are stored in clear to find its row (64 bits: an
/// accidental clash is negligible, and they say nothing about the remaining 192 bits).
const LOOKUP_LEN: usize = 16;

/// What `create_api_key` needs.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub user: &'a str,
    pub role: &'a str,
    /// Unix time (seconds) after which the key stops working; `None` for never.
    pub expires_at: Option<i64>,
    pub comment: &'a str,
}

/// A key as listed: everything but the secret.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApiKeyRecord {
    /// The key id (what XSOAR 8 clients send as `x-xdr-auth-id`).
    pub id: i64,
    pub user: String,
    pub role: String,
    pub comment: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
}

/// A new key: the secret, shown once, and its record.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub key: String,
    pub record: ApiKeyRecord,
}

/// The outcome of checking a presented key.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyCheck {
    Valid(KeyHolder),
    /// Malformed, never issued, or the secret does not match.
    Unknown,
    Revoked,
    Expired,
    /// The key's user is disabled.
    OwnerDisabled,
}

/// Who a valid key acts for, and with which role.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyHolder {
    pub key_id: i64,
    pub user: String,
    pub role: Role,
    /// What the owner's current roles grant together, as stored.
    pub owner_permissions: Vec<String>,
}

impl KeyHolder {
    /// Whether the key may use `permission`: its role must grant it and its owner must
    /// still hold it, so a key loses what its owner lost.
    pub fn holds(&self, permission: Permission) -> bool {
        self.role.grants(permission) && self.owner_holds(permission)
    }

    /// Whether the owner's current roles grant `permission`.
    pub fn owner_holds(&self, permission: Permission) -> bool {
        self.owner_permissions
            .iter()
            .any(|p| p == permission.as_str())
    }

    /// Every permission the key may use.
    pub fn permissions(&self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.holds(*p))
            .collect()
    }
}

const RECORD_SQL: &str = "SELECT id, user_id, role_id, comment, created_at, expires_at, revoked_at,
        CASE WHEN revoked_at IS NOT NULL THEN 'revoked'
             WHEN expires_at <= ilm_now() THEN 'expired'
             ELSE 'active' END
     FROM api_keys";

impl Store {
    /// Issues a key for an enabled user with an existing role.
    pub fn create_api_key(&self, new: &NewApiKey<'_>, actor: &Actor) -> Result<CreatedKey> {
        if new.comment.len() > 1024 {
            return Err(Refusal::Invalid("the comment is longer than 1024 bytes".into()).into());
        }
        let tx = self.write()?;
        let user = people::load_user(&tx, new.user)?.ok_or_else(|| people::no_user(new.user))?;
        if user.disabled {
            return Err(Refusal::Invalid(format!("user {:?} is disabled", new.user)).into());
        }
        if tx
            .query_row("SELECT 1 FROM roles WHERE id = ?1", [new.role], |_| Ok(()))
            .optional()?
            .is_none()
        {
            return Err(people::no_role(new.role));
        }
        let key = generate_key()?;
        let id = tx
            .query_row(
                "INSERT INTO api_keys (lookup, hash, user_id, role_id, comment, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                params![
                    &key[..LOOKUP_LEN],
                    hash(&key).as_slice(),
                    new.user,
                    new.role,
                    new.comment,
                    new.expires_at.map(epoch_text).transpose()?
                ],
                |r| r.get::<i64>(0),
            )
            .context("saving the API key")?;
        let record = tx.query_row(&format!("{RECORD_SQL} WHERE id = ?1"), [id], record_row)?;
        audit::record(
            &tx,
            actor,
            "apikey.create",
            &id.to_string(),
            json!(null),
            json!(record),
        )?;
        tx.commit()?;
        Ok(CreatedKey { key, record })
    }

    /// Every key ever issued, without secrets, by id.
    pub fn api_keys(&self) -> Result<Vec<ApiKeyRecord>> {
        let mut stmt = self.conn().prepare(&format!("{RECORD_SQL} ORDER BY id"))?;
        let rows = stmt.query_map((), record_row)?;
        Ok(rows.collect::<super::db::DbResult<_>>()?)
    }

    /// Revokes a key for good.
    pub fn revoke_api_key(&self, id: i64, actor: &Actor) -> Result<ApiKeyRecord> {
        let tx = self.write()?;
        let before = tx
            .query_row(&format!("{RECORD_SQL} WHERE id = ?1"), [id], record_row)
            .optional()?
            .ok_or_else(|| Refusal::NotFound(format!("no API key {id}")))?;
        if before.revoked_at.is_some() {
            return Err(Refusal::Conflict(format!("API key {id} is already revoked")).into());
        }
        tx.execute(
            "UPDATE api_keys SET revoked_at = ilm_now() WHERE id = ?1",
            [id],
        )?;
        let after = tx.query_row(&format!("{RECORD_SQL} WHERE id = ?1"), [id], record_row)?;
        audit::record(
            &tx,
            actor,
            "apikey.revoke",
            &id.to_string(),
            json!(before.state),
            json!(after.state),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// Checks a key as presented in a request.
    pub fn authenticate(&self, presented: &str) -> Result<KeyCheck> {
        if presented.len() != 2 * KEY_BYTES || !presented.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(KeyCheck::Unknown);
        }
        let row = self
            .conn()
            .prepare(
                "SELECT k.id, k.hash, k.user_id, k.revoked_at IS NOT NULL,
                        k.expires_at <= ilm_now(), u.disabled,
                        r.id, r.permissions, r.builtin, r.version
                 FROM api_keys k JOIN users u ON u.id = k.user_id JOIN roles r ON r.id = k.role_id
                 WHERE k.lookup = ?1",
            )?
            .query_row([&presented[..LOOKUP_LEN]], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<Vec<u8>>(1)?,
                    r.get::<String>(2)?,
                    r.get::<bool>(3)?,
                    r.get::<Option<bool>>(4)?.unwrap_or(false),
                    r.get::<bool>(5)?,
                    people::role_row_at(r, 6)?,
                ))
            })
            .optional()?;
        let Some((key_id, stored, user, revoked, expired, disabled, role)) = row else {
            return Ok(KeyCheck::Unknown);
        };
        if !bool::from(hash(presented).as_slice().ct_eq(&stored)) {
            return Ok(KeyCheck::Unknown);
        }
        Ok(if revoked {
            KeyCheck::Revoked
        } else if expired {
            KeyCheck::Expired
        } else if disabled {
            KeyCheck::OwnerDisabled
        } else {
            KeyCheck::Valid(KeyHolder {
                key_id,
                owner_permissions: self.permissions_of(&user)?,
                user,
                role: role.into_role()?,
            })
        })
    }
}

impl Store {
    /// Every permission `user`'s roles grant, each once.
    pub(super) fn permissions_of(&self, user: &str) -> Result<Vec<String>> {
        let mut stmt = self.conn().prepare(
            "SELECT r.id, r.permissions FROM user_roles ur JOIN roles r ON r.id = ur.role_id
             WHERE ur.user_id = ?1",
        )?;
        let rows = stmt.query_map([user], |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))?;
        let mut all: Vec<String> = Vec::new();
        for row in rows {
            let (role, json) = row?;
            let permissions: Vec<String> = serde_json::from_str(&json)
                .with_context(|| format!("the permissions of role {role:?}"))?;
            for permission in permissions {
                if !all.contains(&permission) {
                    all.push(permission);
                }
            }
        }
        Ok(all)
    }
}

fn generate_key() -> Result<String> {
    let mut bytes = [0u8; KEY_BYTES];
    getrandom::fill(&mut bytes)
        .map_err(|e| anyhow::anyhow!("the system random generator failed: {e}"))?;
    Ok(hex::encode_upper(bytes))
}

fn hash(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn record_row(row: &super::db::Row) -> super::db::DbResult<ApiKeyRecord> {
    Ok(ApiKeyRecord {
        id: row.get(0)?,
        user: row.get(1)?,
        role: row.get(2)?,
        comment: row.get(3)?,
        created_at: row.get(4)?,
        expires_at: row.get(5)?,
        revoked_at: row.get(6)?,
        state: row.get(7)?,
    })
}

/// An expiry given in seconds since 1970 as the text the table keeps.
fn epoch_text(seconds: i64) -> Result<String> {
    chrono::DateTime::from_timestamp(seconds, 0)
        .map(|at| at.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .ok_or_else(|| Refusal::Invalid(format!("the expiry {seconds} is out of range")).into())
}
