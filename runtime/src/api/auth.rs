//! Who is calling, and may they. A request carries a Standard API key as the raw value of
//! `Authorization` (no `Bearer`), as XSOAR 6 and the ConductorOne connector do; an XSOAR 8
//! client also sends the key's id in `x-xdr-auth-id`, which must then match. Handlers take
//! an [`Authorized`] argument naming the permission they need, so authentication and
//! authorization run before the body is read: 401 for a missing, unknown, revoked or expired
//! key, 403 for a key whose role lacks the permission or whose owner no longer holds it (a
//! key acts with what both its role and its owner's current roles grant). Every 401 is
//! logged, audited with the client's address and counted by [`Lockout`].

use super::access_log::KeySlot;
use super::error::ApiError;
use super::lockout::Lockout;
use super::Db;
use crate::store::{Actor, AuthFailure, KeyCheck, KeyHolder, Permission};
use axum::extract::{ConnectInfo, FromRef, FromRequestParts};
use axum::http::{header, request::Parts, StatusCode};
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

const AUTH_ID: &str = "x-xdr-auth-id";

/// Characters of a refused request's path that are logged and audited.
const MAX_LOGGED_PATH: usize = 200;

/// What an endpoint requires of the caller's key.
pub trait Requirement {
    /// `None`: any valid key.
    const PERMISSION: Option<Permission>;
}

/// Any valid key: `GET /user` answers "who am I" for every caller.
pub struct AnyKey;

impl Requirement for AnyKey {
    const PERMISSION: Option<Permission> = None;
}

macro_rules! requirements {
    ($($permission:ident),* $(,)?) => {$(
        #[doc = concat!("A key whose role grants [`Permission::", stringify!($permission), "`].")]
        pub struct $permission;

        impl Requirement for $permission {
            const PERMISSION: Option<Permission> = Some(Permission::$permission);
        }
    )*};
}

requirements!(
    UsersRead,
    UsersWrite,
    RolesRead,
    IncidentsRead,
    IncidentsWrite,
    ProfilesRead
);

/// The caller, checked against requirement `R`.
pub struct Authorized<R> {
    pub caller: KeyHolder,
    requirement: PhantomData<R>,
}

impl<R> Authorized<R> {
    /// Who the audit log names for the request's changes.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey {
            user: self.caller.user.clone(),
            key_id: self.caller.key_id,
        }
    }
}

impl<R: Requirement, S: Send + Sync> FromRequestParts<S> for Authorized<R>
where
    Db: FromRef<S>,
    Arc<Lockout>: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let db = Db::from_ref(state);
        let caller = match authenticate(parts, &db).await? {
            Ok(caller) => caller,
            Err(reason) => {
                let lockout = Arc::<Lockout>::from_ref(state);
                return Err(failed(parts, &db, &lockout, reason).await);
            }
        };
        if let Some(slot) = parts.extensions.get::<KeySlot>() {
            slot.fill(caller.key_id);
        }
        if let Some(permission) = R::PERMISSION {
            if !caller.role.grants(permission) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "the API key's role {:?} does not grant {permission}",
                        caller.role.name
                    ),
                ));
            }
            if !caller.owner_holds(permission) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "the API key's role {:?} grants {permission}, but the key's owner {:?} \
                         no longer holds it through any role",
                        caller.role.name, caller.user
                    ),
                ));
            }
        }
        Ok(Self {
            caller,
            requirement: PhantomData,
        })
    }
}

/// The key's holder, or why the request carries no valid key. `Err` from the outer
/// result is the server's own failure, not the client's.
async fn authenticate(parts: &Parts, db: &Db) -> Result<Result<KeyHolder, String>, ApiError> {
    let Some(key) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(Err(
            "no API key: send it as the value of the Authorization header".into(),
        ));
    };
    let Ok(key) = key.to_str() else {
        return Ok(Err("unknown API key".into()));
    };
    let key = key.trim().to_owned();
    let auth_id = match parts.headers.get(AUTH_ID) {
        None => None,
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            Some(id) => Some(id),
            None => return Ok(Err("x-xdr-auth-id is not a key id".into())),
        },
    };
    let reason = match db.run(move |store| store.authenticate(&key)).await? {
        KeyCheck::Valid(holder) if auth_id.is_some_and(|id| id != holder.key_id) => {
            "x-xdr-auth-id does not match the API key"
        }
        KeyCheck::Valid(holder) => return Ok(Ok(holder)),
        KeyCheck::Unknown => "unknown API key",
        KeyCheck::Revoked => "this API key was revoked",
        KeyCheck::Expired => "this API key has expired",
        KeyCheck::OwnerDisabled => "the user of this API key is disabled",
    };
    Ok(Err(reason.into()))
}

/// A failed authentication: logged, audited with the client's address, and counted
/// towards locking that address out. Answers 401 with the reason.
async fn failed(parts: &Parts, db: &Db, lockout: &Lockout, reason: String) -> ApiError {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let address = peer.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
    // The path is the client's to choose: keep the log and the audit entry short.
    let path: String = parts.uri.path().chars().take(MAX_LOGGED_PATH).collect();
    let request = format!("{} {path}", parts.method);
    tracing::warn!(%address, %request, %reason, "API authentication failed");
    let lockout_secs = peer
        .and_then(|ip| lockout.failed(ip, Instant::now()))
        .map(|block| block.as_secs());
    if let Some(seconds) = lockout_secs {
        tracing::warn!(
            %address,
            seconds,
            "too many failed authentications: answering this address 429"
        );
    }
    let failure = AuthFailure {
        address,
        request,
        reason: reason.clone(),
        lockout_secs,
    };
    // The client is told 401 either way; a busy database must not turn it into a 500.
    if let Err(err) = db
        .run(move |store| store.audit_auth_failure(&failure))
        .await
    {
        tracing::error!("could not audit a failed authentication: {err:#}");
    }
    ApiError::new(StatusCode::UNAUTHORIZED, reason)
}
