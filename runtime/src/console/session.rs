//! Who is signed in. A session's id is 256 random bits, sent only as a `Secure; HttpOnly;
//! SameSite=Strict` cookie; the store keeps its SHA-256, so a copy of the database signs
//! no one in. Every form carries a CSRF token derived from the session id (a hash of it
//! under a label), checked on every POST; the sign-in form, before any session, carries a
//! token that must match a cookie of its own. Passwords are Argon2id hashes.

use super::page::Refused;
use crate::api::Db;
use crate::store::{Actor, Permission, SignedIn};
use anyhow::{anyhow, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// The session cookie; `__Host-` makes browsers refuse it unless Secure, on `/`, with no Domain.
const SESSION_COOKIE: &str = "__Host-ilm_session";
/// The sign-in form's own token.
const LOGIN_COOKIE: &str = "__Host-ilm_login";
/// How long a session lasts from signing in.
pub const SESSION_MINUTES: u32 = 8 * 60;

/// 256 random bits, hex.
pub fn random_token() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|err| anyhow!("no randomness for a session: {err}"))?;
    Ok(hex::encode(bytes))
}

/// What the store keeps of a session id.
pub fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// The CSRF token of the session `id`.
fn csrf_of(id: &str) -> String {
    hex::encode(Sha256::digest(format!("ilm-console-csrf:{id}").as_bytes()))
}

fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `name=value; Path=/; Secure; HttpOnly; SameSite=Strict`, or one that expires it at once.
pub fn cookie(name: &str, value: Option<&str>, minutes: u32) -> HeaderValue {
    let text = match value {
        Some(value) => format!(
            "{name}={value}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Strict",
            u64::from(minutes) * 60
        ),
        None => format!("{name}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict"),
    };
    // Built only from hex and fixed text.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub fn session_cookie(id: Option<&str>) -> HeaderValue {
    cookie(SESSION_COOKIE, id, SESSION_MINUTES)
}

pub fn login_cookie(token: Option<&str>) -> HeaderValue {
    cookie(LOGIN_COOKIE, token, 30)
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// Whether the sign-in form's token matches its cookie.
pub fn login_token_matches(headers: &HeaderMap, token: &str) -> bool {
    cookie_value(headers, LOGIN_COOKIE).is_some_and(|cookie| same(cookie, token))
}

/// The signed-in user of a request; pages without one send the browser to sign in.
pub struct Viewer {
    pub user: SignedIn,
    session_id: String,
}

impl Viewer {
    /// The token every form of this session carries.
    pub fn csrf(&self) -> String {
        csrf_of(&self.session_id)
    }

    /// Refuses a POST whose form does not carry this session's token.
    pub fn check_csrf(&self, token: &str) -> Result<(), Refused> {
        if same(token, &self.csrf()) {
            Ok(())
        } else {
            Err(Refused::forged())
        }
    }

    /// Refuses a user whose roles do not grant `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), Refused> {
        if self.user.holds(permission) {
            Ok(())
        } else {
            Err(Refused::forbidden(permission))
        }
    }

    /// Who the audit log names for a change to incidents made with this form (its
    /// `csrf` token checked, `incidents.write` required).
    pub fn changing(&self, csrf: &str) -> Result<Actor, Refused> {
        self.check_csrf(csrf)?;
        self.require(Permission::IncidentsWrite)?;
        Ok(Actor::Console {
            user: self.user.user.clone(),
        })
    }

    pub fn session_hash(&self) -> String {
        id_hash(&self.session_id)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer
where
    Db: FromRef<S>,
{
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Refused> {
        let Some(id) = cookie_value(&parts.headers, SESSION_COOKIE).map(str::to_owned) else {
            return Err(Refused::SignIn);
        };
        let hash = id_hash(&id);
        let user = Db::from_ref(state)
            .run(move |store| store.session(&hash))
            .await
            .map_err(Refused::from)?;
        match user {
            Some(user) => Ok(Self {
                user,
                session_id: id,
            }),
            None => Err(Refused::SignIn),
        }
    }
}

/// An Argon2id hash of `password` (PHC string, salted).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|err| anyhow!("no randomness for a salt: {err}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|err| anyhow!("encoding a salt: {err}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|err| anyhow!("hashing the password: {err}"))?
        .to_string())
}

/// Whether `password` matches `hash`. With no hash (no such user, or none set) a dummy
/// hash is checked, so an unknown user takes as long to refuse as a wrong password.
pub fn verify_password(password: &str, hash: Option<&str>) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy =
        DUMMY.get_or_init(|| hash_password("no user has this password").unwrap_or_default());
    let known = hash.is_some();
    let Ok(parsed) = PasswordHash::new(hash.unwrap_or(dummy)) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    known && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_only_its_own_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", Some(&hash)));
        assert!(!verify_password("correct horse batterz", Some(&hash)));
        assert!(!verify_password("correct horse battery", None));
        assert!(!verify_password("x", Some("not a PHC string")));
    }

    #[test]
    fn the_session_cookie_is_found_among_others_and_tokens_compare_whole() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; __Host-ilm_login=abc; b=2"),
        );
        assert!(login_token_matches(&headers, "abc"));
        assert!(!login_token_matches(&headers, "ab"));
        assert!(!login_token_matches(&HeaderMap::new(), ""));
        let cookie = session_cookie(Some("ff")).to_str().unwrap().to_owned();
        for attribute in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
    }
}
