//! RBAC: every endpoint × every kind of key, asserting the status; the `x-xdr-auth-id`
//! check; a custom role's limits; and the audit entry of a role change.

mod api_common;

use api_common::{client, get, post, send, Fixture, ALICE_EMAIL};
use ilm::store::{Actor, NewApiKey, Permission};
use reqwest::Method;
use serde_json::json;

struct Endpoint {
    method: Method,
    path: String,
    body: Option<String>,
    /// Needs `users.write`, which Read-Only lacks.
    writes: bool,
}

fn endpoints(fx: &Fixture) -> Vec<Endpoint> {
    let read = |path: String| Endpoint {
        method: Method::GET,
        path,
        body: None,
        writes: false,
    };
    vec![
        read("/user".into()),
        read("/users".into()),
        read("/roles".into()),
        // alice's current roles: a no-op for the keys that may make it.
        Endpoint {
            method: Method::POST,
            path: "/users/update".into(),
            body: Some(r#"{"id":"alice","roles":{"roles":["Analyst","Read-Only"]}}"#.into()),
            writes: true,
        },
        read("/incidents".into()),
        read("/incidents?type=IAM%20-%20New%20Hire&status=pending".into()),
        read(format!("/incidents/{}", fx.incident_id)),
        read("/profiles".into()),
        read("/profiles?employeeid=1001".into()),
        read(format!("/profiles/{ALICE_EMAIL}")),
    ]
}

#[test]
fn every_endpoint_answers_every_kind_of_key() {
    let fx = Fixture::start();
    let client = client();
    let keys = &fx.keys;
    type Expect = fn(&Endpoint) -> u16;
    let kinds: [(&str, Option<&str>, Expect); 9] = [
        ("no key", None, |_| 401),
        ("unknown key", Some(&keys.unknown), |_| 401),
        (
            "right prefix, wrong secret",
            Some(&keys.wrong_secret),
            |_| 401,
        ),
        ("not a key at all", Some("Bearer x"), |_| 401),
        ("expired", Some(&keys.expired), |_| 401),
        ("revoked", Some(&keys.revoked), |_| 401),
        ("owner disabled", Some(&keys.disabled_owner), |_| 401),
        ("read-only", Some(&keys.read_only), |e| {
            if e.writes {
                403
            } else {
                200
            }
        }),
        ("admin", Some(&keys.admin), |_| 200),
    ];
    let mut wrong = Vec::new();
    let mut checked = 0;
    for endpoint in endpoints(&fx) {
        for (kind, key, expect) in &kinds {
            let reply = send(
                &client,
                endpoint.method.clone(),
                &fx.url(&endpoint.path),
                *key,
                endpoint.body.clone(),
            );
            let expected = expect(&endpoint);
            if reply.status != expected {
                wrong.push(format!(
                    "{} {} with {kind}: {} (expected {expected}): {}",
                    endpoint.method,
                    endpoint.path,
                    reply.status,
                    String::from_utf8_lossy(&reply.body)
                ));
            } else if expected != 200 {
                // Every refusal carries a JSON error body.
                assert!(!reply.error_detail().is_empty());
            }
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {checked} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    assert_eq!(checked, 10 * 9);
    // The no-op updates changed nothing, so nothing was audited.
    let store = fx.store();
    assert!(store
        .audit_log(100)
        .expect("audit")
        .iter()
        .all(|e| e.api_key.is_none()));
}

#[test]
fn x_xdr_auth_id_must_name_the_key() {
    let fx = Fixture::start();
    let client = client();
    let with_id = |id: &str| {
        client
            .get(fx.url("/user"))
            .header("Authorization", &fx.keys.admin)
            .header("x-xdr-auth-id", id)
            .send()
            .expect("request")
            .status()
            .as_u16()
    };
    assert_eq!(with_id(&fx.keys.admin_id.to_string()), 200);
    assert_eq!(with_id(&(fx.keys.admin_id + 1).to_string()), 401);
    assert_eq!(with_id("admin"), 401);
    // Without the header the key alone suffices (XSOAR 6, ConductorOne).
    assert_eq!(
        get(&client, &fx.url("/user"), Some(&fx.keys.admin)).status,
        200
    );
}

#[test]
fn a_custom_role_reaches_only_what_it_grants() {
    let fx = Fixture::start();
    let store = fx.store();
    store
        .add_role("Incident reader", &[Permission::IncidentsRead], &Actor::Cli)
        .expect("role");
    let key = store
        .create_api_key(
            &NewApiKey {
                user: "alice",
                role: "Incident reader",
                expires_at: None,
                comment: "",
            },
            &Actor::Cli,
        )
        .expect("key")
        .key;
    let client = client();
    let status = |path: &str| get(&client, &fx.url(path), Some(&key)).status;
    assert_eq!(status("/user"), 200, "any valid key may ask who it is");
    assert_eq!(status("/incidents"), 200);
    for path in ["/users", "/roles", "/profiles"] {
        assert_eq!(status(path), 403, "{path}");
    }
    let update = post(
        &client,
        &fx.url("/users/update"),
        Some(&key),
        r#"{"id":"bob","roles":{"roles":["Administrator"]}}"#,
    );
    assert_eq!(update.status, 403);
    assert!(update.error_detail().contains("users.write"));
    assert_eq!(
        store.user("bob").expect("bob").expect("bob").roles,
        ["Analyst"]
    );
}

#[test]
fn a_role_change_is_audited_with_the_key_owner() {
    let fx = Fixture::start();
    let client = client();
    let reply = post(
        &client,
        &fx.url("/xsoar/users/update"),
        Some(&fx.keys.admin),
        r#"{"id":"alice","roles":{"roles":["Analyst","Read-Only","Administrator"]}}"#,
    );
    assert_eq!(reply.status, 200);
    let entry = fx.store().audit_log(1).expect("audit").remove(0);
    assert_eq!(entry.action, "user.set-roles");
    assert_eq!(entry.actor, "admin");
    assert_eq!(entry.api_key, Some(fx.keys.admin_id));
    assert_eq!(entry.target, "alice");
    assert_eq!(entry.before, json!(["Analyst", "Read-Only"]));
    assert_eq!(
        entry.after,
        json!(["Analyst", "Read-Only", "Administrator"])
    );
}
