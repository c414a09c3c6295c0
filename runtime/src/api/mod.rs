//! The XSOAR-compatible REST API behind `ilm serve`. ConductorOne's XSOAR connector syncs
//! the runtime's users and roles through it and grants or revokes roles; scripts and people
//! read incidents and user profiles, answer an incident's question, retry a failed one, and
//! read the runtime's status. Every endpoint answers at the root and under `/xsoar`,
//! with or without doubled slashes; every answer, errors included, is JSON, gzip-compressed
//! when the client accepts it. Every request is logged, and a client is held to time and
//! connection limits and locked out after repeated failed authentications.

mod access_log;
mod auth;
mod body_deadline;
mod connections;
mod db;
mod error;
mod incidents;
mod listing;
mod lockout;
mod paths;
mod profiles;
#[cfg(test)]
mod proptests;
mod resume;
mod server;
mod status;
mod tls;
mod users;

pub use connections::ConnectionLimits;
pub use db::Db;
pub use lockout::{Lockout, LockoutPolicy};
pub use resume::{resume, Resumed};
pub use server::{Limits, Server, Transport};
pub use status::Plugins;
pub use tls::{self_signed_paths, Tls};

use crate::store::PageRequest;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::middleware;
use axum::routing::{get, post};
use axum::Router;
use error::ApiError;
use listing::UsersListing;
use std::sync::Arc;
use std::time::Duration;
use tower_http::compression::{CompressionLayer, CompressionLevel};

/// Request bodies over this size are refused with 413 before parsing; the largest real one,
/// a user's role list, is far smaller.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What handlers share.
#[derive(Clone)]
struct AppState {
    db: Db,
    users: Arc<UsersListing>,
    lockout: Arc<Lockout>,
    plugins: Arc<Plugins>,
}

impl FromRef<AppState> for Db {
    fn from_ref(state: &AppState) -> Db {
        state.db.clone()
    }
}

impl FromRef<AppState> for Arc<UsersListing> {
    fn from_ref(state: &AppState) -> Self {
        state.users.clone()
    }
}

impl FromRef<AppState> for Arc<Plugins> {
    fn from_ref(state: &AppState) -> Self {
        state.plugins.clone()
    }
}

impl FromRef<AppState> for Arc<Lockout> {
    fn from_ref(state: &AppState) -> Self {
        state.lockout.clone()
    }
}

/// The routes; [`Server`] puts [`paths::normalize`] in front of them and gives each request
/// the client's address (`ConnectInfo`). A request's body must arrive within `body_deadline`.
fn router(db: Db, plugins: Arc<Plugins>, lockout: Arc<Lockout>, body_deadline: Duration) -> Router {
    Router::new()
        .route("/user", get(users::me))
        .route("/users", get(users::list))
        .route("/roles", get(users::roles))
        .route("/users/update", post(users::update))
        .route("/incidents", get(incidents::search))
        .route("/incidents/{id}", get(incidents::get))
        .route("/incidents/{id}/answer", post(incidents::answer))
        .route("/incidents/{id}/retry", post(incidents::retry))
        .route("/status", get(status::get))
        .route("/profiles", get(profiles::search))
        .route("/profiles/{email}", get(profiles::get))
        .merge(crate::console::routes())
        .fallback(error::no_endpoint)
        .method_not_allowed_fallback(error::wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(
            body_deadline,
            body_deadline::limit_body,
        ))
        // `GET /users` comes gzipped from its cache; the other answers are small, and at the
        // fastest level compression costs less than it saves.
        .layer(CompressionLayer::new().quality(CompressionLevel::Fastest))
        .layer(middleware::from_fn_with_state(
            lockout.clone(),
            lockout::refuse_locked_out,
        ))
        // Outermost, so that its duration and status cover everything, 429s included.
        .layer(middleware::from_fn(access_log::log_request))
        .with_state(AppState {
            db,
            users: Arc::default(),
            lockout,
            plugins,
        })
}

/// The paging of a search from its query parameters.
fn page_request(page: Option<u32>, size: Option<u32>) -> Result<PageRequest, ApiError> {
    Ok(PageRequest::new(
        page.unwrap_or(0),
        size.unwrap_or(PageRequest::DEFAULT_SIZE),
    )?)
}
