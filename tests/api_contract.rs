//! Contract tests: ConductorOne's XSOAR connector, replayed against `ilm serve` over HTTPS
//! (shared/spec/conductorone-xsoar-api.md). The connector appends `/<endpoint>` to its API
//! URL as given, sends its exact headers, treats any status >= 300 as an error, and decodes
//! into the strict types of its user and role objects (a float `version`, `permissions` as an object, or `roles`
//! as anything but an object of string arrays fails the whole sync).

mod api_common;

use api_common::{client, get, send, Fixture, Reply};
use reqwest::blocking::Client;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

/// The user object, as the connector decodes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct XsoarUser {
    id: String,
    version: i64,
    username: String,
    name: String,
    first_name: String,
    last_name: String,
    email: String,
    roles: HashMap<String, Vec<String>>,
    disabled: bool,
}

impl XsoarUser {
    /// The connector joins every scope's array into one list of role names.
    fn role_names(&self) -> Vec<String> {
        self.roles.values().flatten().cloned().collect()
    }
}

/// The role object, as the connector decodes it.
#[derive(Debug, Deserialize)]
struct XsoarRole {
    id: String,
    version: i64,
    name: String,
    permissions: Vec<String>,
}

/// (role name, user id) pairs, as the connector derives them.
type Grants = BTreeSet<(String, String)>;

/// The connector's client: `{api_url}/{endpoint}`, untrimmed.
struct Connector<'a> {
    client: &'a Client,
    api_url: String,
    token: &'a str,
}

impl Connector<'_> {
    fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        endpoint: &str,
        body: Option<String>,
    ) -> Result<T, String> {
        let url = format!("{}/{endpoint}", self.api_url);
        let reply: Reply = send(self.client, method.clone(), &url, Some(self.token), body);
        if reply.status >= 300 {
            return Err(format!("{method} {url}: status {}", reply.status));
        }
        // Decoded even for the POST: an empty body fails with EOF.
        serde_json::from_slice(&reply.body).map_err(|e| format!("{method} {url}: {e}"))
    }

    fn get<T: DeserializeOwned>(&self, endpoint: &str) -> Result<T, String> {
        self.call(Method::GET, endpoint, None)
    }

    /// Sync: `GET /user`, `GET /users`, `GET /roles`, then `GET /users` once per role.
    /// Returns the users and the grants (role name, user id).
    fn sync(&self) -> Result<(Vec<XsoarUser>, Grants), String> {
        let me: XsoarUser = self.get("user")?;
        assert!(!me.id.is_empty());
        let users: Vec<XsoarUser> = self.get("users")?;
        let roles: Vec<XsoarRole> = self.get("roles")?;
        let mut grants = BTreeSet::new();
        for role in &roles {
            assert_eq!(role.id, role.name, "keep id == name");
            assert!(role.version >= 1);
            assert!(!role.permissions.is_empty());
            let users: Vec<XsoarUser> = self.get("users")?;
            for user in users {
                if user.role_names().contains(&role.name) {
                    grants.insert((role.name.clone(), user.id));
                }
            }
        }
        Ok((users, grants))
    }

    /// Grant: `GET /user`, `GET /users`, `POST /users/update` with the old names plus the new.
    fn grant(&self, user_id: &str, role: &str) -> Result<XsoarUser, String> {
        self.change(user_id, |names| {
            if names.iter().any(|n| n == role) {
                return Err(format!("{user_id} already has {role}"));
            }
            names.push(role.to_owned());
            Ok(())
        })
    }

    /// Revoke: the same calls, with the role taken out; the last role is never removed.
    fn revoke(&self, user_id: &str, role: &str) -> Result<XsoarUser, String> {
        self.change(user_id, |names| {
            let before = names.len();
            names.retain(|n| n != role);
            match names.len() {
                0 => Err("refusing to remove the last role".into()),
                n if n == before => Err(format!("{user_id} does not have {role}")),
                _ => Ok(()),
            }
        })
    }

    fn change(
        &self,
        user_id: &str,
        edit: impl FnOnce(&mut Vec<String>) -> Result<(), String>,
    ) -> Result<XsoarUser, String> {
        let me: XsoarUser = self.get("user")?;
        if user_id == "admin" || user_id == me.id {
            return Err("the connector never provisions admin or itself".into());
        }
        let users: Vec<XsoarUser> = self.get("users")?;
        let user = users
            .iter()
            .find(|u| u.id == user_id)
            .ok_or_else(|| format!("no user {user_id}"))?;
        let mut names = user.role_names();
        edit(&mut names)?;
        let body = serde_json::json!({"id": user_id, "roles": {"roles": names}}).to_string();
        self.call(Method::POST, "users/update", Some(body))
    }
}

fn mock_grants() -> Grants {
    [
        ("Administrator", "admin"),
        ("Analyst", "alice"),
        ("Analyst", "bob"),
        ("Read-Only", "alice"),
    ]
    .into_iter()
    .map(|(r, u)| (r.to_owned(), u.to_owned()))
    .collect()
}

#[test]
fn sync_grant_and_revoke_with_every_form_of_the_api_url() {
    let fx = Fixture::start();
    let client = client();
    for api_url in [
        fx.base.clone(),
        format!("{}/", fx.base),
        format!("{}/xsoar", fx.base),
        format!("{}/xsoar/", fx.base), // yields //users, as observed
    ] {
        let connector = Connector {
            client: &client,
            api_url: api_url.clone(),
            token: &fx.keys.admin,
        };
        let (users, grants) = connector
            .sync()
            .unwrap_or_else(|e| panic!("{api_url}: {e}"));
        assert_eq!(grants, mock_grants(), "{api_url}");
        let bob = users.iter().find(|u| u.id == "bob").expect("bob");
        assert!(bob.disabled);
        let alice = users.iter().find(|u| u.id == "alice").expect("alice");
        assert_eq!(
            (
                alice.username.as_str(),
                alice.name.as_str(),
                alice.first_name.as_str()
            ),
            ("alice", "Alice Smith", "Alice")
        );
        assert_eq!(
            (alice.last_name.as_str(), alice.email.as_str()),
            ("Smith", "alice@example.com")
        );
        assert_eq!(alice.roles.keys().collect::<Vec<_>>(), ["demisto"]);

        let granted = connector.grant("alice", "Administrator").expect("grant");
        assert_eq!(granted.id, "alice");
        assert_eq!(
            granted.role_names(),
            ["Analyst", "Read-Only", "Administrator"]
        );
        let (_, grants) = connector.sync().expect("sync after grant");
        assert!(grants.contains(&("Administrator".into(), "alice".into())));

        let revoked = connector.revoke("alice", "Administrator").expect("revoke");
        assert_eq!(revoked.role_names(), ["Analyst", "Read-Only"]);
        assert!(revoked.version > granted.version);
        assert_eq!(
            connector.sync().expect("sync after revoke").1,
            mock_grants()
        );
        assert!(
            connector.revoke("bob", "Analyst").is_err(),
            "bob's last role"
        );
    }
    // Two audited changes per form of the URL, all under the admin key.
    let changes: Vec<_> = fx
        .store()
        .audit_log(100)
        .expect("audit")
        .into_iter()
        .filter(|e| e.action == "user.set-roles")
        .collect();
    assert_eq!(changes.len(), 8);
    assert!(changes
        .iter()
        .all(|e| e.actor == "admin" && e.api_key == Some(fx.keys.admin_id)));
}

#[test]
fn a_bad_token_fails_the_sync_at_the_first_call() {
    let fx = Fixture::start();
    let client = client();
    for token in [&fx.keys.unknown, &fx.keys.revoked, &fx.keys.expired] {
        let connector = Connector {
            client: &client,
            api_url: format!("{}/xsoar/", fx.base),
            token,
        };
        let err = connector.sync().expect_err("must fail");
        assert!(err.contains("//user: status 401"), "{err}");
    }
}

#[test]
fn answers_are_gzipped_when_the_client_accepts_it() {
    let fx = Fixture::start();
    let client = client();
    let zipped = get(&client, &fx.url("/xsoar//users"), Some(&fx.keys.admin));
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.headers["content-encoding"], "gzip");
    assert_eq!(zipped.headers["content-type"], "application/json");
    let users: Vec<XsoarUser> = zipped.json();
    assert_eq!(users.len(), 3);
    let plain = client
        .get(fx.url("/users"))
        .header("Authorization", &fx.keys.admin)
        .send()
        .expect("request");
    assert!(plain.headers().get("content-encoding").is_none());
    let users: Vec<XsoarUser> =
        serde_json::from_slice(&plain.bytes().expect("body")).expect("users");
    assert_eq!(users.len(), 3);
}

#[test]
fn the_self_signed_certificate_verifies_and_keeps_its_fingerprint() {
    let fx = Fixture::start();
    let (cert_path, _) = ilm::api::self_signed_paths(fx.dir.path());
    let pem = std::fs::read(&cert_path).expect("certificate");
    // A client that trusts exactly this certificate (instead of `--unsafe`).
    let pinned = Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("pem"))
        .build()
        .expect("client");
    let url = format!("https://localhost:{}/user", fx.server.addr().port());
    let reply = get(&pinned, &url, Some(&fx.keys.admin));
    assert_eq!(reply.status, 200);
    // Loading again reuses the pair: same fingerprint.
    let first = ilm::api::Tls::self_signed(fx.dir.path()).expect("tls");
    let again = ilm::api::Tls::self_signed(fx.dir.path()).expect("tls");
    assert!(!first.generated && !again.generated);
    assert_eq!(first.fingerprint, again.fingerprint);
    assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
    // No plaintext on the TLS port.
    let plain = Client::new()
        .get(format!("http://127.0.0.1:{}/user", fx.server.addr().port()))
        .header("Authorization", &fx.keys.admin)
        .send();
    assert!(plain.map_or(true, |r| !r.status().is_success()));
}

#[test]
fn a_change_made_elsewhere_shows_in_the_next_listing() {
    let fx = Fixture::start();
    let client = client();
    let ids = || -> Vec<String> {
        let users: Vec<XsoarUser> = get(&client, &fx.url("/users"), Some(&fx.keys.admin)).json();
        users.into_iter().map(|u| u.id).collect()
    };
    assert_eq!(ids(), ["admin", "alice", "bob"]);
    // Another process (here a second connection, as the CLI would be) changes the people.
    let store = fx.store();
    store
        .add_user(
            &ilm::store::NewUser {
                username: "carol".into(),
                name: "Carol".into(),
                roles: vec!["Analyst".into()],
                ..Default::default()
            },
            &ilm::store::Actor::Cli,
        )
        .expect("carol");
    assert_eq!(ids(), ["admin", "alice", "bob", "carol"]);
    store
        .set_user_disabled("carol", true, &ilm::store::Actor::Cli)
        .expect("disable");
    let users: Vec<XsoarUser> = get(&client, &fx.url("/users"), Some(&fx.keys.admin)).json();
    assert!(users.iter().any(|u| u.id == "carol" && u.disabled));
}
