//! Error answers: every failure is a 4xx or 5xx whose body is a JSON object
//! `{"status": 404, "error": "Not Found", "detail": "no user \"bob\""}`.

use crate::store::Refusal;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    detail: String,
}

impl ApiError {
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        Self {
            status,
            detail: detail.into(),
        }
    }
}

#[derive(Serialize)]
struct Body<'a> {
    status: u16,
    error: &'a str,
    detail: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            status: self.status.as_u16(),
            error: self.status.canonical_reason().unwrap_or("Error"),
            detail: &self.detail,
        };
        (self.status, Json(body)).into_response()
    }
}

/// A refusal from the store is the client's mistake; anything else is ours, and its details
/// go to the log rather than to the client.
impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        let status = match err.downcast_ref::<Refusal>() {
            Some(Refusal::NotFound(_)) => StatusCode::NOT_FOUND,
            Some(Refusal::Invalid(_)) => StatusCode::BAD_REQUEST,
            Some(Refusal::Conflict(_)) => StatusCode::CONFLICT,
            Some(Refusal::Forbidden(_)) => StatusCode::FORBIDDEN,
            None => {
                tracing::error!("request failed: {err:#}");
                return Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error; the server log has the details",
                );
            }
        };
        Self::new(status, err.to_string())
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        anyhow::Error::from(refusal).into()
    }
}

/// axum's extractor rejections (bad JSON, wrong types, unknown fields, a body over the
/// limit, a bad query string or path) keep their 4xx status and message.
macro_rules! from_rejection {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                Self::new(rejection.status(), rejection.body_text())
            }
        }
    )*};
}

from_rejection!(JsonRejection, QueryRejection, PathRejection);

/// The answer for a path no endpoint serves.
pub async fn no_endpoint() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such endpoint")
}

/// The answer for a known path with the wrong method.
pub async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}
