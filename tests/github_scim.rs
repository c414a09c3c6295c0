//! GitHub IAM end to end through the `ilm` CLI, the sandboxed plugin and the real
//! scim2-server (PyPI) on loopback.

mod support;

use serde_json::{json, Value};
use support::{dist, scim2_server, Ilm, Server};

const TOKEN: &str = "scim-test-token";

fn setup() -> (Server, Ilm) {
    let server = scim2_server(TOKEN);
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_github("gh", server.port, TOKEN);
    (server, ilm)
}

/// The users scim2-server holds for the github tenant, read directly.
fn scim_users(server: &Server) -> Vec<Value> {
    support::scim_users(server.port, TOKEN, None)
}

fn vendor(ilm: &Ilm, command: &str, instance: &str, profile: Value) -> (i32, Value) {
    ilm.vendor(command, instance, &profile, &[])
}

fn jdoe() -> Value {
    json!({"email": "jdoe@acme.test", "username": "jdoe@acme.test", "givenname": "Jane", "surname": "Doe",
           "employeeid": "100042", "title": "Engineer"})
}

#[test]
fn joiner_mover_leaver_against_scim2_server() {
    let (server, ilm) = setup();

    let (code, created) = vendor(&ilm, "iam-create-user", "gh", jdoe());
    assert_eq!(code, 0, "{created}");
    assert_eq!(
        (created["action"].as_str(), created["success"].as_bool()),
        (Some("create"), Some(true)),
        "{created}"
    );
    assert_eq!(created["active"], json!(true));
    let users = scim_users(&server);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["userName"], "jdoe@acme.test");
    assert_eq!(users[0]["name"]["givenName"], "Jane");
    assert_eq!(users[0]["emails"][0]["value"], "jdoe@acme.test");
    assert_eq!(created["id"], users[0]["id"]);

    let (_, got) = vendor(
        &ilm,
        "iam-get-user",
        "gh",
        json!({"email": "jdoe@acme.test", "username": "jdoe@acme.test"}),
    );
    assert_eq!(
        (got["success"].as_bool(), got["id"].clone()),
        (Some(true), users[0]["id"].clone()),
        "{got}"
    );

    // Create on an existing user becomes an update; still one account.
    let (_, again) = vendor(&ilm, "iam-create-user", "gh", jdoe());
    assert_eq!(again["action"], "update", "{again}");
    assert_eq!(scim_users(&server).len(), 1);

    // A rename is found through olduserdata and applied.
    let mut renamed = jdoe();
    renamed["username"] = json!("jane.doe@acme.test");
    renamed["email"] = json!("jane.doe@acme.test");
    renamed["title"] = json!("Sr Engineer");
    renamed["olduserdata"] = jdoe();
    let (_, updated) = vendor(&ilm, "iam-update-user", "gh", renamed.clone());
    assert_eq!(
        (updated["action"].as_str(), updated["success"].as_bool()),
        (Some("update"), Some(true)),
        "{updated}"
    );
    let users = scim_users(&server);
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["userName"], "jane.doe@acme.test");
    assert_eq!(users[0]["title"], "Sr Engineer");

    // GitHub disables by removing the membership.
    let leaver = json!({"email": "jane.doe@acme.test", "username": "jane.doe@acme.test"});
    let (_, disabled) = vendor(&ilm, "iam-disable-user", "gh", leaver.clone());
    assert_eq!(
        (disabled["action"].as_str(), disabled["active"].as_bool()),
        (Some("disable"), Some(false)),
        "{disabled}"
    );
    assert!(scim_users(&server).is_empty());
    let (_, again) = vendor(&ilm, "iam-disable-user", "gh", leaver.clone());
    assert_eq!(
        (again["skipped"].as_bool(), again["reason"].as_str()),
        (Some(true), Some("User does not exist")),
        "{again}"
    );

    let (code, missing) = vendor(&ilm, "iam-get-user", "gh", leaver);
    assert_eq!(code, 3, "a failed vendor result exits 3");
    assert_eq!(
        (missing["success"].as_bool(), missing["errorCode"].as_str()),
        (Some(false), Some("404")),
        "{missing}"
    );
    assert_eq!(missing["errorMessage"], "User does not exist");
}

#[test]
fn update_of_a_missing_user_creates_it_and_conflicts_are_results() {
    let (server, ilm) = setup();
    let (_, created) = vendor(&ilm, "iam-update-user", "gh", jdoe());
    assert_eq!(created["action"], "create", "{created}");

    // Looked up by an id that does not exist, then created with a taken userName: 409.
    let mut clash = jdoe();
    clash["id"] = json!("no-such-id");
    let (code, conflict) = vendor(&ilm, "iam-create-user", "gh", clash);
    assert_eq!(code, 3);
    assert_eq!(
        (
            conflict["success"].as_bool(),
            conflict["errorCode"].as_str()
        ),
        (Some(false), Some("409")),
        "{conflict}"
    );
    assert!(!conflict["errorMessage"]
        .as_str()
        .unwrap_or_default()
        .is_empty());
    assert_eq!(scim_users(&server).len(), 1);
}

#[test]
fn a_wrong_token_is_a_401_result() {
    let server = scim2_server(TOKEN);
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_github("bad", server.port, "wrong");
    let (code, result) = vendor(&ilm, "iam-get-user", "bad", jdoe());
    assert_eq!(code, 3);
    assert_eq!(
        (result["success"].as_bool(), result["errorCode"].as_str()),
        (Some(false), Some("401")),
        "{result}"
    );
    let test = ilm.run(&["instance", "test", "bad"]);
    assert_eq!(test.code, 1);
    assert!(
        test.stderr.contains("cannot reach its app"),
        "{}",
        test.stderr
    );
}

#[test]
fn an_apps_error_names_the_request_so_a_wrong_path_shows() {
    let (server, ilm) = setup();
    ilm.ok(&["instance", "edit", "gh", "--param", "scim-path=nowhere/v2"]);
    let (code, result) = vendor(&ilm, "iam-get-user", "gh", jdoe());
    assert_eq!(code, 3);
    let message = result["errorMessage"].as_str().unwrap_or_default();
    let url = format!(
        "GET http://127.0.0.1:{}/nowhere/v2/Users?filter=",
        server.port
    );
    assert!(
        result["errorCode"] == "404" && message.contains(&url),
        "{result}"
    );
}

#[test]
fn plugin_commands_and_the_instance_listing_never_show_the_token() {
    let (_server, ilm) = setup();
    vendor(&ilm, "iam-create-user", "gh", jdoe());
    let listed: Value =
        serde_json::from_str(&ilm.ok(&["command", "github-list-users", "--using", "gh"])).unwrap();
    assert!(
        listed["gh"].to_string().contains("jdoe@acme.test"),
        "{listed}"
    );
    ilm.ok(&["instance", "test", "gh"]);
    for args in [
        &["instance", "show", "gh"][..],
        &["instance", "show", "gh", "--json"],
        &["instance", "list"],
    ] {
        let out = ilm.ok(args);
        assert!(!out.contains(TOKEN), "{args:?} printed the token: {out}");
    }
    let plugins: Value = serde_json::from_str(&ilm.ok(&["plugin", "list", "--json"])).unwrap();
    assert!(
        plugins
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "github" && p["status"] == "ok"),
        "{plugins}"
    );
}

#[test]
fn bad_input_is_a_one_line_error_and_writes_nothing() {
    let ilm = Ilm::new(dist("plugins"));
    let missing = ilm.run(&[
        "instance",
        "add",
        "gh",
        "--plugin",
        "github",
        "--param",
        "url=http://127.0.0.1:1",
    ]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("needs the parameter \"org\""),
        "{}",
        missing.stderr
    );
    assert_eq!(
        missing.stderr.trim().lines().count(),
        1,
        "{}",
        missing.stderr
    );
    assert!(!ilm.ok(&["instance", "list", "--json"]).contains("gh"));

    let unknown_plugin = ilm.run(&["instance", "add", "x", "--plugin", "nope"]);
    assert!(
        unknown_plugin.code == 1 && unknown_plugin.stderr.contains("no plugin named \"nope\""),
        "{}",
        unknown_plugin.stderr
    );

    let unknown_instance = ilm.run(&[
        "command",
        "iam-get-user",
        "--using",
        "ghost",
        "--arg",
        "user-profile={}",
    ]);
    assert!(
        unknown_instance.code == 1
            && unknown_instance
                .stderr
                .contains("no instance named \"ghost\""),
        "{}",
        unknown_instance.stderr
    );

    ilm.ok(&[
        "instance",
        "add",
        "gh",
        "--plugin",
        "github",
        "--param",
        "url=http://127.0.0.1:1",
        "--param",
        "org=a",
        "--secret",
        "token=t",
    ]);
    let not_object = ilm.run(&[
        "command",
        "iam-create-user",
        "--using",
        "gh",
        "--arg",
        "user-profile=[1,2]",
    ]);
    assert!(
        not_object.code == 1 && not_object.stderr.contains("must be a JSON object"),
        "{}",
        not_object.stderr
    );
    let unknown_command = ilm.run(&["command", "github-explode", "--using", "gh"]);
    assert!(
        unknown_command.code == 1
            && unknown_command
                .stderr
                .contains("has no command \"github-explode\""),
        "{}",
        unknown_command.stderr
    );
    let usage = ilm.run(&["command", "iam-get-user"]);
    assert_eq!(usage.code, 2, "missing --using is a usage error");
}

#[test]
fn a_playbook_call_on_several_instances_reaches_them_at_once() {
    let server = scim2_server(TOKEN);
    // Each instance's lookup waits at the proxy until the other's arrived: sent in turn,
    // the first would wait there alone until the proxy gave up (10 s).
    let proxy = support::FailingProxy::holding(server.port, "GET /", 0, support::Hold::Together(2));
    let books =
        support::shipped_playbooks_with(&[("[types]\n", "[types]\n\"Lookup\" = \"lookup\"\n")]);
    std::fs::write(
        books.path().join("lookup.rhai"),
        r#"set_field("found", iam("iam-get-user", ["gh1", "gh2"], incident.fields.userprofile));"#,
    )
    .unwrap();
    let mut ilm = Ilm::new(dist("plugins"));
    ilm.playbooks_dir = books.path().to_owned();
    ilm.add_github("direct", server.port, TOKEN);
    ilm.add_github("gh1", proxy.port, TOKEN);
    ilm.add_github("gh2", proxy.port, TOKEN);
    let (_, created) = vendor(&ilm, "iam-create-user", "direct", jdoe());
    assert_eq!(created["success"], json!(true), "{created}");

    let incident = ilm.create_incident("Lookup", &json!({"userprofile": jdoe()}));
    let id = incident["id"].to_string();
    ilm.ok(&["incident", "run", &id]);
    let shown: Value = serde_json::from_str(&ilm.ok(&["incident", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["incident"]["status"], "closed", "{shown}");
    let found = &shown["incident"]["fields"]["found"];
    let summary: Vec<(&str, bool, &str)> = found
        .as_array()
        .unwrap_or_else(|| panic!("no results: {shown}"))
        .iter()
        .map(|r| {
            (
                r["instanceName"].as_str().unwrap_or_default(),
                r["success"].as_bool().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let id = created["id"].as_str().unwrap();
    assert_eq!(summary, vec![("gh1", true, id), ("gh2", true, id)]);
    assert_eq!(
        proxy.most_held_at_once(),
        2,
        "the two lookups were sent in turn"
    );
}
