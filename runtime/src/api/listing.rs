//! `GET /users` is the connector's heaviest call, and it makes it once per role during a
//! sync. So the listing is kept encoded, and gzipped, until the people change. Every change
//! to a user or role adds a row or bumps a version, which the store's people stamp reflects
//! whichever process made it (the CLI included), so a stale listing is never served. After
//! a change only the users whose version moved are read and encoded again: reading every
//! user was most of the time a listing took right after a change.

use super::users::WireUser;
use super::Db;
use crate::store::{PeopleStamp, Store, User};
use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

/// When more users than this changed, they are all read again: one query then costs less
/// than a read per changed user.
const READ_ALL_ABOVE: usize = 256;

/// The last listing built, if any.
#[derive(Default)]
pub struct UsersListing(Mutex<Option<Arc<Encoded>>>);

/// The listing as JSON, plain and gzipped, and each user's part of it.
pub struct Encoded {
    stamp: PeopleStamp,
    users: Vec<EncodedUser>,
    json: Bytes,
    gzip: Bytes,
}

/// One user's JSON in the listing, and the version it shows.
#[derive(Clone)]
struct EncodedUser {
    id: Arc<str>,
    version: i64,
    json: Arc<[u8]>,
}

impl UsersListing {
    /// The current listing, rebuilt when the people changed since the last one.
    pub async fn current(&self, db: &Db) -> Result<Arc<Encoded>> {
        let stamp = db.run(|store| store.people_stamp()).await?;
        let previous = self.cached();
        if let Some(cached) = previous.as_ref().filter(|c| c.stamp == stamp) {
            return Ok(cached.clone());
        }
        // Stamp first, then users: a change in between only makes the next request rebuild.
        let encoded = db
            .run(move |store| {
                let stamp = store.people_stamp()?;
                let users = match previous {
                    Some(previous) => changed_since(store, &previous.users)?,
                    None => all_users(store)?,
                };
                Encoded::new(stamp, users)
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

fn all_users(store: &Store) -> Result<Vec<EncodedUser>> {
    store.users()?.into_iter().map(EncodedUser::new).collect()
}

/// The users in id order, encoding again only those who are new or whose version moved
/// since `before` (users are never deleted, so nobody else can have changed).
fn changed_since(store: &Store, before: &[EncodedUser]) -> Result<Vec<EncodedUser>> {
    let known: HashMap<&str, &EncodedUser> = before.iter().map(|u| (&*u.id, u)).collect();
    let unchanged = |id: &str, version: i64| known.get(id).filter(|u| u.version == version);
    let versions = store.user_versions()?;
    let changed = versions
        .iter()
        .filter(|(id, version)| unchanged(id, *version).is_none())
        .count();
    if changed > READ_ALL_ABOVE {
        return all_users(store);
    }
    let mut users = Vec::with_capacity(versions.len());
    for (id, version) in versions {
        match unchanged(&id, version) {
            Some(user) => users.push((*user).clone()),
            // Read after the versions: a later version is fine, the next stamp rebuilds.
            None => users.extend(store.user(&id)?.map(EncodedUser::new).transpose()?),
        }
    }
    Ok(users)
}

impl EncodedUser {
    fn new(user: User) -> Result<Self> {
        let (id, version) = (user.id.as_str().into(), user.version);
        let json = serde_json::to_vec(&WireUser::from(user)).context("encoding a user")?;
        Ok(Self {
            id,
            version,
            json: json.into(),
        })
    }
}

impl Encoded {
    fn new(stamp: PeopleStamp, users: Vec<EncodedUser>) -> Result<Self> {
        // The users' JSON joined as serde_json writes an array: no spaces.
        let size = users.iter().map(|u| u.json.len() + 1).sum::<usize>() + 2;
        let mut json = Vec::with_capacity(size);
        json.push(b'[');
        for (i, user) in users.iter().enumerate() {
            if i > 0 {
                json.push(b',');
            }
            json.extend_from_slice(&user.json);
        }
        json.push(b']');
        // The fastest level: the listing is mostly repeated keys, which compress well anyway.
        let mut gzip = GzEncoder::new(Vec::with_capacity(json.len() / 6), Compression::fast());
        gzip.write_all(&json).context("compressing the users")?;
        Ok(Self {
            stamp,
            users,
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
    use super::*;
    use crate::store::{Actor, NewUser};
    use axum::http::{header, HeaderMap, HeaderValue};

    fn add(store: &Store, name: &str) {
        let user = NewUser {
            username: name.into(),
            name: name.to_uppercase(),
            roles: vec!["Analyst".into()],
            ..Default::default()
        };
        store.add_user(&user, &Actor::Cli).unwrap();
    }

    /// The listing as it was built before it was kept in parts: every user, encoded at once.
    fn whole(store: &Store) -> Vec<u8> {
        let users: Vec<WireUser> = store.users().unwrap().into_iter().map(Into::into).collect();
        serde_json::to_vec(&users).unwrap()
    }

    fn listing(store: &Store, users: Vec<EncodedUser>) -> Encoded {
        Encoded::new(store.people_stamp().unwrap(), users).unwrap()
    }

    #[test]
    fn after_a_change_only_the_changed_users_are_encoded_again() {
        let store = Store::open_in_memory().unwrap();
        for name in ["bob", "carol", "dave"] {
            add(&store, name);
        }
        let first = listing(&store, all_users(&store).unwrap());
        assert_eq!(&first.json[..], &whole(&store)[..]);

        store
            .set_user_roles("bob", &["Read-Only".into()], &Actor::Cli)
            .unwrap();
        store.set_user_disabled("carol", true, &Actor::Cli).unwrap();
        add(&store, "alice");
        let next = listing(&store, changed_since(&store, &first.users).unwrap());
        assert_eq!(
            String::from_utf8_lossy(&next.json),
            String::from_utf8_lossy(&whole(&store))
        );
        let part = |encoded: &Encoded, id: &str| {
            let user = encoded.users.iter().find(|u| &*u.id == id).unwrap();
            user.json.clone()
        };
        // dave and admin did not change: their parts are the ones already encoded.
        for id in ["admin", "dave"] {
            assert!(Arc::ptr_eq(&part(&first, id), &part(&next, id)), "{id}");
        }
        for id in ["bob", "carol"] {
            assert!(!Arc::ptr_eq(&part(&first, id), &part(&next, id)), "{id}");
        }
        let gunzipped = {
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&next.gzip[..]), &mut out)
                .unwrap();
            out
        };
        assert_eq!(gunzipped, &next.json[..]);
    }

    #[test]
    fn many_changes_read_every_user_again() {
        let store = Store::open_in_memory().unwrap();
        let first = listing(&store, all_users(&store).unwrap());
        for i in 0..=READ_ALL_ABOVE {
            add(&store, &format!("user{i:04}"));
        }
        let next = listing(&store, changed_since(&store, &first.users).unwrap());
        assert_eq!(next.users.len(), READ_ALL_ABOVE + 2);
        assert_eq!(&next.json[..], &whole(&store)[..]);
        // Read again with the rest, though admin did not change.
        assert!(!Arc::ptr_eq(&first.users[0].json, &next.users[0].json));
    }

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
