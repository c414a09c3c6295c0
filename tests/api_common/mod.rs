//! Shared helpers for the API tests: a runtime holding the people of the connector spec's
//! mock (admin; alice with Analyst and Read-Only; bob with Analyst, disabled), an
//! `ilm serve` started in-process over HTTPS on a free loopback port, API keys of every
//! kind, and a client that talks like ConductorOne's connector: the raw key in
//! `Authorization`, `Content-Type: application/json` even on GETs, `Accept-Encoding: gzip`.
#![allow(dead_code)] // each test binary uses its own subset

use flate2::read::GzDecoder;
use ilm::api::{Db, Limits, Plugins, Server, Tls, Transport};
use ilm::mail::Mailer;
use ilm::mappers::MapperCache;
use ilm::playbooks::{ScriptDirs, Services};
use ilm::plugins::{Host, HostConfig};
use ilm::store::{Actor, NewApiKey, NewIncident, NewUser, Store};
use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// API keys of every kind the RBAC matrix covers.
pub struct Keys {
    /// admin, Administrator.
    pub admin: String,
    pub admin_id: i64,
    /// alice, Read-Only.
    pub read_only: String,
    /// admin, Administrator, expired a minute ago.
    pub expired: String,
    /// admin, Administrator, revoked.
    pub revoked: String,
    /// bob's key, made before bob was disabled.
    pub disabled_owner: String,
    /// Well-formed, never issued.
    pub unknown: String,
    /// The admin key's lookup prefix with a wrong secret after it.
    pub wrong_secret: String,
}

/// A data directory with people, keys, an incident and a profile, and a server on it.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub server: Server,
    /// `https://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
    pub keys: Keys,
    pub incident_id: i64,
}

pub const ALICE_EMAIL: &str = "alice@example.com";

impl Fixture {
    pub fn start() -> Self {
        Self::start_with(Limits::default())
    }

    /// The fixture, with the server held to `limits`.
    pub fn start_with(limits: Limits) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (keys, incident_id) = populate(&Store::open(db_path(dir.path())).expect("store"));
        let server = start_https_with(dir.path(), limits);
        let base = format!("https://{}", server.addr());
        Self {
            dir,
            server,
            base,
            keys,
            incident_id,
        }
    }

    /// A second handle on the server's database, to check what a request changed.
    pub fn store(&self) -> Store {
        Store::open(db_path(self.dir.path())).expect("store")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("ilm.db")
}

/// `ilm serve` in-process: the data directory's self-signed certificate, port 0.
pub fn start_https(data_dir: &Path) -> Server {
    start_https_with(data_dir, Limits::default())
}

/// [`start_https`] with the server held to `limits`.
pub fn start_https_with(data_dir: &Path, limits: Limits) -> Server {
    serve(data_dir, plugins(data_dir, None), limits)
}

/// [`start_https`] as `ilm serve` with a playbooks folder runs: an answer resumes its
/// incident at once with the playbooks in `books`, mailing through `smtp` if given.
pub fn start_https_running(data_dir: &Path, books: &Path, smtp: Option<&str>) -> Server {
    let mailer = smtp.map(|url| Mailer::new(url, "ilm@acme.test").expect("mailer"));
    let host = Arc::new(host(data_dir));
    let services = Services::new(db_path(data_dir), host, &ScriptDirs::under(books), mailer)
        .expect("playbook services");
    serve(
        data_dir,
        plugins(data_dir, Some(Arc::new(services))),
        Limits::default(),
    )
}

fn serve(data_dir: &Path, plugins: Plugins, limits: Limits) -> Server {
    let tls = Tls::self_signed(data_dir).expect("self-signed certificate");
    let db = Db::open(&db_path(data_dir).into()).expect("database");
    Server::start_with(
        db,
        plugins,
        "127.0.0.1:0".parse().expect("address"),
        Transport::Https(tls.config),
        limits,
    )
    .expect("server")
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The built plugins.
fn host(data_dir: &Path) -> Host {
    Host::new(HostConfig {
        plugins_dir: repo().join("dist/plugins"),
        cache_dir: data_dir.join("cache"),
    })
    .expect("plugin host")
}

/// The built plugins and the shipped mappers, as `ilm serve` in a checkout uses them.
fn plugins(data_dir: &Path, playbooks: Option<Arc<Services>>) -> Plugins {
    let transformers = ilm::transformers::Transformers::new(&repo().join("playbooks/transformers"));
    Plugins {
        host: host(data_dir),
        mappers: MapperCache::new(&repo().join("playbooks/mappers"), Arc::new(transformers)),
        playbooks,
    }
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn user(username: &str, first: &str, last: &str, roles: &[&str]) -> NewUser {
    NewUser {
        username: username.into(),
        name: format!("{first} {last}"),
        first_name: first.into(),
        last_name: last.into(),
        email: format!("{username}@example.com"),
        roles: roles.iter().map(|r| r.to_string()).collect(),
    }
}

fn key(store: &Store, user: &str, role: &str, expires_at: Option<i64>) -> (String, i64) {
    let created = store
        .create_api_key(
            &NewApiKey {
                user,
                role,
                expires_at,
                comment: "test",
            },
            &Actor::Cli,
        )
        .expect("api key");
    (created.key, created.record.id)
}

/// Adds the people and keys, an incident for alice and her profile; returns the keys and
/// the incident's id.
pub fn populate(store: &Store) -> (Keys, i64) {
    store
        .add_user(
            &user("alice", "Alice", "Smith", &["Analyst", "Read-Only"]),
            &Actor::Cli,
        )
        .expect("alice");
    store
        .add_user(&user("bob", "Bob", "Jones", &["Analyst"]), &Actor::Cli)
        .expect("bob");
    let (admin, admin_id) = key(store, "admin", "Administrator", None);
    let (read_only, _) = key(store, "alice", "Read-Only", Some(now() + 3600));
    let (expired, _) = key(store, "admin", "Administrator", Some(now() - 60));
    let (revoked, revoked_id) = key(store, "admin", "Administrator", None);
    store
        .revoke_api_key(revoked_id, &Actor::Cli)
        .expect("revoke");
    let (disabled_owner, _) = key(store, "bob", "Analyst", None);
    store
        .set_user_disabled("bob", true, &Actor::Cli)
        .expect("disable bob");
    let wrong_secret = format!("{}{}", &admin[..16], "0".repeat(admin.len() - 16));
    let mut fields = Map::new();
    fields.insert("email".into(), json!(ALICE_EMAIL));
    let incident = store
        .create_incident(&NewIncident {
            kind: "IAM - New Hire",
            name: ALICE_EMAIL,
            fields: &fields,
        })
        .expect("incident");
    let mut profile = Map::new();
    profile.insert("employeeid".into(), json!("1001"));
    profile.insert("displayname".into(), json!("Alice Smith"));
    store.put_profile(ALICE_EMAIL, &profile).expect("profile");
    let keys = Keys {
        admin,
        admin_id,
        read_only,
        expired,
        revoked,
        disabled_owner,
        unknown: "AB".repeat(32),
        wrong_secret,
    };
    (keys, incident.id)
}

/// Trusts any certificate, as the connector's `--unsafe` does for a self-signed server.
pub fn client() -> Client {
    Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .expect("client")
}

/// An answer with its body un-gzipped.
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: {e}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The `detail` of a JSON error body (and checks that the body is one).
    pub fn error_detail(&self) -> String {
        let body: Value = self.json();
        assert_eq!(body["status"], json!(self.status), "{body}");
        body["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("no detail in {body}"))
            .to_owned()
    }
}

/// A request with the connector's headers; `key` goes raw into `Authorization`.
pub fn send(
    client: &Client,
    method: reqwest::Method,
    url: &str,
    key: Option<&str>,
    body: Option<String>,
) -> Reply {
    let mut request = client
        .request(method, url)
        .header("Accept", "application/json")
        .header("Content-Type", "application/json")
        .header("User-Agent", "baton-sdk/0.0.26")
        .header("Accept-Encoding", "gzip");
    if let Some(key) = key {
        request = request.header("Authorization", key);
    }
    if let Some(body) = body {
        request = request.body(body);
    }
    let response = request.send().unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let raw = response.bytes().expect("body").to_vec();
    let body = if headers.get("content-encoding").is_some_and(|v| v == "gzip") {
        let mut plain = Vec::new();
        GzDecoder::new(raw.as_slice())
            .read_to_end(&mut plain)
            .expect("gzip body");
        plain
    } else {
        raw
    };
    Reply {
        status,
        headers,
        body,
    }
}

pub fn get(client: &Client, url: &str, key: Option<&str>) -> Reply {
    send(client, reqwest::Method::GET, url, key, None)
}

pub fn post(client: &Client, url: &str, key: Option<&str>, body: impl Into<String>) -> Reply {
    send(client, reqwest::Method::POST, url, key, Some(body.into()))
}
