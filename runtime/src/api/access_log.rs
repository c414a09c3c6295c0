//! The request log: one `info` line per request with its method, path, status, the id of
//! the key that was accepted (none when no key was), the client's address and the time
//! taken. The key is known only to the authentication extractor, deep inside; so this
//! middleware hands each request a [`KeySlot`] that the extractor fills in.

use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// Where the authentication extractor leaves the id of the key it accepted.
#[derive(Clone, Default)]
pub struct KeySlot(Arc<OnceLock<i64>>);

impl KeySlot {
    pub fn fill(&self, key_id: i64) {
        // Only one key per request: a second extraction finds the same key.
        let _ = self.0.set(key_id);
    }
}

/// Middleware: logs the request once it has been answered.
pub async fn log_request(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    // The path only: queries can hold search terms such as email addresses.
    let path = request.uri().path().to_owned();
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip());
    let slot = KeySlot::default();
    request.extensions_mut().insert(slot.clone());
    let response = next.run(request).await;
    tracing::info!(
        method = %method,
        path,
        status = response.status().as_u16(),
        key_id = slot.0.get().copied(),
        client = client.map(tracing::field::display),
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}
