//! Slack IAM end to end through the `ilm` CLI and the sandboxed plugin: SCIM 1.1 against
//! the Slack SCIM test double (tests/support/slack_scim_double.py, which refuses what
//! Slack's SCIM 1.1 API refuses and answers in Slack's error shape), and SCIM 2.0 against
//! the real scim2-server (PyPI) on loopback.

mod support;

use serde_json::{json, Value};
use support::slack::SlackDouble;
use support::{dist, scim2_server, scim2_server_with_page_cap, scim_tenant_users, Ilm, Server};

const TOKEN: &str = "slack-test-token";
const ENTERPRISE_11: &str = "urn:scim:schemas:extension:enterprise:1.0";
const ENTERPRISE_2: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Where the `slack` instance's users live.
enum Slack {
    /// Slack's SCIM 1.1, as the double models it.
    V1(SlackDouble),
    /// SCIM 2.0 on scim2-server's `slack` tenant.
    V2(Server),
}

impl Slack {
    /// Every user the app holds, read directly.
    fn users(&self) -> Vec<Value> {
        match self {
            Slack::V1(double) => double.users(),
            Slack::V2(server) => scim_tenant_users(server.port, TOKEN, "slack", None),
        }
    }

    /// The SCIM 1.1 double of a test that started one.
    fn double(&self) -> &SlackDouble {
        match self {
            Slack::V1(double) => double,
            Slack::V2(_) => panic!("this test runs against scim2-server, not the Slack double"),
        }
    }

    /// The one user the app holds.
    fn only_user(&self) -> Value {
        let users = self.users();
        assert_eq!(users.len(), 1, "{users:?}");
        users[0].clone()
    }
}

/// The Slack double (at most `max_count` users a page) and an instance speaking SCIM 1.1
/// to it at the plugin's default path.
fn slack_v1(max_count: u32) -> (Slack, Ilm) {
    let double = SlackDouble::start(TOKEN, max_count);
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_slack("slack", &double.url(), TOKEN, "1.1", None);
    (Slack::V1(double), ilm)
}

/// scim2-server and an instance speaking SCIM 2.0 to its `slack` tenant.
fn slack_v2() -> (Slack, Ilm) {
    let server = scim2_server(TOKEN);
    let ilm = Ilm::new(dist("plugins"));
    let url = format!("http://127.0.0.1:{}", server.port);
    ilm.add_slack("slack", &url, TOKEN, "2.0", Some("slack/v2"));
    (Slack::V2(server), ilm)
}

fn jdoe() -> Value {
    json!({"email": "jdoe@acme.test", "username": "jdoe", "givenname": "Jane", "surname": "Doe",
           "employeeid": "100042", "title": "Engineer", "department": "R&D"})
}

fn vendor(ilm: &Ilm, command: &str, profile: &Value, args: &[&str]) -> (i32, Value) {
    ilm.vendor(command, "slack", profile, args)
}

/// The error message of a vendor result ("" when it has none).
fn message(result: &Value) -> &str {
    result["errorMessage"].as_str().unwrap_or_default()
}

/// The IAM contract, the same on either SCIM version: create, get by each lookup
/// attribute, create-existing becomes update, rename through olduserdata, disable twice,
/// update of a disabled user with and without allow-enable, not-found.
fn lifecycle(slack: &Slack, ilm: &Ilm) {
    let (code, created) = vendor(ilm, "iam-create-user", &jdoe(), &[]);
    assert_eq!(code, 0, "{created}");
    assert_eq!(
        (created["action"].as_str(), created["success"].as_bool()),
        (Some("create"), Some(true)),
        "{created}"
    );
    assert_eq!(created["active"], json!(true), "{created}");
    let user = slack.only_user();
    assert_eq!(user["userName"], "jdoe");
    assert_eq!(user["name"]["givenName"], "Jane");
    assert_eq!(user["emails"][0]["value"], "jdoe@acme.test");
    assert_eq!(created["id"], user["id"]);
    let id = user["id"].clone();
    // The mapper's SCIM 1.1 enterprise extension goes under each version's own name.
    let (extension, other) = match slack {
        Slack::V1(_) => (ENTERPRISE_11, ENTERPRISE_2),
        Slack::V2(_) => (ENTERPRISE_2, ENTERPRISE_11),
    };
    assert_eq!(
        (user[extension]["employeeNumber"].as_str(), &user[other]),
        (Some("100042"), &Value::Null),
        "{user}"
    );

    for (attribute, profile) in [
        ("id", json!({"id": id})),
        ("userName", json!({"username": "jdoe"})),
        ("emails", json!({"email": "jdoe@acme.test"})),
    ] {
        let (code, got) = vendor(ilm, "iam-get-user", &profile, &[]);
        assert_eq!(
            (code, got["success"].as_bool(), &got["id"]),
            (0, Some(true), &id),
            "by {attribute}: {got}"
        );
        assert_eq!(got["username"], "jdoe", "by {attribute}: {got}");
    }

    let (_, again) = vendor(ilm, "iam-create-user", &jdoe(), &[]);
    assert_eq!(again["action"], "update", "{again}");
    assert_eq!(slack.users().len(), 1);

    // A rename is found through olduserdata and applied.
    let mut renamed = jdoe();
    renamed["username"] = json!("jane.doe");
    renamed["email"] = json!("jane.doe@acme.test");
    renamed["title"] = json!("Sr Engineer");
    renamed["olduserdata"] = jdoe();
    let (_, updated) = vendor(ilm, "iam-update-user", &renamed, &["allow-enable=false"]);
    assert_eq!(
        (updated["action"].as_str(), updated["success"].as_bool()),
        (Some("update"), Some(true)),
        "{updated}"
    );
    let user = slack.only_user();
    assert_eq!(
        (
            &user["userName"],
            &user["emails"][0]["value"],
            &user["title"]
        ),
        (
            &json!("jane.doe"),
            &json!("jane.doe@acme.test"),
            &json!("Sr Engineer")
        ),
        "{user}"
    );
    // An update only sets what the mapper gives: the given name stays.
    assert_eq!(user["name"]["givenName"], "Jane", "{user}");

    // Slack deactivates (active false); the account stays.
    let leaver = json!({"username": "jane.doe"});
    let (_, disabled) = vendor(ilm, "iam-disable-user", &leaver, &[]);
    assert_eq!(
        (disabled["action"].as_str(), disabled["active"].as_bool()),
        (Some("disable"), Some(false)),
        "{disabled}"
    );
    assert_eq!(slack.only_user()["active"], json!(false));
    let (_, again) = vendor(ilm, "iam-disable-user", &leaver, &[]);
    assert_eq!(
        (again["skipped"].as_bool(), again["reason"].as_str()),
        (Some(true), Some("User is already disabled.")),
        "{again}"
    );

    let mut mover = renamed.clone();
    mover["title"] = json!("Staff Engineer");
    if let Some(fields) = mover.as_object_mut() {
        fields.remove("olduserdata");
    }
    let (_, kept) = vendor(ilm, "iam-update-user", &mover, &["allow-enable=false"]);
    assert_eq!(kept["active"], json!(false), "{kept}");
    let user = slack.only_user();
    assert_eq!(
        (&user["active"], &user["title"]),
        (&json!(false), &json!("Staff Engineer"))
    );
    let (_, enabled) = vendor(ilm, "iam-update-user", &mover, &["allow-enable=true"]);
    assert_eq!(enabled["active"], json!(true), "{enabled}");
    assert_eq!(slack.only_user()["active"], json!(true));

    let nobody = json!({"email": "nobody@acme.test"});
    let (code, missing) = vendor(ilm, "iam-get-user", &nobody, &[]);
    assert_eq!(code, 3, "a failed vendor result exits 3");
    assert_eq!(
        (missing["success"].as_bool(), missing["errorCode"].as_str()),
        (Some(false), Some("404")),
        "{missing}"
    );
    let (_, skipped) = vendor(ilm, "iam-disable-user", &nobody, &[]);
    assert_eq!(skipped["reason"], "User does not exist", "{skipped}");
    let (_, by_id) = vendor(ilm, "iam-get-user", &json!({"id": "U99999999"}), &[]);
    assert_eq!(by_id["errorMessage"], "User does not exist", "{by_id}");
}

#[test]
fn scim_11_lifecycle_against_the_slack_double() {
    let (slack, ilm) = slack_v1(1000);
    lifecycle(&slack, &ilm);
    let double = slack.double();
    let requests = double.requests();
    // Slack's SCIM 1.1 filters take the value unquoted; users are never deleted.
    assert!(
        requests
            .iter()
            .any(|r| r == "GET /scim/v1/Users?filter=userName eq jdoe"),
        "{requests:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r == "GET /scim/v1/Users?filter=emails eq nobody@acme.test"),
        "{requests:?}"
    );
    assert!(
        !requests.iter().any(|r| r.starts_with("DELETE")),
        "{requests:?}"
    );
}

#[test]
fn scim_2_lifecycle_against_scim2_server() {
    let (slack, ilm) = slack_v2();
    lifecycle(&slack, &ilm);
}

#[test]
fn slacks_errors_are_failed_results_with_slacks_description() {
    let (slack, ilm) = slack_v1(1000);
    vendor(&ilm, "iam-create-user", &jdoe(), &[]);

    // Looked up by an id Slack does not have, then created with a taken userName.
    let mut clash = jdoe();
    clash["id"] = json!("U99999999");
    let (code, conflict) = vendor(&ilm, "iam-create-user", &clash, &[]);
    assert_eq!(code, 3);
    assert_eq!(conflict["errorCode"], "409", "{conflict}");
    assert!(
        message(&conflict).starts_with("username_taken: jdoe (the app answered POST http://"),
        "{conflict}"
    );

    // Slack requires an email: its 400 is the result, in its own words.
    let (_, refused) = vendor(
        &ilm,
        "iam-create-user",
        &json!({"username": "noemail"}),
        &[],
    );
    assert_eq!(refused["errorCode"], "400", "{refused}");
    assert!(
        message(&refused).starts_with("at least one email is required"),
        "{refused}"
    );
    assert_eq!(slack.users().len(), 1);

    let double = slack.double();
    // An instance set to SCIM 2.0 against Slack's SCIM 1.1 API: Slack refuses its body.
    ilm.add_slack("v2", &double.url(), TOKEN, "2.0", Some("scim/v1"));
    let newcomer = json!({"username": "newcomer", "email": "newcomer@acme.test"});
    let (_, wrong) = ilm.vendor("iam-create-user", "v2", &newcomer, &[]);
    assert_eq!(wrong["errorCode"], "400", "{wrong}");
    assert!(
        message(&wrong).starts_with("schemas must list urn:scim:schemas:core:1.0"),
        "{wrong}"
    );
    assert_eq!(slack.users().len(), 1);

    ilm.add_slack("wrong", &double.url(), "wrong-token", "1.1", None);
    let (code, result) = ilm.vendor("iam-get-user", "wrong", &jdoe(), &[]);
    assert_eq!(code, 3);
    assert_eq!(result["errorCode"], "401", "{result}");
    assert!(
        message(&result).starts_with("invalid_authentication"),
        "{result}"
    );
    let test = ilm.run(&["instance", "test", "wrong"]);
    assert_eq!(test.code, 1, "{}", test.stderr);
}

#[test]
fn a_scim_2_conflict_is_a_failed_result() {
    let (slack, ilm) = slack_v2();
    vendor(&ilm, "iam-create-user", &jdoe(), &[]);
    let mut clash = jdoe();
    clash["id"] = json!("no-such-id");
    let (code, conflict) = vendor(&ilm, "iam-create-user", &clash, &[]);
    assert_eq!(code, 3);
    assert_eq!(conflict["errorCode"], "409", "{conflict}");
    assert!(
        message(&conflict).contains("(the app answered POST http://"),
        "{conflict}"
    );
    assert_eq!(slack.users().len(), 1);
}

/// Creates users `user1` … `user<count>`; returns their userNames.
fn add_users(ilm: &Ilm, count: usize) -> Vec<String> {
    let names: Vec<String> = (1..=count).map(|n| format!("user{n}")).collect();
    for name in &names {
        let profile = json!({"username": name, "email": format!("{name}@acme.test")});
        let (code, created) = vendor(ilm, "iam-create-user", &profile, &[]);
        assert_eq!(code, 0, "{created}");
    }
    names
}

/// Lists users with `slack-list-users`; returns their userNames.
fn listed(ilm: &Ilm, count: Option<&str>) -> Vec<String> {
    let mut args = vec!["command", "slack-list-users", "--using", "slack"];
    if let Some(count) = count {
        args.extend(["--arg", count]);
    }
    let out: Value = serde_json::from_str(&ilm.ok(&args)).expect("JSON");
    out["slack"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["userName"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn listing_reads_page_after_page_under_slacks_page_cap() {
    // Slack caps a page (at 1000); this double at 2, so five users take three pages.
    let (slack, ilm) = slack_v1(2);
    let names = add_users(&ilm, 5);
    assert_eq!(listed(&ilm, None), names);
    assert_eq!(listed(&ilm, Some("count=3")), names[..3]);
    let double = slack.double();
    let pages: Vec<String> = double
        .requests()
        .into_iter()
        .filter(|r| r.contains("startIndex"))
        .collect();
    assert_eq!(
        pages,
        [
            "GET /scim/v1/Users?startIndex=1&count=100",
            "GET /scim/v1/Users?startIndex=3&count=100",
            "GET /scim/v1/Users?startIndex=5&count=100",
            "GET /scim/v1/Users?startIndex=1&count=3",
            "GET /scim/v1/Users?startIndex=3&count=3",
        ]
    );
    let bad = ilm.run(&[
        "command",
        "slack-list-users",
        "--using",
        "slack",
        "--arg",
        "count=-1",
    ]);
    assert!(
        bad.code == 1 && bad.stderr.contains("count must be a non-negative integer"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_scim_2_listing_reads_page_after_page_under_the_servers_cap() {
    let server = scim2_server_with_page_cap(TOKEN, 2);
    let ilm = Ilm::new(dist("plugins"));
    let url = format!("http://127.0.0.1:{}", server.port);
    ilm.add_slack("slack", &url, TOKEN, "2.0", Some("slack/v2"));
    let names = add_users(&ilm, 5);
    // scim2-server keeps its own order.
    let mut all = listed(&ilm, None);
    all.sort();
    assert_eq!(all, names);
    let mut three = listed(&ilm, Some("count=3"));
    three.sort();
    three.dedup();
    assert!(
        three.len() == 3 && three.iter().all(|n| names.contains(n)),
        "{three:?}"
    );
}
