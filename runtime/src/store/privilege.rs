//! Who may change whose roles. Two rules hold for every change to users, checked inside the
//! change's own transaction so that nothing can slip in between the check and the write:
//! a caller with limited permissions (an API key) grants or revokes only roles whose every
//! permission it holds itself, so no key hands out more than it has; and at least one
//! enabled user keeps the Administrator role, so the runtime never locks its administrators
//! out.

use super::db::{Conn, OptionalExtension};
use super::people::{self, Permission};
use super::Refusal;
use anyhow::{Context, Result};

/// The built-in role that grants every permission.
pub const ADMINISTRATOR: &str = "Administrator";

/// The user every runtime is created with; the API never changes it.
pub const ADMIN_USER: &str = "admin";

/// Refuses a change from `before` to `after` that touches a role with a permission outside
/// `held`. `None` means the command line, which can write the database anyway.
pub(super) fn check_role_change(
    conn: &Conn,
    before: &[String],
    after: &[String],
    held: Option<&[Permission]>,
) -> Result<()> {
    let Some(held) = held else {
        return Ok(());
    };
    let added = after
        .iter()
        .filter(|r| !before.contains(r))
        .map(|r| (r, "grant"));
    let removed = before
        .iter()
        .filter(|r| !after.contains(r))
        .map(|r| (r, "revoke"));
    for (role, verb) in added.chain(removed) {
        let permissions = role_permissions(conn, role)?;
        let missing: Vec<&str> = permissions
            .iter()
            .map(String::as_str)
            .filter(|p| !held.iter().any(|h| h.as_str() == *p))
            .collect();
        if !missing.is_empty() {
            return Err(Refusal::Forbidden(format!(
                "this API key may not {verb} the role {role:?}: the role grants {}, which \
                 the key does not hold (a key grants and revokes only roles whose \
                 permissions it holds itself)",
                missing.join(", ")
            ))
            .into());
        }
    }
    Ok(())
}

/// Refuses, after `user` lost the Administrator role or was disabled, a state in which no
/// enabled user is an Administrator. Call it inside the change's transaction, after the write.
pub(super) fn keep_an_administrator(conn: &Conn, user: &str) -> Result<()> {
    let left: i64 = conn
        .prepare(
            "SELECT count(*) FROM user_roles r JOIN users u ON u.id = r.user_id
             WHERE r.role_id = ?1 AND u.disabled = 0",
        )?
        .query_row([ADMINISTRATOR], |r| r.get(0))?;
    if left == 0 {
        return Err(Refusal::Forbidden(format!(
            "user {user:?} is the last enabled {ADMINISTRATOR}; give the {ADMINISTRATOR} role \
             to another user first"
        ))
        .into());
    }
    Ok(())
}

fn role_permissions(conn: &Conn, role: &str) -> Result<Vec<String>> {
    let permissions: Option<String> = conn
        .prepare("SELECT permissions FROM roles WHERE id = ?1")?
        .query_row([role], |r| r.get(0))
        .optional()?;
    let permissions = permissions.ok_or_else(|| people::no_role(role))?;
    serde_json::from_str(&permissions).with_context(|| format!("the permissions of role {role:?}"))
}
