//! The read endpoints for incidents and user profiles: filters and paging.

mod api_common;

use api_common::{client, get, Fixture, ALICE_EMAIL};
use ilm::store::{IncidentStatus, NewIncident};
use serde_json::{json, Map, Value};

fn fields(email: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("email".into(), json!(email));
    map
}

#[test]
fn incidents_by_type_status_and_email_page_by_page() {
    let fx = Fixture::start();
    let store = fx.store();
    let mut closed = 0;
    for n in 0..7 {
        let email = format!("user{n}@example.com");
        let incident = store
            .create_incident(&NewIncident {
                kind: "IAM - Terminate User",
                name: &email,
                fields: &fields(&email),
            })
            .expect("incident");
        if n % 2 == 0 {
            store
                .set_incident_status(incident.id, IncidentStatus::Closed)
                .expect("close");
            closed += 1;
        }
    }
    let client = client();
    let search = |query: &str| -> Value {
        let reply = get(
            &client,
            &fx.url(&format!("/xsoar/incidents?{query}")),
            Some(&fx.keys.read_only),
        );
        assert_eq!(reply.status, 200, "{query}");
        reply.json()
    };
    let all = search("");
    assert_eq!(all["total"], json!(8));
    assert_eq!(all["size"], json!(50));
    let page = search("type=IAM%20-%20Terminate%20User&size=3&page=2");
    assert_eq!(page["total"], json!(7));
    assert_eq!(page["page"], json!(2));
    assert_eq!(
        page["data"].as_array().expect("data").len(),
        1,
        "7 = 3 + 3 + 1"
    );
    let done = search("type=IAM%20-%20Terminate%20User&status=closed");
    assert_eq!(done["total"], json!(closed));
    assert!(done["data"]
        .as_array()
        .expect("data")
        .iter()
        .all(|i| i["status"] == "closed" && i["closed_at"].is_string()));
    let alice = search("email=ALICE%40example.com");
    assert_eq!(alice["total"], json!(1));
    assert_eq!(alice["data"][0]["type"], "IAM - New Hire");
    assert_eq!(alice["data"][0]["status"], "pending");

    let one = get(
        &client,
        &fx.url(&format!("/incidents/{}", fx.incident_id)),
        Some(&fx.keys.admin),
    );
    assert_eq!(one.status, 200);
    let one: Value = one.json();
    assert_eq!(one["id"], json!(fx.incident_id));
    assert_eq!(one["name"], ALICE_EMAIL);
    assert_eq!(one["fields"]["email"], ALICE_EMAIL);
}

#[test]
fn profiles_by_email_employee_id_and_display_name() {
    let fx = Fixture::start();
    let store = fx.store();
    for n in 0..4 {
        let mut profile = Map::new();
        profile.insert("employeeid".into(), json!(2000 + n)); // a number: still found as text
        profile.insert("displayname".into(), json!(format!("Person {n}")));
        store
            .put_profile(&format!("p{n}@example.com"), &profile)
            .expect("profile");
    }
    let client = client();
    let search = |query: &str| -> Value {
        let reply = get(
            &client,
            &fx.url(&format!("/profiles?{query}")),
            Some(&fx.keys.read_only),
        );
        assert_eq!(reply.status, 200, "{query}");
        reply.json()
    };
    assert_eq!(search("")["total"], json!(5));
    let page = search("size=2&page=1");
    assert_eq!(
        page["data"][0]["email"], "p1@example.com",
        "by email: alice, p0, p1, ..."
    );
    assert_eq!(
        search("employeeid=2003")["data"][0]["email"],
        "p3@example.com"
    );
    assert_eq!(search("employeeid=1001")["data"][0]["email"], ALICE_EMAIL);
    assert_eq!(
        search("displayname=person%202")["data"][0]["email"],
        "p2@example.com"
    );
    assert_eq!(search("email=P0%40EXAMPLE.COM")["total"], json!(1));
    assert_eq!(search("employeeid=9")["total"], json!(0));

    let one = get(
        &client,
        &fx.url("/profiles/Alice%40Example.com"),
        Some(&fx.keys.read_only),
    );
    assert_eq!(one.status, 200);
    let one: Value = one.json();
    assert_eq!(one["email"], ALICE_EMAIL);
    assert_eq!(one["fields"]["employeeid"], "1001");
    assert_eq!(one["fields"]["email"], ALICE_EMAIL);
}
