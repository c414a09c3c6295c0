//! The operator's command line without traps: instances edited in place, lists playbooks
//! read checked when set, and every configuration change in the audit log, filterable.

mod support;

use serde_json::Value;
use support::{dist, Ilm, ReportServer};

fn hostile(ilm: &Ilm, name: &str) {
    ilm.ok(&[
        "instance",
        "add",
        name,
        "--plugin",
        "hostile",
        "--param",
        "url=https://a.example.test",
        "--secret",
        "token=first-token",
    ]);
}

fn show(ilm: &Ilm, name: &str) -> Value {
    serde_json::from_str(&ilm.ok(&["instance", "show", name, "--json"])).expect("instance JSON")
}

fn audit(ilm: &Ilm, filter: &[&str]) -> Vec<Value> {
    let mut args = vec!["audit", "--json"];
    args.extend(filter);
    serde_json::from_str(&ilm.ok(&args)).expect("audit JSON")
}

fn failure(ilm: &Ilm, args: &[&str]) -> String {
    let ran = ilm.run(args);
    assert_eq!(ran.code, 1, "ilm {args:?} should fail: {}", ran.stdout);
    ran.stderr
}

#[test]
fn an_instance_is_edited_in_place_and_what_is_not_given_stays() {
    let ilm = Ilm::new(dist("test-plugins"));
    hostile(&ilm, "h");
    ilm.ok(&[
        "instance",
        "edit",
        "h",
        "--param",
        "url=https://b.example.test",
        "--allow",
        "https://c.example.test",
        "--deadline-ms",
        "1500",
        "--disable",
    ]);
    let edited = show(&ilm, "h");
    assert_eq!(edited["params"]["url"], "https://b.example.test");
    assert_eq!(edited["allow_hosts"][0], "https://c.example.test");
    assert_eq!(edited["limits"]["deadline_ms"], 1500);
    assert_eq!(edited["enabled"], false);
    assert_eq!(
        edited["secrets_set"][0], "token",
        "the secret stays: {edited}"
    );

    ilm.ok(&[
        "instance",
        "edit",
        "h",
        "--unset",
        "token",
        "--remove-allow",
        "https://c.example.test",
        "--enable",
    ]);
    let edited = show(&ilm, "h");
    assert_eq!(
        edited["secrets_set"].as_array().map(Vec::len),
        Some(0),
        "{edited}"
    );
    assert_eq!(
        edited["allow_hosts"].as_array().map(Vec::len),
        Some(0),
        "{edited}"
    );
    assert_eq!(edited["enabled"], true);
    assert_eq!(edited["params"]["url"], "https://b.example.test");
}

#[test]
fn a_wrong_edit_says_what_to_fix_and_changes_nothing() {
    let ilm = Ilm::new(dist("test-plugins"));
    hostile(&ilm, "h");
    let before = show(&ilm, "h");
    let unknown = failure(&ilm, &["instance", "edit", "h", "--param", "colour=blue"]);
    assert!(unknown.contains("no parameter \"colour\""), "{unknown}");
    assert!(
        unknown.contains("url"),
        "the known parameters are named: {unknown}"
    );
    let not_secret = failure(&ilm, &["instance", "edit", "h", "--param", "token=x"]);
    assert!(not_secret.contains("is a secret parameter"), "{not_secret}");
    let bad_url = failure(
        &ilm,
        &["instance", "edit", "h", "--param", "url=https://u:p@x.test"],
    );
    assert!(bad_url.contains("user name or password"), "{bad_url}");
    let not_there = failure(
        &ilm,
        &["instance", "edit", "h", "--remove-allow", "https://z.test"],
    );
    assert!(not_there.contains("not an allow-list entry"), "{not_there}");
    let missing = failure(&ilm, &["instance", "edit", "nope", "--disable"]);
    assert!(missing.contains("no instance named \"nope\""), "{missing}");
    assert_eq!(show(&ilm, "h"), before);
}

#[test]
fn app_provisioning_settings_with_a_wrong_shape_or_an_unknown_instance_are_refused() {
    let ilm = Ilm::new(dist("test-plugins"));
    hostile(&ilm, "h");
    let set = |body: &str| ilm.run(&["list", "set", "app-provisioning-settings", "--body", body]);
    let object = set(r#"{"instance_name": "h", "create_user_enabled": true}"#);
    assert_eq!(object.code, 1);
    assert!(
        object.stderr.contains("must be a JSON array"),
        "{}",
        object.stderr
    );
    let unknown = set(r#"[{"instance_name": "ad", "create_user_enabled": true}]"#);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown
            .stderr
            .contains("\"ad\", which does not exist; configured instances: h"),
        "{}",
        unknown.stderr
    );
    let quoted = set(r#"[{"instance_name": "h", "create_user_enabled": "true"}]"#);
    assert_eq!(quoted.code, 1);
    assert!(
        quoted.stderr.contains("without quotes"),
        "{}",
        quoted.stderr
    );
    assert_eq!(
        ilm.run(&["list", "get", "app-provisioning-settings"]).code,
        1,
        "nothing was saved"
    );

    let good = r#"[{"instance_name": "h", "create_user_enabled": true}]"#;
    assert_eq!(set(good).code, 0);
    assert_eq!(
        ilm.ok(&["list", "get", "app-provisioning-settings"]).trim(),
        good
    );
}

#[test]
fn configuration_changes_are_audited_and_the_log_filters_by_actor_target_action_and_time() {
    let plugins = tempfile::tempdir().expect("tempdir");
    let ilm = Ilm::new(plugins.path().to_path_buf());
    let component = dist("test-plugins").join("hostile.wasm");
    ilm.ok(&["plugin", "install", component.to_str().expect("utf-8 path")]);
    hostile(&ilm, "h");
    ilm.ok(&["instance", "edit", "h", "--secret", "token=second-token"]);
    ilm.ok(&["instance", "edit", "h", "--disable"]);
    ilm.ok(&["list", "set", "deactivation-count", "--body", "50"]);
    ilm.ok(&["list", "set", "deactivation-count", "--body", "51"]);
    ilm.ok(&["instance", "remove", "h"]);
    let names: Value = serde_json::from_str(&ilm.ok(&["list", "names", "--json"])).expect("JSON");
    assert_eq!(names, serde_json::json!(["deactivation-count"]));

    let actions: Vec<String> = audit(&ilm, &[])
        .iter()
        .rev()
        .map(|e| {
            format!(
                "{} {}",
                e["action"].as_str().unwrap_or("?"),
                e["target"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            "plugin.install hostile",
            "instance.add h",
            "instance.edit h",
            "list.set deactivation-count",
            "list.set deactivation-count",
            "instance.remove h",
        ],
        "a new secret value under the same name is sealed anew but is no visible change"
    );
    let instance = audit(&ilm, &["--action", "instance", "--target", "h"]);
    assert_eq!(instance.len(), 3);
    let edit = &instance[1];
    assert_eq!(edit["actor"], "cli");
    assert_eq!(edit["before"]["enabled"], 1);
    assert_eq!(edit["after"]["enabled"], 0);
    assert_eq!(edit["after"]["secrets"][0], "token");
    let log = serde_json::to_string(&audit(&ilm, &[])).expect("JSON");
    assert!(
        !log.contains("first-token") && !log.contains("second-token"),
        "{log}"
    );

    let list = audit(&ilm, &["--action", "list.set"]);
    assert_eq!(list[0]["before"], "50");
    assert_eq!(list[0]["after"], "51");
    assert!(audit(&ilm, &["--actor", "someone-else"]).is_empty());
    assert!(audit(&ilm, &["--since", "2999-01-01"]).is_empty());
    assert_eq!(audit(&ilm, &["--since", "2000-01-01"]).len(), 6);

    let table = ilm.ok(&["audit", "--action", "list"]);
    assert!(table.contains("\"50\" → \"51\""), "{table}");
}

#[test]
fn a_server_with_a_private_ca_gets_an_error_naming_ca_file_and_an_edit_fixes_it() {
    let report = ReportServer::start("isu", "pw");
    let ilm = Ilm::new(dist("plugins"));
    let url = format!("url={}", report.url());
    ilm.ok(&[
        "instance",
        "add",
        "hr",
        "--plugin",
        "workday",
        "--param",
        &url,
        "--secret",
        "username=isu",
        "--secret",
        "password=pw",
    ]);
    let untrusted = failure(&ilm, &["fetch", "hr", "--dry-run"]);
    assert!(
        untrusted.contains("--ca-file") && untrusted.contains("ilm instance edit"),
        "{untrusted}"
    );
    let ca = report.ca.path("ca.pem");
    ilm.ok(&[
        "instance",
        "edit",
        "hr",
        "--ca-file",
        ca.to_str().expect("utf-8 path"),
    ]);
    ilm.ok(&["fetch", "hr", "--dry-run"]);
}

/// A playbooks folder where "Ask" waits on a question and "Fail" fails, with the shipped
/// Workday map.
fn asking_playbooks(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("mappers")).expect("mappers folder");
    std::fs::copy(
        support::repo_root().join("playbooks/mappers/workday-incoming.toml"),
        dir.join("mappers/workday-incoming.toml"),
    )
    .expect("copying the Workday map");
    std::fs::write(dir.join("ask.rhai"), r#"ask("Go ahead?", ["Yes", "No"]);"#).expect("playbook");
    std::fs::write(dir.join("fail.rhai"), r#"fail("the app is down");"#).expect("playbook");
    std::fs::write(
        dir.join("config.toml"),
        "[types]\n\"Ask\" = \"ask\"\n\"Fail\" = \"fail\"\n",
    )
    .expect("config");
}

fn status(ilm: &Ilm) -> Value {
    serde_json::from_str(&ilm.ok(&["status", "--json"])).expect("status JSON")
}

#[test]
fn status_shows_each_fetch_the_incidents_and_what_needs_a_person() {
    let report = ReportServer::start("isu", "pw");
    let books = tempfile::tempdir().expect("tempdir");
    asking_playbooks(books.path());
    let mut ilm = Ilm::new(dist("plugins"));
    ilm.playbooks_dir = books.path().to_owned();
    ilm.add_workday("hr", &report, &["fetch_interval_minutes=30"]);
    ilm.ok(&["instance", "edit", "hr", "--secret", "password=wrong"]);
    let never = status(&ilm);
    assert_eq!(never["instances"][0]["source"], "report");
    assert!(never["instances"][0]["fetch"].is_null(), "{never}");

    assert_eq!(ilm.run(&["fetch", "hr"]).code, 1);
    assert_eq!(ilm.run(&["fetch", "hr"]).code, 1);
    let failing = status(&ilm);
    let fetch = &failing["instances"][0]["fetch"];
    assert_eq!(fetch["failures"], 2, "{failing}");
    assert!(
        fetch["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("401")),
        "{failing}"
    );
    assert_eq!(failing["needs_a_person"][0]["instance"], "hr");

    ilm.ok(&["instance", "edit", "hr", "--secret", "password=pw"]);
    ilm.ok(&["fetch", "hr"]);
    for kind in ["Ask", "Fail"] {
        let fields = format!(r#"{{"email": "{}@acme.test"}}"#, kind.to_lowercase());
        ilm.ok(&["incident", "create", "--type", kind, "--fields", &fields]);
    }
    assert_eq!(
        ilm.run(&["run", "--once"]).code,
        4,
        "the failed incident fails the run"
    );
    let now = status(&ilm);
    let hr = &now["instances"][0];
    assert_eq!(hr["fetch"]["failures"], 0, "{now}");
    assert!(hr["fetch"]["last_error"].is_null(), "{now}");
    let (last, next) = (
        hr["fetch"]["last_at"].as_str().expect("last_at"),
        hr["next_fetch_at"].as_str().expect("next_fetch_at"),
    );
    assert!(
        next > last,
        "the next fetch is an interval after the last: {last} {next}"
    );
    assert_eq!(now["incidents"]["waiting"], 1);
    assert_eq!(now["incidents"]["failed"], 1);
    let people = now["needs_a_person"].as_array().expect("needs_a_person");
    assert_eq!(people.len(), 2, "{now}");
    assert_eq!(people[0]["question"], "Go ahead?");
    assert_eq!(people[0]["answers"][1], "No");
    assert_eq!(people[1]["failed"], "the app is down");

    // The store it read: the SQLite file in the data directory, or the PostgreSQL URL
    // without its password.
    let database = now["database"].as_str().expect("database");
    match &ilm.database {
        None => assert_eq!(
            std::path::Path::new(database),
            ilm.data_dir.path().join("ilm.db"),
            "{now}"
        ),
        Some(url) => assert!(
            database.starts_with("postgres://") && url.contains(&database["postgres://".len()..]),
            "{database} for {url}"
        ),
    }

    let table = ilm.ok(&["status"]);
    assert!(
        table.starts_with(&format!("store: {database}\n")),
        "{table}"
    );
    assert!(table.contains("asks \"Go ahead?\""), "{table}");
    assert!(table.contains("waiting 1, failed 1"), "{table}");
}

/// `ilm` run from `cwd` (outside the repository) with no playbooks folder given.
fn ilm_outside(data_dir: &std::path::Path, cwd: &std::path::Path, args: &[&str]) -> support::Ran {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ilm"))
        .args(args)
        .current_dir(cwd)
        .env("ILM_HOME", data_dir)
        .env_remove("ILM_PLAYBOOKS_DIR")
        .env_remove("ILM_PLUGINS_DIR")
        .env_remove("ILM_LOG")
        .output()
        .expect("running ilm");
    support::Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn init_gives_a_data_directory_its_own_playbooks_and_never_overwrites_an_edited_one() {
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let data = elsewhere.path().join("ilm-data");
    let needs_playbooks = ["playbook", "list"];
    let before = ilm_outside(&data, elsewhere.path(), &needs_playbooks);
    assert_eq!(before.code, 1);
    assert!(
        before.stderr.contains("`ilm init` creates one"),
        "{}",
        before.stderr
    );

    let init = ilm_outside(&data, elsewhere.path(), &["init", "--json"]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let made: Value = serde_json::from_str(&init.stdout).expect("init JSON");
    let written = made["playbooks"]["written"].as_array().expect("written");
    assert!(written.iter().any(|p| p == "iam-sync-user.rhai"), "{made}");
    assert!(data.join("secret.key").is_file(), "the key is made at init");
    let listed = ilm_outside(&data, elsewhere.path(), &["playbook", "list", "--json"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listed: Value = serde_json::from_str(&listed.stdout).expect("playbook list JSON");
    let sync = listed
        .as_array()
        .and_then(|all| all.iter().find(|p| p["playbook"] == "iam-sync-user"))
        .expect("iam-sync-user is listed");
    assert!(
        sync["incident_types"]
            .as_array()
            .is_some_and(|t| t.iter().any(|t| t == "IAM - New Hire")),
        "{sync}"
    );

    // In a checkout too, init makes the data directory's own copy, which is then used.
    let in_checkout = tempfile::tempdir().expect("tempdir");
    let repo = support::repo_root();
    let init = ilm_outside(in_checkout.path(), &repo, &["init", "--json"]);
    let made: Value = serde_json::from_str(&init.stdout).expect("init JSON");
    assert_eq!(
        made["playbooks_dir"],
        in_checkout.path().join("playbooks").display().to_string()
    );
    assert!(in_checkout.path().join("playbooks/config.toml").is_file());

    let transformer = data.join("playbooks/transformers/ou-mapping.rhai");
    std::fs::write(&transformer, "// ours\n").expect("editing");
    let again = ilm_outside(&data, elsewhere.path(), &["init", "--json"]);
    let again: Value = serde_json::from_str(&again.stdout).expect("init JSON");
    assert_eq!(
        again["playbooks"]["kept"],
        serde_json::json!(["transformers/ou-mapping.rhai"])
    );
    assert_eq!(again["playbooks"]["written"], serde_json::json!([]));
    assert_eq!(
        std::fs::read_to_string(&transformer).expect("reading"),
        "// ours\n"
    );
}
