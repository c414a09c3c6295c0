//! The runtime's people: users and the roles that grant them permissions. The XSOAR API
//! shows them to ConductorOne, which grants and revokes roles; playbooks assign failed
//! incidents to them.

use super::audit::{self, Actor};
use super::db::{params, Conn, OptionalExtension, Row};
use super::privilege::{self, ADMINISTRATOR};
use super::{Refusal, Store};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::json;
use std::fmt;
use std::str::FromStr;

/// What a role may do. Roles store these as strings, which is also how the API shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    UsersRead,
    UsersWrite,
    RolesRead,
    RolesWrite,
    IncidentsRead,
    IncidentsWrite,
    ProfilesRead,
    ProfilesWrite,
}

impl Permission {
    pub const ALL: [Permission; 8] = [
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::RolesRead,
        Permission::RolesWrite,
        Permission::IncidentsRead,
        Permission::IncidentsWrite,
        Permission::ProfilesRead,
        Permission::ProfilesWrite,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::UsersRead => "users.read",
            Permission::UsersWrite => "users.write",
            Permission::RolesRead => "roles.read",
            Permission::RolesWrite => "roles.write",
            Permission::IncidentsRead => "incidents.read",
            Permission::IncidentsWrite => "incidents.write",
            Permission::ProfilesRead => "profiles.read",
            Permission::ProfilesWrite => "profiles.write",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = Refusal;

    fn from_str(text: &str) -> Result<Self, Refusal> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == text)
            .ok_or_else(|| {
                let known: Vec<_> = Self::ALL.iter().map(|p| p.as_str()).collect();
                Refusal::Invalid(format!(
                    "unknown permission {text:?}; known: {}",
                    known.join(", ")
                ))
            })
    }
}

/// A user of the runtime (not an HR user profile).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    /// Stable id; XSOAR uses the login name, and so do we.
    pub id: String,
    pub username: String,
    pub name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub disabled: bool,
    /// Bumped on every change.
    pub version: i64,
    /// Role names, in the order they were given.
    pub roles: Vec<String>,
}

/// Changes whenever a user or role is added or changed, by any process: every change adds a
/// row or bumps a `version` (keep it so), and nothing is deleted. Caches compare stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeopleStamp([i64; 4]);

/// What `add_user` needs; the id is the username.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub name: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub roles: Vec<String>,
}

/// A role: a name (which is also its id, as in XSOAR) and the permissions it grants.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Role {
    pub name: String,
    /// Permission strings as stored; see [`Permission`].
    pub permissions: Vec<String>,
    /// Administrator, Analyst and Read-Only come with the runtime.
    pub builtin: bool,
    pub version: i64,
}

impl Role {
    pub fn grants(&self, permission: Permission) -> bool {
        self.permissions.iter().any(|p| p == permission.as_str())
    }
}

/// A user's columns, all as text: read as text rows, without the two copies per column
/// typed values cost (a listing of 10,000 users reads 80,000 of them).
const USER_COLUMNS: &str = "id, username, name, first_name, last_name, email,
    CAST(disabled AS TEXT), CAST(version AS TEXT)";
const ROLE_COLUMNS: &str = "id, permissions, builtin, version";

impl Store {
    /// Every user, by id, with their roles.
    pub fn users(&self) -> Result<Vec<User>> {
        // Two queries, not one per user: the users, then every role grant in order (read
        // along an index), both as text rows without copying them.
        let mut users = Vec::new();
        self.conn().each_text_row(
            &format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"),
            (),
            &mut |row: &[&str]| -> Result<()> {
                users.push(user_from_text(row)?);
                Ok(())
            },
        )?;
        let place: std::collections::HashMap<&str, usize> = users
            .iter()
            .enumerate()
            .map(|(i, user)| (user.id.as_str(), i))
            .collect();
        let mut roles = vec![Vec::new(); users.len()];
        self.conn().each_text_row(
            "SELECT user_id, role_id FROM user_roles ORDER BY user_id, position",
            (),
            &mut |row: &[&str]| -> Result<()> {
                let [user_id, role] = row else {
                    anyhow::bail!("expected the two columns user_id and role_id");
                };
                // A grant of a user added after the first query has nobody to go to.
                if let Some(&i) = place.get(user_id) {
                    roles[i].push((*role).to_owned());
                }
                Ok(())
            },
        )?;
        for (user, roles) in users.iter_mut().zip(roles) {
            user.roles = roles;
        }
        Ok(users)
    }

    /// Every user's id and version, by id: what changed since a listing, read without the
    /// users themselves.
    pub fn user_versions(&self) -> Result<Vec<(String, i64)>> {
        let mut versions = Vec::new();
        self.conn().each_text_row(
            "SELECT id, CAST(version AS TEXT) FROM users ORDER BY id",
            (),
            &mut |row: &[&str]| -> Result<()> {
                let [id, version] = row else {
                    anyhow::bail!("expected the two columns id and version");
                };
                let version = version
                    .parse()
                    .with_context(|| format!("user {id:?} has the version {version:?}"))?;
                versions.push(((*id).to_owned(), version));
                Ok(())
            },
        )?;
        Ok(versions)
    }

    /// The current [`PeopleStamp`]; cheap next to listing the people.
    pub fn people_stamp(&self) -> Result<PeopleStamp> {
        Ok(PeopleStamp(self.conn().query_row(
            "SELECT (SELECT count(*) FROM users), (SELECT CAST(coalesce(sum(version), 0) AS BIGINT) FROM users),
                    (SELECT count(*) FROM roles),
                    (SELECT CAST(coalesce(sum(version), 0) AS BIGINT) FROM roles)",
            (),
            |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?]),
        )?))
    }

    /// The user with this id, if any.
    pub fn user(&self, id: &str) -> Result<Option<User>> {
        load_user(self.conn(), id)
    }

    /// Adds a user with at least one role; the id is the username.
    pub fn add_user(&self, new: &NewUser, actor: &Actor) -> Result<User> {
        check_name("user name", &new.username)?;
        let tx = self.write()?;
        let roles = checked_roles(&tx, &new.roles)?;
        let added = tx.execute(
            "INSERT INTO users (id, username, name, first_name, last_name, email)
             VALUES (?1, ?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![
                new.username,
                new.name,
                new.first_name,
                new.last_name,
                new.email
            ],
        )?;
        if added == 0 {
            return Err(
                Refusal::Conflict(format!("a user {:?} already exists", new.username)).into(),
            );
        }
        write_roles(&tx, &new.username, &roles)?;
        let user = load_user(&tx, &new.username)?.context("reading back the new user")?;
        audit::record(&tx, actor, "user.add", &user.id, json!(null), json!(user))?;
        tx.commit()?;
        Ok(user)
    }

    /// Replaces a user's roles (duplicates dropped, order kept). A user keeps at least one
    /// role, and the last enabled Administrator keeps that role. Writing the same roles
    /// again changes nothing and is not audited.
    pub fn set_user_roles(&self, id: &str, roles: &[String], actor: &Actor) -> Result<User> {
        self.change_roles(id, roles, None, actor)
    }

    /// [`Store::set_user_roles`] for a caller holding only `held` (an API key's effective
    /// permissions): every role it grants or revokes must grant nothing outside `held`.
    pub fn set_user_roles_holding(
        &self,
        id: &str,
        roles: &[String],
        held: &[Permission],
        actor: &Actor,
    ) -> Result<User> {
        self.change_roles(id, roles, Some(held), actor)
    }

    fn change_roles(
        &self,
        id: &str,
        roles: &[String],
        held: Option<&[Permission]>,
        actor: &Actor,
    ) -> Result<User> {
        let tx = self.write()?;
        let before = load_user(&tx, id)?.ok_or_else(|| no_user(id))?;
        let roles = checked_roles(&tx, roles)?;
        if roles == before.roles {
            return Ok(before);
        }
        privilege::check_role_change(&tx, &before.roles, &roles, held)?;
        write_roles(&tx, id, &roles)?;
        if is_enabled_administrator(&before) && !roles.iter().any(|r| r == ADMINISTRATOR) {
            privilege::keep_an_administrator(&tx, id)?;
        }
        touch_user(&tx, id)?;
        let after = load_user(&tx, id)?.context("reading back the user")?;
        audit::record(
            &tx,
            actor,
            "user.set-roles",
            id,
            json!(before.roles),
            json!(after.roles),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// Disables or enables a user. A disabled user's API keys stop working. The last enabled
    /// Administrator cannot be disabled.
    pub fn set_user_disabled(&self, id: &str, disabled: bool, actor: &Actor) -> Result<User> {
        let tx = self.write()?;
        let before = load_user(&tx, id)?.ok_or_else(|| no_user(id))?;
        if before.disabled == disabled {
            return Ok(before);
        }
        tx.execute(
            "UPDATE users SET disabled = ?2 WHERE id = ?1",
            params![id, disabled],
        )?;
        if disabled && is_enabled_administrator(&before) {
            privilege::keep_an_administrator(&tx, id)?;
        }
        touch_user(&tx, id)?;
        let after = load_user(&tx, id)?.context("reading back the user")?;
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        audit::record(
            &tx,
            actor,
            action,
            id,
            json!(before.disabled),
            json!(disabled),
        )?;
        tx.commit()?;
        Ok(after)
    }

    /// Every role: the built-in ones first, then by name.
    pub fn roles(&self) -> Result<Vec<Role>> {
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {ROLE_COLUMNS} FROM roles ORDER BY builtin DESC, id"
        ))?;
        let rows = stmt.query_map((), role_row)?;
        rows.map(|row| row?.into_role()).collect()
    }

    /// The role with this name, if any.
    pub fn role(&self, name: &str) -> Result<Option<Role>> {
        self.conn()
            .query_row(
                &format!("SELECT {ROLE_COLUMNS} FROM roles WHERE id = ?1"),
                [name],
                role_row,
            )
            .optional()?
            .map(RawRole::into_role)
            .transpose()
    }

    /// Adds a custom role.
    pub fn add_role(&self, name: &str, permissions: &[Permission], actor: &Actor) -> Result<Role> {
        check_name("role name", name)?;
        let mut names: Vec<&str> = Vec::new();
        for p in permissions {
            if !names.contains(&p.as_str()) {
                names.push(p.as_str());
            }
        }
        let tx = self.write()?;
        let added = tx.execute(
            "INSERT INTO roles (id, permissions) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            params![name, serde_json::to_string(&names)?],
        )?;
        if added == 0 {
            return Err(Refusal::Conflict(format!("a role {name:?} already exists")).into());
        }
        audit::record(&tx, actor, "role.add", name, json!(null), json!(names))?;
        tx.commit()?;
        self.role(name)?.context("reading back the new role")
    }
}

/// Names (user ids, role names) are shown in tables and sent over the API: keep them tame.
pub(super) fn check_name(what: &str, name: &str) -> Result<(), Refusal> {
    if name.is_empty() || name.len() > 128 {
        return Err(Refusal::Invalid(format!(
            "a {what} must have 1 to 128 characters"
        )));
    }
    if name.trim() != name || name.chars().any(char::is_control) {
        return Err(Refusal::Invalid(format!(
            "the {what} {name:?} has leading or trailing spaces or control characters"
        )));
    }
    Ok(())
}

pub(super) fn no_user(id: &str) -> anyhow::Error {
    Refusal::NotFound(format!("no user {id:?}")).into()
}

pub(super) fn no_role(name: &str) -> anyhow::Error {
    Refusal::NotFound(format!("no role {name:?}")).into()
}

pub(super) fn load_user(conn: &Conn, id: &str) -> Result<Option<User>> {
    let mut found = None;
    conn.each_text_row(
        &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ?1"),
        [id],
        &mut |row: &[&str]| -> Result<()> {
            found = Some(user_from_text(row)?);
            Ok(())
        },
    )?;
    let Some(mut user) = found else {
        return Ok(None);
    };
    let mut stmt =
        conn.prepare("SELECT role_id FROM user_roles WHERE user_id = ?1 ORDER BY position")?;
    user.roles = stmt
        .query_map([id], |r| r.get(0))?
        .collect::<super::db::DbResult<_>>()?;
    Ok(Some(user))
}

/// A user from a row of [`USER_COLUMNS`], without roles.
fn user_from_text(row: &[&str]) -> Result<User> {
    let [id, username, name, first_name, last_name, email, disabled, version] = row else {
        anyhow::bail!("expected a user's eight columns");
    };
    Ok(User {
        id: (*id).to_owned(),
        username: (*username).to_owned(),
        name: (*name).to_owned(),
        first_name: (*first_name).to_owned(),
        last_name: (*last_name).to_owned(),
        email: (*email).to_owned(),
        disabled: *disabled != "0",
        version: version
            .parse()
            .with_context(|| format!("user {id:?} has the version {version:?}"))?,
        roles: Vec::new(),
    })
}

/// A role row before its permissions JSON is parsed (which can fail outside the database layer).
pub(super) struct RawRole {
    name: String,
    permissions: String,
    builtin: bool,
    version: i64,
}

impl RawRole {
    pub(super) fn into_role(self) -> Result<Role> {
        Ok(Role {
            permissions: serde_json::from_str(&self.permissions)
                .with_context(|| format!("the permissions of role {:?}", self.name))?,
            name: self.name,
            builtin: self.builtin,
            version: self.version,
        })
    }
}

/// Reads `ROLE_COLUMNS` starting at column 0.
fn role_row(row: &Row) -> super::db::DbResult<RawRole> {
    role_row_at(row, 0)
}

/// Reads `ROLE_COLUMNS` starting at column `at`, for queries that join roles.
pub(super) fn role_row_at(row: &Row, at: usize) -> super::db::DbResult<RawRole> {
    Ok(RawRole {
        name: row.get(at)?,
        permissions: row.get(at + 1)?,
        builtin: row.get(at + 2)?,
        version: row.get(at + 3)?,
    })
}

/// The roles as given, without duplicates; refuses an empty list or an unknown role.
fn checked_roles(conn: &Conn, roles: &[String]) -> Result<Vec<String>> {
    if roles.is_empty() {
        return Err(Refusal::Invalid("a user needs at least one role".into()).into());
    }
    let mut exists = conn.prepare("SELECT 1 FROM roles WHERE id = ?1")?;
    let mut checked: Vec<String> = Vec::with_capacity(roles.len());
    for role in roles {
        if checked.contains(role) {
            continue;
        }
        if !exists.exists([role])? {
            return Err(no_role(role));
        }
        checked.push(role.clone());
    }
    Ok(checked)
}

fn is_enabled_administrator(user: &User) -> bool {
    !user.disabled && user.roles.iter().any(|r| r == ADMINISTRATOR)
}

fn write_roles(conn: &Conn, user: &str, roles: &[String]) -> Result<()> {
    conn.execute("DELETE FROM user_roles WHERE user_id = ?1", [user])?;
    let mut insert =
        conn.prepare("INSERT INTO user_roles (user_id, role_id, position) VALUES (?1, ?2, ?3)")?;
    for (position, role) in roles.iter().enumerate() {
        insert.execute(params![user, role, position as i64])?;
    }
    Ok(())
}

fn touch_user(conn: &Conn, id: &str) -> Result<()> {
    conn.execute(
        "UPDATE users SET version = version + 1,
             updated_at = ilm_now()
         WHERE id = ?1",
        [id],
    )?;
    Ok(())
}
