//! `GET /users` is the connector's heaviest call, and it makes it once per role during a
//! sync. So the listing is kept encoded, and gzipped, until the people change. Every change
//! to a user or role adds a row or bumps a version, which the store's people stamp reflects
//! whichever process made it (the CLI included), so a stale listing is never served.

use super::users::WireUser;
use super::Db;
use crate::store::PeopleStamp;
use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// The last listing built, if any.
#[derive(Default)]
pub struct UsersListing(Mutex<Option<Arc<Encoded>>>);

/// The listing as JSON, plain and gzipped.
pub struct Encoded {
    stamp: PeopleStamp,
    json: Bytes,
    gzip: Bytes,
}

impl UsersListing {
    /// The current listing, rebuilt when the people changed since the last one.
    pub async fn current(&self, db: &Db) -> Result<Arc<Encoded>> {
        let stamp = db.run(|store| store.people_stamp()).await?;
        if let Some(cached) = self.cached().filter(|c| c.stamp == stamp) {
            return Ok(cached);
        }
        // Stamp first, then users: a change in between only makes the next request rebuild.
        let encoded = db
            .run(|store| {
                let stamp = store.people_stamp()?;
                let users: Vec<WireUser> = store.users()?.into_iter().map(Into::into).collect();
                Encoded::new(stamp, &users)
            })
            .await?;
        let encoded = Arc::new(encoded);
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(encoded.clone());
        Ok(encoded)
    }

    fn cached(&self) -> Option<Arc<Encoded>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Encoded {
    fn new(stamp: PeopleStamp, users: &[WireUser]) -> Result<Self> {
        let json = serde_json::to_vec(users).context("encoding the users")?;
        // The fastest level: the listing is mostly repeated keys, which compress well anyway.
        let mut gzip = GzEncoder::new(Vec::with_capacity(json.len() / 6), Compression::fast());
        gzip.write_all(&json).context("compressing the users")?;
        Ok(Self {
            stamp,
            gzip: gzip.finish().context("compressing the users")?.into(),
            json: json.into(),
        })
    }

    /// The answer, gzipped when the request accepts it.
    pub fn response(&self, request: &HeaderMap) -> Response {
        let json = HeaderValue::from_static("application/json");
        let vary = HeaderValue::from_static("accept-encoding");
        if accepts_gzip(request) {
            let gzip = HeaderValue::from_static("gzip");
            (
                [
                    (header::CONTENT_TYPE, json),
                    (header::CONTENT_ENCODING, gzip),
                    (header::VARY, vary),
                ],
                self.gzip.clone(),
            )
                .into_response()
        } else {
            (
                [(header::CONTENT_TYPE, json), (header::VARY, vary)],
                self.json.clone(),
            )
                .into_response()
        }
    }
}

/// True when `Accept-Encoding` lists `gzip` (or `*`) without `q=0`.
fn accepts_gzip(request: &HeaderMap) -> bool {
    request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            (coding.eq_ignore_ascii_case("gzip") || coding == "*") && !refused
        })
}

#[cfg(test)]
mod tests {
    use super::accepts_gzip;
    use axum::http::{header, HeaderMap, HeaderValue};

    #[test]
    fn gzip_when_accepted() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static(value));
            accepts_gzip(&headers)
        };
        assert!(with("gzip"));
        assert!(with("deflate, gzip;q=0.5"));
        assert!(with("*"));
        assert!(!with("gzip;q=0"));
        assert!(!with("br, deflate"));
        assert!(!accepts_gzip(&HeaderMap::new()));
    }
}
