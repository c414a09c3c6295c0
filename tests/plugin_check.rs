//! `ilm plugin check INSTANCE`: the IAM contract through the CLI against memory-app and
//! against the GitHub plugin on the real scim2-server; an app that misbehaves gets failing
//! rows with a reason and a non-zero exit.

mod support;

use serde_json::{json, Value};
use support::{dist, scim2_server, Ilm, RecordingPeer};

const TOKEN: &str = "scim-test-token";

/// `ilm plugin check INSTANCE --json`, with `--field` for each of `fields`: the exit
/// code and the checks.
fn check(ilm: &Ilm, instance: &str, fields: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec!["plugin", "check", instance, "--json"];
    for field in fields {
        args.extend(["--field", field]);
    }
    let ran = ilm.run(&args);
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
    let (code, checks) = check(&ilm, "mem", &[]);
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
    let user = memory_app_user_1(&ilm);
    assert_eq!(user["active"], false, "{user}");
}

#[test]
fn a_memory_app_that_keeps_no_users_creates_every_time_and_finds_nobody() {
    // The provisioning benchmark's target of constant cost (scripts/bench-provisioning).
    let ilm = Ilm::new(dist("test-plugins"));
    ilm.ok(&["instance", "add", "mem", "--plugin", "memory-app"]);
    ilm.ok(&[
        "instance",
        "add",
        "sink",
        "--plugin",
        "memory-app",
        "--param",
        "keep-users=false",
    ]);
    let jane = json!({"email": "jane@acme.test", "username": "jane"});
    let create = |instance: &str| {
        let (code, v) = ilm.vendor("iam-create-user", instance, &jane, &[]);
        assert_eq!(code, 0, "{v}");
        (v["action"].clone(), v["id"].clone())
    };
    // The instance that keeps users finds Jane the second time; the sink never does.
    assert_eq!(create("mem"), (json!("create"), json!("1")));
    assert_eq!(create("mem"), (json!("update"), json!("1")));
    assert_eq!(create("sink"), (json!("create"), json!("jane")));
    assert_eq!(create("sink"), (json!("create"), json!("jane")));
    let (_, found) = ilm.vendor("iam-get-user", "sink", &jane, &[]);
    assert_eq!(found["errorCode"], "404", "{found}");
}

/// `iam-get-user` of memory-app user id 1 on instance `mem`: its vendor result.
fn memory_app_user_1(ilm: &Ilm) -> Value {
    let ran = ilm.run(&[
        "command",
        "iam-get-user",
        "--using",
        "mem",
        "--arg",
        "user-profile={\"id\":\"1\"}",
        "--json",
    ]);
    let out: Value = serde_json::from_str(&ran.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", ran.stdout, ran.stderr));
    out["IAM"]["Vendor"][0].clone()
}

#[test]
fn github_passes_the_contract_against_scim2_server_and_cleans_up() {
    let server = scim2_server(TOKEN);
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_github("gh", server.port, TOKEN);
    let (code, checks) = check(&ilm, "gh", &[]);
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
    let (code, checks) = check(&ilm, "junk", &[]);
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
    let (code, checks) = check(&ilm, "nodisable", &[]);
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
    let (code, checks) = check(ilm, instance, &[]);
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

/// The Samba users whose sAMAccountName matches `pattern` (`*` a wildcard), with their
/// userAccountControl and groups, read over LDAPS as the administrator.
fn samba_users(pattern: &str) -> Vec<ldap3::SearchEntry> {
    use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
    // The check trusts the loopback server; the plugin verifies it with the CA.
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let mut conn =
        LdapConn::with_settings(settings, "ldaps://127.0.0.1:636").expect("connecting to Samba");
    conn.simple_bind(support::SAMBA_ADMIN_DN, support::SAMBA_ADMIN_PASSWORD)
        .and_then(|r| r.success())
        .expect("binding as the administrator");
    let filter = format!("(&(objectClass=user)(sAMAccountName={pattern}))");
    let (entries, _) = conn
        .search(
            support::SAMBA_BASE_DN,
            Scope::Subtree,
            &filter,
            vec!["sAMAccountName", "userAccountControl", "memberOf", "title"],
        )
        .and_then(|r| r.success())
        .expect("searching Samba");
    entries.into_iter().map(SearchEntry::construct).collect()
}

/// Active Directory on the real Samba over LDAPS, with the shipped plugin, mapper and OU
/// and sAMAccountName transformers: the OU mapping needs a department the synthetic
/// profile lacks, given with --field. AD creates accounts disabled, so the kit enables the
/// user before it checks disable. The test user ends disabled in the Terminated Users group.
#[test]
fn active_directory_passes_the_contract_against_samba_and_its_test_user_ends_disabled() {
    let samba = support::SambaDc::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_active_directory("ad", &samba.ca_file());

    // Without the department the OU mapping refuses the user and says where to fix it.
    let (code, checks) = check(&ilm, "ad", &[]);
    assert_eq!(code, 3, "{checks:#?}");
    let create = row(&checks, "create");
    assert_eq!(create["result"], "fail", "{create}");
    let reason = create["detail"].as_str().unwrap();
    assert!(
        reason.contains("no OU mapping") && reason.contains("ou-mapping.rhai"),
        "{create}"
    );
    assert!(samba_users("ilm-*").is_empty());

    let (code, checks) = check(&ilm, "ad", &["department=Engineering"]);
    assert_eq!(code, 0, "{checks:#?}");
    let mut rows = contract_rows(&["sAMAccountName"]);
    let disable = rows.iter().position(|(r, _)| r == "disable").unwrap();
    rows.insert(
        disable,
        (
            "enable the user created inactive".to_owned(),
            "pass".to_owned(),
        ),
    );
    assert_eq!(verdicts(&checks), rows);

    // One account, renamed, in the department's OU, updated, disabled and in the group.
    let users = samba_users("ilm-*");
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    let attr = |name: &str| user.attrs.get(name).cloned().unwrap_or_default();
    assert!(
        attr("sAMAccountName")[0].starts_with("ilm-moved-"),
        "{user:?}"
    );
    assert!(
        user.dn
            .ends_with(",OU=Engineering,OU=Staff,DC=example,DC=test"),
        "{user:?}"
    );
    assert_eq!(attr("title"), ["Conformance check, updated"], "{user:?}");
    assert_eq!(attr("userAccountControl"), ["514"], "{user:?}");
    assert_eq!(
        attr("memberOf"),
        ["CN=Terminated Users,OU=Staff,DC=example,DC=test"],
        "{user:?}"
    );
}

#[test]
fn check_fields_that_are_malformed_or_the_kits_own_are_refused_with_the_fix() {
    let ilm = Ilm::new(dist("test-plugins"));
    ilm.ok(&["instance", "add", "mem", "--plugin", "memory-app"]);
    for bad in ["department", "=Engineering"] {
        let ran = ilm.run(&["plugin", "check", "mem", "--field", bad]);
        assert_eq!(ran.code, 2, "{}", ran.stderr);
        assert!(
            ran.stderr
                .contains("expected FIELD=VALUE, a user-profile field and its value (e.g. --field department=Engineering)"),
            "{}",
            ran.stderr
        );
    }
    let ran = ilm.run(&["plugin", "check", "mem", "--field", "Email=a@b.test"]);
    assert_ne!(ran.code, 0);
    assert!(
        ran.stderr
            .contains("the check sets the profile field \"Email\" itself"),
        "{}",
        ran.stderr
    );
    // Nothing was checked, so nothing was created.
    let user = memory_app_user_1(&ilm);
    assert_eq!(user["errorMessage"], "User does not exist", "{user}");
}
