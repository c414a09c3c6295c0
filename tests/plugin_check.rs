//! `ilm plugin check INSTANCE`: the IAM contract through the CLI against memory-app and
//! against the GitHub plugin on the real scim2-server; an app that misbehaves gets failing
//! rows with a reason and a non-zero exit.

mod support;

use serde_json::Value;
use support::{dist, scim2_server, Ilm, RecordingPeer};

const TOKEN: &str = "scim-test-token";

/// `ilm plugin check INSTANCE --json`: the exit code and the checks.
fn check(ilm: &Ilm, instance: &str) -> (i32, Vec<Value>) {
    let ran = ilm.run(&["plugin", "check", instance, "--json"]);
    let out: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", ran.stdout, ran.stderr));
    assert_eq!(out["instance"], instance);
    assert_eq!(out["passed"], ran.code == 0, "{out}");
    (ran.code, out["checks"].as_array().unwrap().clone())
}

/// `(check, result)` of every row.
fn verdicts(checks: &[Value]) -> Vec<(String, String)> {
    checks
        .iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap().to_owned();
            (text("check"), text("result"))
        })
        .collect()
}

fn row<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name:?} row in {checks:?}"))
}

/// The contract's rows, with the plugin's lookup attributes after `create`.
fn contract_rows(attributes: &[&str]) -> Vec<(String, String)> {
    let mut rows = vec!["create".to_owned()];
    rows.extend(attributes.iter().map(|a| format!("get by {a}")));
    rows.extend(
        [
            "get (iam-get-user)",
            "update",
            "rename through olduserdata",
            "get by the new name",
            "disable",
            "disable again is a no-op",
            "enable (update with allow-enable)",
            "create of an existing user becomes update",
            "get of a missing user is not found",
            "a bad request gets an error code and message",
            "list and paging",
            "cleanup (disable the test user)",
        ]
        .map(str::to_owned),
    );
    rows.into_iter()
        .map(|r| {
            let result = if r == "list and paging" {
                "skip"
            } else {
                "pass"
            };
            (r, result.to_owned())
        })
        .collect()
}

#[test]
fn memory_app_passes_the_contract_and_its_test_user_ends_disabled() {
    let ilm = Ilm::new(dist("test-plugins"));
    ilm.ok(&["instance", "add", "mem", "--plugin", "memory-app"]);
    let (code, checks) = check(&ilm, "mem");
    assert_eq!(code, 0, "{checks:?}");
    assert_eq!(
        verdicts(&checks),
        contract_rows(&["id", "username", "email"])
    );
    let missing = row(&checks, "get of a missing user is not found");
    assert_eq!(missing["detail"], "404: User does not exist");

    // The table says the same, and the test user is left disabled.
    let table = ilm.ok(&["plugin", "check", "mem"]);
    assert!(table.contains("mem: 0 of 16 checks failed"), "{table}");
    let users = ilm.ok(&[
        "command",
        "iam-get-user",
        "--using",
        "mem",
        "--arg",
        "user-profile={\"id\":\"1\"}",
        "--json",
    ]);
    let users: Value = serde_json::from_str(&users).unwrap();
    assert_eq!(users["IAM"]["Vendor"][0]["active"], false, "{users}");
}

#[test]
fn github_passes_the_contract_against_scim2_server_and_cleans_up() {
    let server = scim2_server(TOKEN);
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_github("gh", server.port, TOKEN);
    let (code, checks) = check(&ilm, "gh");
    assert_eq!(code, 0, "{checks:?}");
    assert_eq!(
        verdicts(&checks),
        contract_rows(&["id", "userName", "emails"])
    );
    // GitHub disables by removing the membership: nothing is left behind.
    assert!(support::scim_users(server.port, TOKEN, None).is_empty());
}

#[test]
fn an_app_answering_garbage_fails_with_a_reason_and_exit_code() {
    let garbage = RecordingPeer::start("<html>this is not SCIM</html>");
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_github("junk", garbage.port, TOKEN);
    let (code, checks) = check(&ilm, "junk");
    assert_eq!(code, 3, "{checks:?}");
    let create = row(&checks, "create");
    assert_eq!(create["result"], "fail", "{create}");
    assert!(
        create["detail"].as_str().unwrap().contains("failed:"),
        "{create}"
    );
    assert!(!garbage.requests().is_empty(), "the app was not asked");
}

#[test]
fn a_misconfigured_instance_fails_the_checks_it_breaks() {
    let ilm = Ilm::new(dist("test-plugins"));
    ilm.ok(&[
        "instance",
        "add",
        "nodisable",
        "--plugin",
        "memory-app",
        "--param",
        "disable-user-enabled=false",
    ]);
    let (code, checks) = check(&ilm, "nodisable");
    assert_eq!(code, 3);
    for name in ["disable", "cleanup (disable the test user)"] {
        let failed = row(&checks, name);
        assert_eq!(failed["result"], "fail", "{failed}");
        assert!(
            failed["detail"]
                .as_str()
                .unwrap()
                .contains("Command is disabled."),
            "{failed}"
        );
    }
    assert_eq!(row(&checks, "create")["result"], "pass");
    let text = ilm.run(&["plugin", "check", "nodisable"]);
    assert_eq!(text.code, 3);
    assert!(text.stdout.contains("FAIL"), "{}", text.stdout);
}

/// A shipped plugin on its server or test double passes every check of the contract
/// (paging is skipped: the plugin interface has no list call); the rows name the plugin's
/// own lookup attributes.
fn passes_the_contract(ilm: &Ilm, instance: &str, attributes: &[&str]) {
    let (code, checks) = check(ilm, instance);
    assert_eq!(code, 0, "{checks:#?}");
    assert_eq!(verdicts(&checks), contract_rows(attributes));
}

#[test]
fn slack_passes_the_contract_against_the_slack_scim_11_double() {
    let double = support::slack::SlackDouble::start(TOKEN, 1000);
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_slack("slack", &double.url(), TOKEN, "1.1", None);
    passes_the_contract(&ilm, "slack", &["id", "userName", "emails"]);
    // Slack deactivates: the test user is still there, inactive.
    let users = double.users();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["active"], false, "{users:?}");
}

#[test]
fn servicenow_passes_the_contract_against_its_table_api_double() {
    let double = support::servicenow::ServiceNowDouble::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_servicenow("snow", &double, &[]);
    passes_the_contract(&ilm, "snow", &["id", "user_name", "email"]);
    let users = double.users();
    assert_eq!(users.len(), 1, "{users:?}");
    assert_eq!(users[0]["active"], "false", "{users:?}");
}

#[test]
fn okta_passes_the_contract_against_its_test_double() {
    let okta = support::okta::OktaDouble::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_okta("okta", &okta, &[]);
    passes_the_contract(&ilm, "okta", &["id", "login", "email"]);
}
