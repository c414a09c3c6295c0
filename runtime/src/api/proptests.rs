//! Property tests of the API's request bodies, driven through the real router in process:
//! whatever a client sends to `POST /users/update` (any JSON, a valid body bent out of
//! shape, bytes that are not JSON at all), the answer is a success or a 4xx whose JSON body
//! says why, never a 5xx and never a panic.

use super::lockout::Lockout;
use super::{router, Db, LockoutPolicy, Plugins};
use crate::mappers::MapperCache;
use crate::plugins::{Host, HostConfig};
use crate::store::{Actor, NewApiKey, NewUser, Store};
use crate::testing::{config, json, text};
use crate::transformers::Transformers;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request};
use axum::Router;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tower::ServiceExt;

/// A router over a database with users alice and bob and an Administrator key, shared by
/// every case (a successful update changes a user's roles, as a real client's would).
struct Api {
    _dir: tempfile::TempDir,
    router: Router,
    key: String,
    runtime: tokio::runtime::Runtime,
}

impl Api {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ilm.db");
        let store = Store::open(&path).unwrap();
        for (name, roles) in [
            ("alice", &["Analyst", "Read-Only"][..]),
            ("bob", &["Analyst"]),
        ] {
            let new = NewUser {
                username: name.into(),
                name: name.into(),
                first_name: name.into(),
                last_name: name.into(),
                email: format!("{name}@example.com"),
                roles: roles.iter().map(|r| r.to_string()).collect(),
            };
            store.add_user(&new, &Actor::Cli).unwrap();
        }
        let key = store
            .create_api_key(
                &NewApiKey {
                    user: "admin",
                    role: "Administrator",
                    expires_at: None,
                    comment: "property tests",
                },
                &Actor::Cli,
            )
            .unwrap()
            .key;
        let lockout = Arc::new(Lockout::new(LockoutPolicy::default()));
        Self {
            router: router(
                Db::open(&(&path).into()).unwrap(),
                Arc::new(no_plugins(dir.path())),
                lockout,
                Duration::from_secs(10),
            ),
            _dir: dir,
            key,
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap(),
        }
    }

    /// Posts `body` as JSON to `/users/update`; the status and the answer's JSON.
    fn update(&self, body: Vec<u8>) -> (u16, Value) {
        let mut request = Request::post("/users/update")
            .header(header::AUTHORIZATION, &self.key)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .unwrap();
        let peer: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(peer));
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(request).await.unwrap();
            let status = response.status().as_u16();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let answer = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                Value::from(format!("not JSON: {}", String::from_utf8_lossy(&bytes)))
            });
            (status, answer)
        })
    }
}

fn api() -> &'static Api {
    static API: OnceLock<Api> = OnceLock::new();
    API.get_or_init(Api::new)
}

/// A success, or a 4xx whose JSON error names the status and says why.
fn answered_with_a_reason(status: u16, answer: &Value) -> Result<(), TestCaseError> {
    prop_assert!(status < 500, "{status}: {answer}");
    if status >= 300 {
        prop_assert!((400..500).contains(&status), "{status}: {answer}");
        prop_assert_eq!(
            answer["status"].as_u64(),
            Some(u64::from(status)),
            "{}",
            answer
        );
        let detail = answer["detail"].as_str().unwrap_or_default();
        prop_assert!(
            !detail.trim().is_empty(),
            "{status} without a reason: {answer}"
        );
    } else {
        prop_assert!(answer["roles"]["demisto"].is_array(), "{answer}");
    }
    Ok(())
}

/// A user id as a client might send one: real users, `admin`, unknown ones, odd text.
fn user_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec!["alice", "bob", "admin", "carol", ""]).prop_map(Value::from),
        1 => text().prop_map(Value::from),
    ]
}

/// A role name: real roles, unknown ones, odd text.
fn role_name() -> impl Strategy<Value = Value> {
    prop_oneof![
        3 => prop::sample::select(vec!["Analyst", "Read-Only", "Administrator", "Root"])
            .prop_map(Value::from),
        1 => text().prop_map(Value::from),
    ]
}

/// A well-formed update body.
fn valid_body() -> impl Strategy<Value = Value> {
    (user_id(), prop::collection::vec(role_name(), 0..4))
        .prop_map(|(id, roles)| serde_json::json!({"id": id, "roles": {"roles": roles}}))
}

/// How a valid body is bent: one value replaced by any JSON, a field dropped or added.
#[derive(Debug, Clone)]
enum Mutation {
    ReplaceId(Value),
    ReplaceRoles(Value),
    ReplaceRoleList(Value),
    Drop(&'static str),
    Add(String, Value),
    AddNested(String, Value),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        json().prop_map(Mutation::ReplaceId),
        json().prop_map(Mutation::ReplaceRoles),
        json().prop_map(Mutation::ReplaceRoleList),
        prop::sample::select(vec!["id", "roles"]).prop_map(Mutation::Drop),
        (".{0,8}", json()).prop_map(|(k, v)| Mutation::Add(k, v)),
        (".{0,8}", json()).prop_map(|(k, v)| Mutation::AddNested(k, v)),
    ]
}

fn mutate(mut body: Value, mutation: Mutation) -> Value {
    let object: &mut Map<String, Value> = body.as_object_mut().expect("an object body");
    match mutation {
        Mutation::ReplaceId(value) => {
            object.insert("id".into(), value);
        }
        Mutation::ReplaceRoles(value) => {
            object.insert("roles".into(), value);
        }
        Mutation::ReplaceRoleList(value) => {
            if let Some(roles) = object.get_mut("roles").and_then(Value::as_object_mut) {
                roles.insert("roles".into(), value);
            }
        }
        Mutation::Drop(key) => {
            object.remove(key);
        }
        Mutation::Add(key, value) => {
            object.insert(key, value);
        }
        Mutation::AddNested(key, value) => {
            if let Some(roles) = object.get_mut("roles").and_then(Value::as_object_mut) {
                roles.insert(key, value);
            }
        }
    }
    body
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn any_json_body_is_answered_with_success_or_a_4xx_with_its_reason(body in json()) {
        let (status, answer) = api().update(body.to_string().into_bytes());
        answered_with_a_reason(status, &answer)?;
    }

    #[test]
    fn a_bent_update_is_answered_with_success_or_a_4xx_with_its_reason(
        body in valid_body(),
        mutations in prop::collection::vec(mutation(), 0..3),
        cut in prop::option::weighted(0.2, any::<prop::sample::Index>()),
    ) {
        // An unbent body for a real user with real roles is a success: the cases reach
        // the store, not only the JSON parser.
        let grantable = ["Analyst", "Read-Only", "Administrator"];
        let sound = mutations.is_empty()
            && cut.is_none()
            && matches!(body["id"].as_str(), Some("alice" | "bob"))
            && body["roles"]["roles"].as_array().is_some_and(|roles| {
                !roles.is_empty()
                    && roles.iter().all(|r| r.as_str().is_some_and(|r| grantable.contains(&r)))
            });
        let body = mutations.into_iter().fold(body, mutate);
        let mut bytes = body.to_string().into_bytes();
        // Sometimes the body stops short, mid-token or mid-character.
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        let (status, answer) = api().update(bytes);
        answered_with_a_reason(status, &answer)?;
        if sound {
            prop_assert_eq!(status, 200, "{}", answer);
        }
    }

    #[test]
    fn bytes_that_are_not_json_are_a_4xx_with_its_reason(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
    ) {
        let (status, answer) = api().update(bytes);
        answered_with_a_reason(status, &answer)?;
    }
}

/// No plugins: the bodies under test never reach one.
fn no_plugins(dir: &Path) -> Plugins {
    Plugins {
        host: Host::new(HostConfig {
            plugins_dir: dir.join("plugins"),
            cache_dir: dir.join("cache"),
        })
        .unwrap(),
        mappers: MapperCache::new(
            &dir.join("mappers"),
            Arc::new(Transformers::new(&dir.join("transformers"))),
        ),
        playbooks: None,
    }
}
