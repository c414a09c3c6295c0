//! Bad input to `POST /users/update` and to the search endpoints: a 4xx with a JSON error
//! body, and nothing changed.

mod api_common;

use api_common::{client, get, post, send, Fixture};
use ilm::api::MAX_BODY_BYTES;
use reqwest::Method;

#[test]
fn bad_updates_are_refused_and_change_nothing() {
    let fx = Fixture::start();
    let client = client();
    let before = fx.store().user("alice").expect("alice").expect("alice");
    let audit_before = fx.store().audit_log(1000).expect("audit").len();
    let huge = format!(
        r#"{{"id":"alice","roles":{{"roles":["{}"]}}}}"#,
        "A".repeat(MAX_BODY_BYTES)
    );
    let cases: Vec<(&str, String, u16)> = vec![
        ("malformed JSON", r#"{"id": "alice", "roles": "#.into(), 400),
        ("not JSON", "id=alice".into(), 400),
        (
            "id of the wrong type",
            r#"{"id":1,"roles":{"roles":["Analyst"]}}"#.into(),
            422,
        ),
        (
            "roles as an array",
            r#"{"id":"alice","roles":["Analyst"]}"#.into(),
            422,
        ),
        (
            "role names as a string",
            r#"{"id":"alice","roles":{"roles":"Analyst"}}"#.into(),
            422,
        ),
        (
            "a role name as a number",
            r#"{"id":"alice","roles":{"roles":[7]}}"#.into(),
            422,
        ),
        ("missing roles", r#"{"id":"alice"}"#.into(), 422),
        (
            "unknown field",
            r#"{"id":"alice","roles":{"roles":["Analyst"]},"email":"x"}"#.into(),
            422,
        ),
        (
            "unknown nested field",
            r#"{"id":"alice","roles":{"roles":["Analyst"],"demisto":[]}}"#.into(),
            422,
        ),
        (
            "no role left",
            r#"{"id":"alice","roles":{"roles":[]}}"#.into(),
            400,
        ),
        (
            "unknown user",
            r#"{"id":"carol","roles":{"roles":["Analyst"]}}"#.into(),
            404,
        ),
        (
            "unknown role",
            r#"{"id":"alice","roles":{"roles":["Analyst","Root"]}}"#.into(),
            404,
        ),
        ("huge body", huge, 413),
    ];
    for (what, body, status) in cases {
        let reply = post(
            &client,
            &fx.url("/users/update"),
            Some(&fx.keys.admin),
            body,
        );
        assert_eq!(
            reply.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(!reply.error_detail().is_empty(), "{what}");
    }
    // A body that is not declared as JSON.
    let reply = client
        .post(fx.url("/users/update"))
        .header("Authorization", &fx.keys.admin)
        .body(r#"{"id":"alice","roles":{"roles":["Analyst"]}}"#)
        .send()
        .expect("request");
    assert_eq!(reply.status().as_u16(), 415);

    let store = fx.store();
    assert_eq!(store.user("alice").expect("alice").expect("alice"), before);
    assert_eq!(store.audit_log(1000).expect("audit").len(), audit_before);
}

#[test]
fn duplicate_role_names_count_once() {
    let fx = Fixture::start();
    let reply = post(
        &client(),
        &fx.url("/users/update"),
        Some(&fx.keys.admin),
        r#"{"id":"bob","roles":{"roles":["Read-Only","Analyst","Read-Only"]}}"#,
    );
    assert_eq!(reply.status, 200);
    let user: serde_json::Value = reply.json();
    assert_eq!(
        user["roles"]["demisto"],
        serde_json::json!(["Read-Only", "Analyst"])
    );
}

#[test]
fn bad_searches_and_lookups_are_4xx() {
    let fx = Fixture::start();
    let client = client();
    for (path, status) in [
        ("/incidents?size=0", 400),
        ("/incidents?size=100000", 400),
        ("/incidents?page=-1", 400),
        ("/incidents?status=open", 400),
        ("/incidents?owner=alice", 400),
        ("/incidents/abc", 400),
        ("/incidents/999999", 404),
        ("/profiles?employee=1001", 400),
        ("/profiles/nobody@example.com", 404),
        ("/nothing/here", 404),
    ] {
        let reply = get(&client, &fx.url(path), Some(&fx.keys.admin));
        assert_eq!(
            reply.status,
            status,
            "{path}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert!(!reply.error_detail().is_empty(), "{path}");
    }
    let reply = send(
        &client,
        Method::DELETE,
        &fx.url("/users"),
        Some(&fx.keys.admin),
        None,
    );
    assert_eq!(reply.status, 405);
    assert!(!reply.error_detail().is_empty());
}
