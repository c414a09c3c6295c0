//! RBAC: every endpoint × every kind of key, asserting the status; the `x-xdr-auth-id`
//! check; a custom role's limits; the audit entry of a role change; and the privilege
//! rules: a key grants only what it holds, acts with no more than its owner holds, cannot
//! touch `admin`, and cannot remove the last Administrator.

mod api_common;

use api_common::{client, get, post, send, Fixture, Reply, ALICE_EMAIL};
use ilm::api::{Limits, LockoutPolicy};
use ilm::store::{Actor, NewApiKey, NewUser, Permission, Store};
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
    // Seventy refused keys from one address: lockout would answer most of them 429.
    let fx = Fixture::start_with(Limits {
        lockout: LockoutPolicy {
            max_failures: 0,
            ..LockoutPolicy::default()
        },
        ..Limits::default()
    });
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

/// A key for `user` with `role`, made at the command line.
fn key_for(store: &Store, user: &str, role: &str) -> String {
    store
        .create_api_key(
            &NewApiKey {
                user,
                role,
                expires_at: None,
                comment: "",
            },
            &Actor::Cli,
        )
        .expect("key")
        .key
}

fn add_user(store: &Store, name: &str, roles: &[&str]) {
    store
        .add_user(
            &NewUser {
                username: name.into(),
                name: name.into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                ..Default::default()
            },
            &Actor::Cli,
        )
        .expect("user");
}

fn roles_of(store: &Store, user: &str) -> Vec<String> {
    store.user(user).expect("read").expect("user").roles
}

fn set_roles(fx: &Fixture, key: &str, user: &str, roles: &[&str]) -> Reply {
    post(
        &client(),
        &fx.url("/users/update"),
        Some(key),
        json!({"id": user, "roles": {"roles": roles}}).to_string(),
    )
}

#[test]
fn a_key_grants_and_revokes_only_roles_whose_permissions_it_holds() {
    let fx = Fixture::start();
    let store = fx.store();
    let manager = [
        Permission::UsersRead,
        Permission::UsersWrite,
        Permission::RolesRead,
    ];
    store
        .add_role("User manager", &manager, &Actor::Cli)
        .expect("role");
    store
        .add_role(
            "Directory reader",
            &[Permission::UsersRead, Permission::RolesRead],
            &Actor::Cli,
        )
        .expect("role");
    store
        .set_user_roles(
            "alice",
            &["Analyst".into(), "User manager".into()],
            &Actor::Cli,
        )
        .expect("alice");
    add_user(&store, "carol", &["Read-Only"]);
    let key = key_for(&store, "alice", "User manager");

    // Its own owner to Administrator: the escalation the key must not make.
    let reply = set_roles(
        &fx,
        &key,
        "alice",
        &["Analyst", "User manager", "Administrator"],
    );
    assert_eq!(reply.status, 403);
    let detail = reply.error_detail();
    assert!(
        detail.contains("may not grant the role \"Administrator\"")
            && detail.contains("roles.write"),
        "{detail}"
    );
    assert_eq!(roles_of(&store, "alice"), ["Analyst", "User manager"]);
    // Analyst grants incidents.write, which the key lacks.
    assert_eq!(
        set_roles(&fx, &key, "carol", &["Read-Only", "Analyst"]).status,
        403
    );
    // Taking away Read-Only (incidents.read, profiles.read) is refused just the same.
    let reply = set_roles(&fx, &key, "carol", &["Directory reader"]);
    assert_eq!(reply.status, 403);
    assert!(reply
        .error_detail()
        .contains("may not revoke the role \"Read-Only\""));
    assert_eq!(roles_of(&store, "carol"), ["Read-Only"]);

    // Within what it holds, the key works: grant, then revoke.
    let reply = set_roles(&fx, &key, "carol", &["Read-Only", "Directory reader"]);
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(roles_of(&store, "carol"), ["Read-Only", "Directory reader"]);
    let reply = set_roles(&fx, &key, "carol", &["Read-Only"]);
    assert_eq!(reply.status, 200);
    assert_eq!(roles_of(&store, "carol"), ["Read-Only"]);
    // An Administrator key may grant anything.
    let reply = set_roles(&fx, &fx.keys.admin, "carol", &["Read-Only", "Analyst"]);
    assert_eq!(reply.status, 200);
}

#[test]
fn the_last_enabled_administrator_cannot_be_removed() {
    let fx = Fixture::start();
    let store = fx.store();
    // At the command line too: admin is the only Administrator.
    let refused = store
        .set_user_disabled("admin", true, &Actor::Cli)
        .expect_err("disabling the last Administrator");
    assert!(
        refused.to_string().contains("last enabled Administrator"),
        "{refused:#}"
    );
    let refused = store
        .set_user_roles("admin", &["Analyst".into()], &Actor::Cli)
        .expect_err("revoking the last Administrator");
    assert!(refused.to_string().contains("last enabled Administrator"));
    assert!(!store.user("admin").expect("read").expect("admin").disabled);
    assert_eq!(roles_of(&store, "admin"), ["Administrator"]);

    // alice becomes the only enabled Administrator, then tries to drop the role by key.
    store
        .set_user_roles("alice", &["Administrator".into()], &Actor::Cli)
        .expect("alice");
    store
        .set_user_disabled("admin", true, &Actor::Cli)
        .expect("admin may go: alice remains");
    let key = key_for(&store, "alice", "Administrator");
    let reply = set_roles(&fx, &key, "alice", &["Analyst"]);
    assert_eq!(reply.status, 403);
    assert!(reply.error_detail().contains("last enabled Administrator"));
    assert_eq!(roles_of(&store, "alice"), ["Administrator"]);

    // With a second Administrator, the first may step down.
    add_user(&store, "carol", &["Read-Only"]);
    assert_eq!(
        set_roles(&fx, &key, "carol", &["Administrator"]).status,
        200
    );
    assert_eq!(set_roles(&fx, &key, "alice", &["Analyst"]).status, 200);
    assert_eq!(roles_of(&store, "alice"), ["Analyst"]);
    // And now carol is the last one.
    assert!(store.set_user_disabled("carol", true, &Actor::Cli).is_err());
    assert!(store
        .set_user_disabled("admin", false, &Actor::Cli)
        .is_ok_and(|u| !u.disabled));
    assert!(store.set_user_disabled("carol", true, &Actor::Cli).is_ok());
}

#[test]
fn admin_cannot_be_changed_through_the_api() {
    let fx = Fixture::start();
    for roles in [
        &["Administrator", "Analyst"][..],
        &["Administrator"],
        &["Read-Only"],
    ] {
        let reply = set_roles(&fx, &fx.keys.admin, "admin", roles);
        assert_eq!(reply.status, 403, "{roles:?}");
        assert!(reply
            .error_detail()
            .contains("\"admin\" cannot be changed through the API"));
    }
    let store = fx.store();
    assert_eq!(roles_of(&store, "admin"), ["Administrator"]);
    // The same key still changes everyone else.
    let reply = set_roles(&fx, &fx.keys.admin, "bob", &["Analyst", "Read-Only"]);
    assert_eq!(reply.status, 200);
    assert_eq!(roles_of(&store, "bob"), ["Analyst", "Read-Only"]);
}

#[test]
fn a_key_loses_what_its_owner_lost() {
    let fx = Fixture::start();
    let store = fx.store();
    store
        .add_role(
            "Directory reader",
            &[Permission::UsersRead, Permission::RolesRead],
            &Actor::Cli,
        )
        .expect("role");
    let analyst = key_for(&store, "alice", "Analyst");
    let client = client();
    let status = |key: &str, path: &str| get(&client, &fx.url(path), Some(key));
    assert_eq!(status(&analyst, "/incidents").status, 200);

    // alice no longer holds incidents.read: her Analyst key stops reading incidents.
    store
        .set_user_roles("alice", &["Directory reader".into()], &Actor::Cli)
        .expect("alice");
    let reply = status(&analyst, "/incidents");
    assert_eq!(reply.status, 403);
    let detail = reply.error_detail();
    assert!(
        detail.contains("grants incidents.read") && detail.contains("\"alice\" no longer holds it"),
        "{detail}"
    );
    assert_eq!(
        status(&analyst, "/users").status,
        200,
        "what she still holds"
    );

    // A key whose role is wider than its owner's acts with the owner's share.
    let wide = key_for(&store, "alice", "Administrator");
    let reply = set_roles(&fx, &wide, "bob", &["Analyst", "Read-Only"]);
    assert_eq!(reply.status, 403);
    assert!(reply.error_detail().contains("users.write"));
    assert_eq!(roles_of(&store, "bob"), ["Analyst"]);

    // Given back, the permission works again.
    store
        .set_user_roles("alice", &["Analyst".into()], &Actor::Cli)
        .expect("alice");
    assert_eq!(status(&analyst, "/incidents").status, 200);
}
