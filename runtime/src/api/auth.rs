//! Who is calling, and may they. A request carries a Standard API key as the raw value of
//! `Authorization` (no `Bearer`), as XSOAR 6 and the ConductorOne connector do; an XSOAR 8
//! client also sends the key's id in `x-xdr-auth-id`, which must then match. Handlers take
//! an [`Authorized`] argument naming the permission they need, so authentication and
//! authorization run before the body is read: 401 for a missing, unknown, revoked or expired
//! key, 403 for a key whose role lacks the permission or whose owner no longer holds it (a
//! key acts with what both its role and its owner's current roles grant).

use super::error::ApiError;
use super::Db;
use crate::store::{KeyCheck, KeyHolder, Permission};
use axum::extract::{FromRef, FromRequestParts};
use axum::http::{header, request::Parts, StatusCode};
use std::marker::PhantomData;

const AUTH_ID: &str = "x-xdr-auth-id";

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
    ProfilesRead
);

/// The caller, checked against requirement `R`.
pub struct Authorized<R> {
    pub caller: KeyHolder,
    requirement: PhantomData<R>,
}

impl<R: Requirement, S: Send + Sync> FromRequestParts<S> for Authorized<R>
where
    Db: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let db = Db::from_ref(state);
        let unauthorized = |detail: &str| ApiError::new(StatusCode::UNAUTHORIZED, detail);
        let key = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| {
                unauthorized("no API key: send it as the value of the Authorization header")
            })?
            .to_str()
            .map_err(|_| unauthorized("unknown API key"))?
            .trim()
            .to_owned();
        let auth_id = match parts.headers.get(AUTH_ID) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .ok()
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .ok_or_else(|| unauthorized("x-xdr-auth-id is not a key id"))?,
            ),
        };
        let caller = match db.run(move |store| store.authenticate(&key)).await? {
            KeyCheck::Valid(holder) => holder,
            KeyCheck::Unknown => return Err(unauthorized("unknown API key")),
            KeyCheck::Revoked => return Err(unauthorized("this API key was revoked")),
            KeyCheck::Expired => return Err(unauthorized("this API key has expired")),
            KeyCheck::OwnerDisabled => {
                return Err(unauthorized("the user of this API key is disabled"))
            }
        };
        if auth_id.is_some_and(|id| id != caller.key_id) {
            return Err(unauthorized("x-xdr-auth-id does not match the API key"));
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
