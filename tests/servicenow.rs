//! The IAM contract of the ServiceNow plugin through the `ilm` CLI, the sandboxed plugin
//! and the host's IAM algorithm, against the ServiceNow Table API test double: lookups by
//! sys_id, user_name and email, create, create-existing-becomes-update, update by PATCH,
//! rename through `olduserdata`, disable (twice), enable, not-found and error shapes, and
//! paging; the mapping fields from the data dictionary; then a new hire provisioned to
//! ServiceNow by the shipped playbooks.

mod support;

use ilm::plugins::{Host, HostConfig, InstanceSettings, WasmApp};
use ilm::store::{Instance, Secret};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use support::servicenow::ServiceNowDouble;
use support::{dist, Ilm, SmtpSink};

fn setup() -> (ServiceNowDouble, Ilm) {
    let snow = ServiceNowDouble::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_servicenow("snow", &snow, &[]);
    (snow, ilm)
}

/// An IAM command on the instance `snow`: its exit code and vendor result.
fn iam(ilm: &Ilm, command: &str, profile: &Value, extra: &[&str]) -> (i32, Value) {
    ilm.vendor(command, "snow", profile, extra)
}

/// Runs an IAM command on `instance` that must fail with `code`: asserts exit 3 and one
/// failed vendor result with that code; returns the result.
fn refused(ilm: &Ilm, command: &str, instance: &str, profile: &Value, code: &str) -> Value {
    let (exit, v, stderr) = ilm.vendor_run(command, instance, profile, &[]);
    assert_eq!(exit, 3, "{v}\n{stderr}");
    assert_eq!(
        (&v["success"], &v["errorCode"]),
        (&json!(false), &json!(code)),
        "{v}"
    );
    v
}

/// The error message of a vendor result.
fn message(v: &Value) -> &str {
    v["errorMessage"].as_str().unwrap_or_default()
}

/// A user profile as the HR side holds it.
fn person(username: &str, email: &str) -> Value {
    json!({"username": username, "email": email, "givenname": "Jane", "surname": "Doe",
           "employeeid": "100042", "title": "Engineer", "department": "Engineering"})
}

/// A sys_user record the instance holds before the test acts.
fn record(user_name: &str, email: &str, active: bool) -> Value {
    json!({"user_name": user_name, "email": email, "first_name": "Jane", "last_name": "Doe",
           "active": active.to_string()})
}

/// (method, path, query, body) of every request the double received, in order.
fn calls(snow: &ServiceNowDouble) -> Vec<(String, String, Value, Value)> {
    snow.requests()
        .into_iter()
        .map(|r| {
            let text = |key: &str| r[key].as_str().unwrap_or_default().to_owned();
            (
                text("method"),
                text("path"),
                r["query"].clone(),
                r["body"].clone(),
            )
        })
        .collect()
}

/// The writes (POST, PATCH) the double received: (method, path, body).
fn writes(snow: &ServiceNowDouble) -> Vec<(String, String, Value)> {
    calls(snow)
        .into_iter()
        .filter(|(method, ..)| method != "GET")
        .map(|(method, path, _, body)| (method, path, body))
        .collect()
}

/// The encoded query of a lookup by `field`.
fn lookup_query(field: &str, value: &str) -> Value {
    json!(format!("{field}={value}"))
}

fn user_path(sys_id: &str) -> String {
    format!("/api/now/table/sys_user/{sys_id}")
}

/// (action, success, skipped, active, id) of a vendor result.
fn summary(v: &Value) -> (Value, Value, Value, Value, Value) {
    (
        v["action"].clone(),
        v["success"].clone(),
        v["skipped"].clone(),
        v["active"].clone(),
        v["id"].clone(),
    )
}

#[test]
fn a_new_user_is_created_from_the_mapped_profile_and_a_second_create_updates_it_by_patch() {
    let (snow, ilm) = setup();
    let (code, created) = iam(
        &ilm,
        "iam-create-user",
        &person("jdoe", "jdoe@acme.test"),
        &[],
    );
    assert_eq!(code, 0, "{created}");
    let users = snow.users();
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    let sys_id = user["sys_id"].as_str().expect("sys_id").to_owned();
    assert_eq!(
        summary(&created),
        (
            json!("create"),
            json!(true),
            json!(false),
            json!(true),
            json!(sys_id)
        ),
        "{created}"
    );
    assert_eq!(
        (&created["username"], &created["email"]),
        (&json!("jdoe"), &json!("jdoe@acme.test"))
    );
    assert_eq!(
        (
            &user["first_name"],
            &user["last_name"],
            &user["employee_number"],
            &user["department"],
            &user["active"]
        ),
        (
            &json!("Jane"),
            &json!("Doe"),
            &json!("100042"),
            &json!("Engineering"),
            &json!("true")
        ),
        "{user}"
    );
    // Looked up by user_name first (sys_id is not in an HR profile), then inserted with
    // only the fields the profile has.
    let seen = calls(&snow);
    assert_eq!(seen[0].0, "GET");
    assert_eq!(seen[0].1, "/api/now/table/sys_user");
    assert_eq!(
        seen[0].2["sysparm_query"],
        lookup_query("user_name", "jdoe")
    );
    assert_eq!(
        writes(&snow)
            .iter()
            .map(|(m, p, _)| (m.as_str(), p.as_str()))
            .collect::<Vec<_>>(),
        vec![("POST", "/api/now/table/sys_user")]
    );
    let inserted = &writes(&snow)[0].2;
    assert!(
        inserted.get("city").is_none() && inserted.get("mobile_phone").is_none(),
        "unset fields are left out, not sent as null: {inserted}"
    );

    let mut promoted = person("jdoe", "jdoe@acme.test");
    promoted["title"] = json!("Sr Engineer");
    let (code, again) = iam(&ilm, "iam-create-user", &promoted, &[]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(
        (&again["action"], &again["id"]),
        (&json!("update"), &json!(sys_id)),
        "{again}"
    );
    assert_eq!(snow.users().len(), 1, "still one user");
    assert_eq!(snow.user(&sys_id).expect("user")["title"], "Sr Engineer");
    let last = writes(&snow).pop().expect("a write");
    assert_eq!(
        (last.0.as_str(), last.1.as_str()),
        ("PATCH", user_path(&sys_id).as_str())
    );
}

#[test]
fn a_user_is_found_by_sys_id_by_user_name_and_by_email_and_a_missing_one_is_not_found() {
    let (snow, ilm) = setup();
    let sys_id = snow.add_user(record("jdoe", "Jane.Doe@Acme.test", true));
    snow.add_user(record("other", "other@acme.test", true));
    let found_id = |profile: Value| {
        let (code, v) = iam(&ilm, "iam-get-user", &profile, &[]);
        assert_eq!(code, 0, "{profile}: {v}");
        assert_eq!(
            (&v["success"], &v["action"], &v["username"]),
            (&json!(true), &json!("get"), &json!("jdoe")),
            "{v}"
        );
        v["id"].as_str().unwrap_or_default().to_owned()
    };

    assert_eq!(found_id(json!({ "id": sys_id })), sys_id);
    assert_eq!(found_id(json!({"username": "jdoe"})), sys_id);
    // ServiceNow compares emails without case.
    assert_eq!(found_id(json!({"email": "jane.doe@acme.test"})), sys_id);
    let seen = calls(&snow);
    assert_eq!(
        (seen[0].0.as_str(), seen[0].1.as_str()),
        ("GET", user_path(&sys_id).as_str()),
        "by sys_id: the record itself"
    );
    assert_eq!(
        seen[1].2["sysparm_query"],
        lookup_query("user_name", "jdoe")
    );
    assert_eq!(
        seen[2].2["sysparm_query"],
        lookup_query("email", "jane.doe@acme.test")
    );
    assert!(writes(&snow).is_empty(), "a get writes nothing");

    // The user comes back through the incoming mapper: text fields, "true" as a boolean,
    // empty fields left out.
    let got: Value = serde_json::from_str(&ilm.ok(&[
        "command",
        "iam-get-user",
        "--using",
        "snow",
        "--arg",
        "user-profile={\"username\": \"jdoe\"}",
        "--json",
    ]))
    .expect("JSON");
    assert_eq!(
        got["IAM"]["UserProfile"][0],
        json!({"username": "jdoe", "email": "Jane.Doe@Acme.test", "givenname": "Jane",
               "surname": "Doe", "displayname": "Jane Doe", "active": true}),
        "{got}"
    );

    for missing in [
        json!({"id": "0123456789abcdef0123456789abcdef"}),
        json!({"username": "nobody"}),
        json!({"email": "nobody@acme.test"}),
    ] {
        let v = refused(&ilm, "iam-get-user", "snow", &missing, "404");
        assert_eq!(message(&v), "User does not exist", "{missing}: {v}");
    }
}

#[test]
fn disable_sets_active_to_the_text_false_a_second_disable_is_skipped_and_allow_enable_reactivates()
{
    let (snow, ilm) = setup();
    let sys_id = snow.add_user(record("jdoe", "jdoe@acme.test", true));
    let profile = person("jdoe", "jdoe@acme.test");

    let (code, disabled) = iam(&ilm, "iam-disable-user", &profile, &[]);
    assert_eq!(code, 0, "{disabled}");
    assert_eq!(
        summary(&disabled),
        (
            json!("disable"),
            json!(true),
            json!(false),
            json!(false),
            json!(sys_id)
        ),
        "{disabled}"
    );
    assert_eq!(snow.user(&sys_id).expect("user")["active"], "false");
    assert_eq!(
        writes(&snow),
        vec![(
            "PATCH".to_owned(),
            user_path(&sys_id),
            json!({"active": "false"})
        )]
    );

    let (code, again) = iam(&ilm, "iam-disable-user", &profile, &[]);
    assert_eq!(code, 0, "{again}");
    assert_eq!(
        (&again["skipped"], &again["reason"], &again["active"]),
        (
            &json!(true),
            &json!("User is already disabled."),
            &json!(false)
        ),
        "{again}"
    );
    assert_eq!(writes(&snow).len(), 1, "nothing written the second time");

    // Without allow-enable the profile is updated and the user stays inactive.
    let (code, kept) = iam(&ilm, "iam-update-user", &profile, &["allow-enable=false"]);
    assert_eq!(code, 0, "{kept}");
    assert_eq!(
        (&kept["action"], &kept["active"]),
        (&json!("update"), &json!(false)),
        "{kept}"
    );
    assert_eq!(snow.user(&sys_id).expect("user")["active"], "false");

    let (code, enabled) = iam(&ilm, "iam-update-user", &profile, &["allow-enable=true"]);
    assert_eq!(code, 0, "{enabled}");
    assert_eq!(
        summary(&enabled),
        (
            json!("enable"),
            json!(true),
            json!(false),
            json!(true),
            json!(sys_id)
        ),
        "{enabled}"
    );
    let user = snow.user(&sys_id).expect("user");
    assert_eq!(
        (&user["active"], &user["locked_out"]),
        (&json!("true"), &json!("false"))
    );
    let patches: Vec<Value> = writes(&snow).into_iter().map(|(_, _, body)| body).collect();
    assert_eq!(
        patches[patches.len() - 2],
        json!({"active": "true", "locked_out": "false"}),
        "activated (and unlocked) before the profile update: {patches:?}"
    );

    // Missing users: disable is skipped; update is skipped when it may not create.
    let nobody = person("nobody", "nobody@acme.test");
    let (code, missing) = iam(&ilm, "iam-disable-user", &nobody, &[]);
    assert_eq!(code, 0, "{missing}");
    assert_eq!(
        (&missing["skipped"], &missing["reason"]),
        (&json!(true), &json!("User does not exist")),
        "{missing}"
    );
    ilm.add_servicenow("snow-no-create", &snow, &["create-if-not-exists=false"]);
    let (code, v, _) = ilm.vendor_run("iam-update-user", "snow-no-create", &nobody, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        (&v["skipped"], &v["errorCode"]),
        (&json!(true), &json!("404")),
        "{v}"
    );
    assert_eq!(snow.users().len(), 1, "nobody was created");
}

#[test]
fn a_rename_is_found_by_the_old_user_name_and_a_clash_reports_servicenows_error() {
    let (snow, ilm) = setup();
    let sys_id = snow.add_user(record("jroe", "jane.roe@acme.test", true));
    snow.add_user(record("bob", "bob@acme.test", true));

    let mut renamed = person("jdoe", "jane.doe@acme.test");
    renamed["olduserdata"] = person("jroe", "jane.roe@acme.test");
    let (code, updated) = iam(&ilm, "iam-update-user", &renamed, &[]);
    assert_eq!(code, 0, "{updated}");
    assert_eq!(
        (&updated["action"], &updated["id"], &updated["username"]),
        (&json!("update"), &json!(sys_id), &json!("jdoe")),
        "{updated}"
    );
    assert_eq!(
        calls(&snow)[0].2["sysparm_query"],
        lookup_query("user_name", "jroe"),
        "looked up by the old user_name"
    );
    let user = snow.user(&sys_id).expect("user");
    assert_eq!(
        (&user["user_name"], &user["email"]),
        (&json!("jdoe"), &json!("jane.doe@acme.test"))
    );
    assert_eq!(snow.users().len(), 2, "renamed, not created");

    // Renaming onto a user_name that exists: ServiceNow refuses the update, and its
    // message and detail reach the result.
    let mut clash = person("bob", "jane.doe@acme.test");
    clash["olduserdata"] = person("jdoe", "jane.doe@acme.test");
    let v = refused(&ilm, "iam-update-user", "snow", &clash, "403");
    let said = message(&v);
    assert!(
        said.starts_with("Operation Failed: Error during update of sys_user (bob)")
            && said.contains(&format!("PATCH {}", snow.url())),
        "{said}"
    );
    assert_eq!(snow.user(&sys_id).expect("user")["user_name"], "jdoe");
}

#[test]
fn a_wrong_password_is_a_failed_result_that_says_so_and_fails_the_instance_test() {
    let (snow, ilm) = setup();
    ilm.add_servicenow_with_password("bad", &snow, "not-the-password", &[]);
    let v = refused(
        &ilm,
        "iam-get-user",
        "bad",
        &person("jdoe", "jdoe@acme.test"),
        "401",
    );
    let said = message(&v);
    assert!(
        said.starts_with("User Not Authenticated: Required to provide Auth information")
            && said.contains("set the instance's username and password"),
        "{said}"
    );

    let test = ilm.run(&["instance", "test", "bad"]);
    assert_eq!(test.code, 1, "{}", test.stderr);
    assert!(
        test.stderr.contains("User Not Authenticated") && !test.stderr.contains("not-the-password"),
        "{}",
        test.stderr
    );
    ilm.ok(&["instance", "test", "snow"]);
    assert!(
        calls(&snow).iter().all(|(method, ..)| method == "GET"),
        "the instance test only reads"
    );
}

#[test]
fn several_users_with_one_email_are_an_error_and_nothing_is_written() {
    let (snow, ilm) = setup();
    snow.add_user(record("jdoe", "shared@acme.test", true));
    snow.add_user(record("jdoe2", "shared@acme.test", true));
    let v = refused(
        &ilm,
        "iam-disable-user",
        "snow",
        &json!({"email": "shared@acme.test"}),
        "409",
    );
    assert!(
        message(&v).contains("2 ServiceNow users have email \"shared@acme.test\""),
        "{v}"
    );
    assert!(writes(&snow).is_empty());
    assert!(snow.users().iter().all(|u| u["active"] == "true"));
}

#[test]
fn a_lookup_value_that_would_change_the_encoded_query_is_refused_before_any_request() {
    let (snow, ilm) = setup();
    snow.add_user(record("admin", "admin@acme.test", true));
    let v = refused(
        &ilm,
        "iam-disable-user",
        "snow",
        &json!({"username": "x^ORuser_name=admin"}),
        "400",
    );
    assert!(message(&v).contains("cannot hold ^"), "{v}");
    assert!(snow.requests().is_empty(), "{:?}", snow.requests());
    assert_eq!(snow.users()[0]["active"], "true");
}

#[test]
fn a_deactivation_a_business_rule_undoes_is_a_failure_not_a_success() {
    let (snow, ilm) = setup();
    let sys_id = snow.add_user(record("jdoe", "jdoe@acme.test", true));
    snow.keep_on_update(&["active"]);
    let v = refused(
        &ilm,
        "iam-disable-user",
        "snow",
        &person("jdoe", "jdoe@acme.test"),
        "409",
    );
    assert_eq!(v["action"], "disable", "{v}");
    assert!(
        message(&v).contains("business rule") && message(&v).contains(&sys_id),
        "{v}"
    );
}

#[test]
fn a_server_error_on_a_read_is_retried_by_the_host_and_one_on_a_create_is_a_failed_result() {
    let (snow, ilm) = setup();
    let users = "/api/now/table/sys_user";
    let busy = ("Transaction cancelled", "maximum execution time exceeded");
    snow.fail("GET", users, 503, 2, busy);
    let (code, created) = iam(
        &ilm,
        "iam-create-user",
        &person("ann", "ann@acme.test"),
        &[],
    );
    assert_eq!(code, 0, "{created}");
    let methods: Vec<String> = calls(&snow).into_iter().map(|(m, ..)| m).collect();
    assert_eq!(
        methods,
        ["GET", "GET", "GET", "POST"],
        "two refused lookups, the one that passed, the insert"
    );

    // An insert that failed may have been applied: not repeated inside the call.
    snow.fail("POST", users, 500, 1, busy);
    let v = refused(
        &ilm,
        "iam-create-user",
        "snow",
        &person("bob", "bob@acme.test"),
        "500",
    );
    assert!(
        message(&v).starts_with("Transaction cancelled: maximum execution time exceeded"),
        "{v}"
    );
    let posts = calls(&snow)
        .into_iter()
        .filter(|(m, ..)| m == "POST")
        .count();
    assert_eq!(posts, 2, "ann's insert and bob's one try");
    assert!(snow.users().iter().all(|u| u["user_name"] != "bob"));
}

#[test]
fn listing_reads_pages_with_sysparm_limit_and_offset_and_says_where_the_next_starts() {
    let (snow, ilm) = setup();
    for i in 0..7 {
        snow.add_user(record(&format!("p{i}"), &format!("p{i}@acme.test"), true));
    }
    snow.add_user(record("admin", "admin@acme.test", true));
    ilm.add_servicenow("small-pages", &snow, &["page_size=3"]);
    let list = |args: &[&str]| -> Value {
        let mut argv = vec!["command", "servicenow-list-users", "--using", "small-pages"];
        for arg in args {
            argv.extend(["--arg", arg]);
        }
        let out: Value = serde_json::from_str(&ilm.ok(&argv)).expect("JSON output");
        out["small-pages"].clone()
    };
    let names = |listed: &Value| -> Vec<String> {
        listed["users"]
            .as_array()
            .expect("users")
            .iter()
            .map(|u| u["user_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    let query = "query=user_nameSTARTSWITHp^ORDERBYuser_name";
    let first = list(&[query, "limit=5", "offset=1"]);
    assert_eq!(names(&first), ["p1", "p2", "p3", "p4", "p5"], "{first}");
    assert_eq!(
        (&first["total"], &first["next_offset"]),
        (&json!(7), &json!(6))
    );
    let pages: Vec<(Value, Value)> = calls(&snow)
        .into_iter()
        .map(|(_, _, q, _)| (q["sysparm_limit"].clone(), q["sysparm_offset"].clone()))
        .collect();
    assert_eq!(
        pages,
        vec![(json!("3"), json!("1")), (json!("2"), json!("4"))],
        "pages of page_size, the last one only as large as needed"
    );

    let rest = list(&[query, "offset=6"]);
    assert_eq!(names(&rest), ["p6"]);
    assert_eq!(
        (&rest["total"], &rest["next_offset"]),
        (&json!(7), &Value::Null)
    );

    // A full page that reaches X-Total-Count is the end: no request for an empty page.
    let before = calls(&snow).len();
    let tail = list(&[query, "offset=4"]);
    assert_eq!(names(&tail), ["p4", "p5", "p6"]);
    assert_eq!(tail["next_offset"], Value::Null);
    assert_eq!(calls(&snow).len(), before + 1, "one page read");

    let bad = ilm.run(&[
        "command",
        "servicenow-list-users",
        "--using",
        "small-pages",
        "--arg",
        "limit=-1",
    ]);
    assert_eq!(bad.code, 1, "{}", bad.stderr);
    assert!(
        bad.stderr.contains("limit must be a whole number"),
        "{}",
        bad.stderr
    );
}

#[test]
fn the_mapping_fields_are_sys_users_columns_read_from_the_data_dictionary_in_pages() {
    let snow = ServiceNowDouble::start();
    let cache = tempfile::tempdir().expect("tempdir");
    let host = Host::new(HostConfig {
        plugins_dir: dist("plugins"),
        cache_dir: cache.path().to_owned(),
    })
    .expect("a plugin host");
    let plugin = host.plugin("servicenow").expect("the servicenow plugin");
    let mut params = Map::new();
    params.insert("url".into(), json!(snow.url()));
    params.insert("page_size".into(), json!(10));
    let mut secrets = std::collections::BTreeMap::new();
    secrets.insert("username".into(), Secret::text(snow.username()));
    secrets.insert("password".into(), Secret::text(snow.password()));
    let instance = Instance {
        name: "snow".into(),
        plugin: "servicenow".into(),
        params,
        secrets,
        allow_hosts: vec![],
        limits: Map::new(),
        enabled: true,
    };
    let settings =
        InstanceSettings::new(&plugin.manifest, &instance, "{}".into()).expect("settings");
    let fields = WasmApp::new(&host, Arc::clone(&plugin), settings, "get-mapping-fields")
        .mapping_fields()
        .expect("the plugin ran")
        .expect("the fields");

    let described = |name: &str| {
        fields
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.description.clone())
    };
    assert_eq!(described("active").as_deref(), Some("Active (boolean)"));
    assert_eq!(described("user_name").as_deref(), Some("User ID (string)"));
    assert_eq!(described("email").as_deref(), Some("Email (email)"));
    assert!(
        fields.iter().all(|f| !f.name.is_empty()),
        "the table's own entry (no element) is left out"
    );
    // The double's sys_user has 29 columns: three pages of 10.
    assert_eq!(
        fields.len(),
        29,
        "{:?}",
        fields.iter().map(|f| &f.name).collect::<Vec<_>>()
    );
    let pages: Vec<(Value, Value, Value)> = calls(&snow)
        .into_iter()
        .map(|(_, path, q, _)| {
            assert_eq!(path, "/api/now/table/sys_dictionary");
            (
                q["sysparm_query"].clone(),
                q["sysparm_limit"].clone(),
                q["sysparm_offset"].clone(),
            )
        })
        .collect();
    let query = json!("name=sys_user^elementISNOTEMPTY");
    assert_eq!(
        pages,
        vec![
            (query.clone(), json!("10"), json!("0")),
            (query.clone(), json!("10"), json!("10")),
            (query, json!("10"), json!("20")),
        ]
    );
}

#[test]
fn a_new_hire_is_provisioned_to_servicenow_by_the_shipped_playbooks_and_mailed() {
    let snow = ServiceNowDouble::start();
    let smtp = SmtpSink::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_servicenow("snow", &snow, &[]);
    ilm.set_list(
        "app-provisioning-settings",
        &json!([{"instance_name": "snow", "create_user_enabled": true, "create_user_group": "All",
                 "create_user_email_notification_ids": "snow-owners@acme.test"}]),
    );
    let profile = json!({"email": "kim.lee@acme.test", "username": "kim.lee", "employeeid": "7",
        "givenname": "Kim", "surname": "Lee", "displayname": "Kim Lee", "title": "Engineer",
        "city": "Lisbon", "employmentstatus": "Active"});
    let fields = json!({"email": "kim.lee@acme.test", "userprofile": profile});
    let created: Value = ilm.create_incident("IAM - New Hire", &fields);
    let id = created["id"].to_string();
    let ran = ilm.run_with(&["incident", "run", &id], &[("ILM_SMTP", &smtp.url())]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);

    let users = snow.users();
    assert_eq!(users.len(), 1, "{users:?}");
    let user = &users[0];
    assert_eq!(
        (
            &user["user_name"],
            &user["email"],
            &user["name"],
            &user["city"],
            &user["active"]
        ),
        (
            &json!("kim.lee"),
            &json!("kim.lee@acme.test"),
            &json!("Kim Lee"),
            &json!("Lisbon"),
            &json!("true")
        ),
        "{user}"
    );
    let mails = smtp.messages();
    assert!(
        mails
            .iter()
            .any(|m| m.contains("User was provisioned successfully")
                && m.contains("snow-owners@acme.test")),
        "{mails:?}"
    );
}

/// The double itself answers as its header says ServiceNow does, so the tests above rest
/// on checked behaviour: `^OR` and `ORDERBYDESC`, conditions on unknown fields ignored,
/// paging headers, `sysparm_fields`, and the error bodies.
#[test]
fn the_double_answers_queries_paging_and_errors_like_the_table_api() {
    let snow = ServiceNowDouble::start();
    for (name, email) in [
        ("ann", "ann@acme.test"),
        ("bob", "bob@acme.test"),
        ("cy", "cy@other.test"),
    ] {
        snow.add_user(record(name, email, true));
    }
    let client = reqwest::blocking::Client::new();
    let get = |table: &str, password: &str, query: &[(&str, &str)]| {
        let response = client
            .get(format!("{}/api/now/table/{table}", snow.url()))
            .basic_auth(snow.username(), Some(password))
            .query(query)
            .send()
            .expect("the double answers");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let (total, link) = (header("X-Total-Count"), header("Link"));
        let body: Value = serde_json::from_str(&response.text().expect("body")).expect("JSON");
        (status, total, link, body)
    };
    let names = |body: &Value| -> Vec<String> {
        body["result"]
            .as_array()
            .expect("a result list")
            .iter()
            .map(|u| u["user_name"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    let password = snow.password().to_owned();

    let query = "user_name=ANN^ORemail=cy@other.test^ORDERBYDESCuser_name";
    let (status, total, _, body) = get("sys_user", &password, &[("sysparm_query", query)]);
    assert_eq!((status, total.as_str()), (200, "2"));
    assert_eq!(names(&body), ["cy", "ann"]);

    let (_, total, _, _) = get("sys_user", &password, &[("sysparm_query", "nosuch=1")]);
    assert_eq!(total, "3", "a condition on an unknown field is ignored");

    let paged = [
        ("sysparm_query", "ORDERBYuser_name"),
        ("sysparm_limit", "1"),
        ("sysparm_offset", "1"),
        ("sysparm_fields", "user_name,active"),
    ];
    let (_, total, link, body) = get("sys_user", &password, &paged);
    assert_eq!(total, "3");
    assert_eq!(
        body,
        json!({"result": [{"user_name": "bob", "active": "true"}]})
    );
    assert!(
        ["first", "prev", "next", "last"]
            .iter()
            .all(|rel| link.contains(&format!("rel=\"{rel}\""))),
        "{link}"
    );

    let error = |message: &str, detail: Value| json!({"error": {"message": message, "detail": detail}, "status": "failure"});
    let (status, _, _, body) = get("sys_user", "wrong", &[]);
    assert_eq!(
        (status, body),
        (
            401,
            error(
                "User Not Authenticated",
                json!("Required to provide Auth information")
            )
        )
    );
    let (status, _, _, body) = get("sys_user", &password, &[("sysparm_offset", "-1")]);
    assert_eq!(
        (status, body),
        (
            400,
            error("offset is -1", json!("Negative offset is not supported"))
        )
    );
    let (status, _, _, body) = get("sys_usr", &password, &[]);
    assert_eq!(
        (status, body),
        (400, error("Invalid table sys_usr", Value::Null))
    );
}
