//! Signing in to the web console: each user's password hash and the sessions signed in.
//! The store keeps what it is given: hashing passwords and making session ids is the
//! console's (`crate::console::session`), so no secret in clear ever reaches the database.

use super::audit::{self, Actor};
use super::db::{params, OptionalExtension};
use super::people::{self, Permission};
use super::Store;
use anyhow::Result;
use serde_json::json;

/// The user behind a live session, with what their roles grant now.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: String,
    pub name: String,
    permissions: Vec<String>,
}

impl SignedIn {
    pub fn holds(&self, permission: Permission) -> bool {
        self.permissions.iter().any(|p| p == permission.as_str())
    }
}

impl Store {
    /// Sets (or replaces) `user`'s password hash; audited without the hash. Every session the
    /// user had ends, so a changed password locks out whoever knew the old one.
    pub fn set_password_hash(&self, user: &str, hash: &str, actor: &Actor) -> Result<()> {
        let tx = self.write()?;
        if people::load_user(&tx, user)?.is_none() {
            return Err(people::no_user(user));
        }
        tx.execute(
            "INSERT INTO user_passwords (user_id, hash) VALUES (?1, ?2)
             ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash,
                 set_at = ilm_now()",
            params![user, hash],
        )?;
        tx.execute("DELETE FROM console_sessions WHERE user_id = ?1", [user])?;
        audit::record(
            &tx,
            actor,
            "user.set-password",
            user,
            serde_json::Value::Null,
            json!({"password": "set"}),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The password hash of an enabled user who has one.
    pub fn password_hash(&self, user: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT p.hash FROM user_passwords p JOIN users u ON u.id = p.user_id
                 WHERE p.user_id = ?1 AND u.disabled = 0",
                [user],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records a session for `user` that lasts `minutes`; expired sessions go at the same time.
    pub fn start_session(&self, id_hash: &str, user: &str, minutes: u32) -> Result<()> {
        let tx = self.write()?;
        tx.execute(
            "DELETE FROM console_sessions WHERE expires_at <= ilm_now()",
            (),
        )?;
        tx.execute(
            "INSERT INTO console_sessions (id_hash, user_id, expires_at)
             VALUES (?1, ?2, ilm_after(?3))",
            params![id_hash, user, f64::from(minutes) * 60.0],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The enabled user of a session that has not expired.
    pub fn session(&self, id_hash: &str) -> Result<Option<SignedIn>> {
        let found: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT u.id, u.name FROM console_sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND u.disabled = 0
                   AND s.expires_at > ilm_now()",
                [id_hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((user, name)) = found else {
            return Ok(None);
        };
        Ok(Some(SignedIn {
            permissions: self.permissions_of(&user)?,
            user,
            name,
        }))
    }

    /// Ends a session (signing out); nothing happens for one that is gone already.
    pub fn end_session(&self, id_hash: &str) -> Result<()> {
        self.conn()
            .execute("DELETE FROM console_sessions WHERE id_hash = ?1", [id_hash])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Actor, NewUser, Permission, Refusal, Store};

    fn with_analyst() -> Store {
        let store = Store::open_in_memory().unwrap();
        store
            .add_user(
                &NewUser {
                    username: "carol".into(),
                    name: "Carol".into(),
                    roles: vec!["Analyst".into()],
                    ..NewUser::default()
                },
                &Actor::Cli,
            )
            .unwrap();
        store
            .set_password_hash("carol", "$argon2id$first", &Actor::Cli)
            .unwrap();
        store
    }

    #[test]
    fn a_session_carries_the_users_current_permissions_until_it_ends() {
        let store = with_analyst();
        store.start_session("s1", "carol", 60).unwrap();
        let signed_in = store.session("s1").unwrap().expect("a live session");
        assert_eq!(signed_in.user, "carol");
        assert!(signed_in.holds(Permission::IncidentsWrite));
        assert!(!signed_in.holds(Permission::UsersWrite));
        store
            .set_user_roles("carol", &["Read-Only".into()], &Actor::Cli)
            .unwrap();
        let signed_in = store.session("s1").unwrap().expect("still live");
        assert!(!signed_in.holds(Permission::IncidentsWrite));
        store.end_session("s1").unwrap();
        assert!(store.session("s1").unwrap().is_none());
    }

    #[test]
    fn expired_sessions_disabled_users_and_new_passwords_sign_no_one_in() {
        let store = with_analyst();
        store.start_session("expired", "carol", 0).unwrap();
        assert!(store.session("expired").unwrap().is_none());

        store.start_session("s2", "carol", 60).unwrap();
        store
            .set_password_hash("carol", "$argon2id$second", &Actor::Cli)
            .unwrap();
        assert!(
            store.session("s2").unwrap().is_none(),
            "a new password ends sessions"
        );
        assert_eq!(
            store.password_hash("carol").unwrap().as_deref(),
            Some("$argon2id$second")
        );

        store.start_session("s3", "carol", 60).unwrap();
        store.set_user_disabled("carol", true, &Actor::Cli).unwrap();
        assert!(store.session("s3").unwrap().is_none());
        assert!(store.password_hash("carol").unwrap().is_none());

        let err = store
            .set_password_hash("nobody", "$argon2id$x", &Actor::Cli)
            .unwrap_err();
        assert!(matches!(
            err.downcast_ref::<Refusal>(),
            Some(Refusal::NotFound(_))
        ));
    }
}
