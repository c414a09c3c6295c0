//! The endpoints ConductorOne's XSOAR connector uses: `GET /user`, `GET /users`,
//! `GET /roles` and `POST /users/update`, with XSOAR's JSON shapes.

use super::auth::{AnyKey, Authorized, RolesRead, UsersRead, UsersWrite};
use super::error::ApiError;
use super::listing::UsersListing;
use super::Db;
use crate::store::{Refusal, Role, User, ADMIN_USER};
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A user as XSOAR shows one. `version` is an integer and `roles` an object of string
/// arrays: the connector fails the whole sync on any other type.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireUser {
    id: String,
    version: i64,
    username: String,
    name: String,
    first_name: String,
    last_name: String,
    email: String,
    disabled: bool,
    roles: RolesByScope,
}

/// XSOAR groups a user's roles by scope; the runtime has one scope, `demisto`.
#[derive(Serialize)]
struct RolesByScope {
    demisto: Vec<String>,
}

impl From<User> for WireUser {
    fn from(user: User) -> Self {
        Self {
            id: user.id,
            version: user.version,
            username: user.username,
            name: user.name,
            first_name: user.first_name,
            last_name: user.last_name,
            email: user.email,
            disabled: user.disabled,
            roles: RolesByScope {
                demisto: user.roles,
            },
        }
    }
}

/// A role as XSOAR shows one, with `id == name` and `permissions` a flat string array.
#[derive(Serialize)]
pub struct WireRole {
    id: String,
    version: i64,
    name: String,
    permissions: Vec<String>,
}

impl From<Role> for WireRole {
    fn from(role: Role) -> Self {
        Self {
            id: role.name.clone(),
            version: role.version,
            name: role.name,
            permissions: role.permissions,
        }
    }
}

/// The body of `POST /users/update`: the user's complete new list of role names.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateRequest {
    id: String,
    roles: RoleNames,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleNames {
    roles: Vec<String>,
}

/// `GET /user`: the key's owner.
pub async fn me(
    auth: Authorized<AnyKey>,
    State(db): State<Db>,
) -> Result<Json<WireUser>, ApiError> {
    let id = auth.caller.user;
    let user = db
        .run(move |store| {
            store
                .user(&id)?
                .ok_or_else(|| Refusal::NotFound(format!("no user {id:?}")).into())
        })
        .await?;
    Ok(Json(user.into()))
}

/// `GET /users`: every user, in one array (the connector never pages).
pub async fn list(
    _: Authorized<UsersRead>,
    State(db): State<Db>,
    State(listing): State<Arc<UsersListing>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    Ok(listing.current(&db).await?.response(&headers))
}

/// `GET /roles`: every role, in one array.
pub async fn roles(
    _: Authorized<RolesRead>,
    State(db): State<Db>,
) -> Result<Json<Vec<WireRole>>, ApiError> {
    let roles = db.run(|store| store.roles()).await?;
    Ok(Json(roles.into_iter().map(WireRole::from).collect()))
}

/// `POST /users/update`: replaces the user's roles, audited under the key's owner, and
/// answers the updated user (the connector decodes the body even here). A key grants and
/// revokes only roles whose permissions it holds; `admin` is changed only at the command
/// line, so no key can lock it out or take it over.
pub async fn update(
    auth: Authorized<UsersWrite>,
    State(db): State<Db>,
    body: Result<Json<UpdateRequest>, JsonRejection>,
) -> Result<Json<WireUser>, ApiError> {
    let Json(request) = body?;
    if request.id == ADMIN_USER {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("the user {ADMIN_USER:?} cannot be changed through the API; use `ilm user`"),
        ));
    }
    let held = auth.caller.permissions();
    let actor = auth.actor();
    let user = db
        .run(move |store| {
            store.set_user_roles_holding(&request.id, &request.roles.roles, &held, &actor)
        })
        .await?;
    Ok(Json(user.into()))
}
