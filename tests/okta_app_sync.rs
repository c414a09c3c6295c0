//! App Sync end to end: Okta (the test double behind Prism, which checks every request
//! against Okta's OpenAPI description) drives accounts in GitHub (the real scim2-server)
//! through `ilm fetch` / `ilm run`: direct and group assignments create the account,
//! unassignment disables it, an Okta profile change updates it, unmapped apps are left
//! alone, the runtime's own Okta writes start no second round, and neither a rate limit
//! mid-read nor a kill -9 between pages loses or doubles an event.

mod support;

use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;
use support::okta::OktaDouble;
use support::{dist, scim2_server, Ilm, Server, SmtpSink};

const SCIM_TOKEN: &str = "app-sync-token";
/// The manual filter of an instance that also syncs Okta profile changes (the automatic one
/// reads only app membership events).
const WITH_PROFILE_CHANGES: &str = "eventType eq \"application.user_membership.add\" or eventType eq \"application.user_membership.remove\" or eventType eq \"user.account.update_profile\"";

struct World {
    okta: OktaDouble,
    scim: Server,
    smtp: SmtpSink,
    ilm: Ilm,
    /// The Okta app mapped to the GitHub instance `gh`.
    github_app: String,
}

fn world(okta_params: &[&str]) -> World {
    let okta = OktaDouble::start();
    let scim = scim2_server(SCIM_TOKEN);
    let smtp = SmtpSink::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_github("gh", scim.port, SCIM_TOKEN);
    let mut params = vec!["first_fetch=1 hours"];
    params.extend(okta_params);
    ilm.add_okta("okta", &okta, &params);
    let github_app = okta.add_app("GitHub");
    ilm.map_okta_app("okta", &github_app, "gh");
    World {
        okta,
        scim,
        smtp,
        ilm,
        github_app,
    }
}

impl World {
    /// A person known to HR (a stored profile) and to Okta; returns the Okta user id.
    fn person(&self, email: &str, title: &str) -> String {
        let fields = json!({"email": email, "username": email, "displayname": format!("Person {email}"),
            "givenname": "Person", "surname": email, "employeeid": email, "title": title});
        self.ilm
            .ok(&["profile", "set", email, "--fields", &fields.to_string()]);
        self.okta.add_user(
            json!({"login": email, "email": email, "firstName": "Person", "lastName": email, "title": title}),
            "ACTIVE",
        )
    }

    fn run_once(&self) -> String {
        let ran = self.run_once_exiting(0);
        ran.stdout
    }

    /// `ilm run --once`, expecting `code`: 4 when a fetch or an incident failed.
    fn run_once_exiting(&self, code: i32) -> support::Ran {
        let ran = self
            .ilm
            .run_with(&["run", "--once"], &[("ILM_SMTP", &self.smtp.url())]);
        assert_eq!(ran.code, code, "{}\n{}", ran.stdout, ran.stderr);
        ran
    }

    fn fetch(&self, instance: &str) -> Value {
        let out = self.ilm.ok(&["fetch", instance, "--json"]);
        serde_json::from_str(&out).expect("fetch --json")
    }

    fn github_user(&self, user: &str) -> Option<Value> {
        support::scim_users(self.scim.port, SCIM_TOKEN, None)
            .into_iter()
            .find(|u| u["userName"] == user)
    }

    fn incidents(&self) -> Vec<Value> {
        let out = self.ilm.ok(&["incident", "list", "--json"]);
        let value: Value = serde_json::from_str(&out).expect("incident list --json");
        value
            .get("data")
            .or(Some(&value))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }

    fn incidents_of(&self, kind: &str) -> Vec<Value> {
        self.incidents()
            .into_iter()
            .filter(|i| i["type"] == kind)
            .collect()
    }

    fn profile(&self, email: &str) -> Value {
        let out = self.ilm.ok(&["profile", "show", email]);
        let shown: Value = serde_json::from_str(&out).expect("profile show prints JSON");
        shown.get("fields").cloned().unwrap_or(shown)
    }
}

fn field<'v>(incident: &'v Value, name: &str) -> &'v Value {
    &incident["fields"][name]
}

#[test]
fn s44_assigning_an_okta_app_creates_the_account_in_the_mapped_instance_only_and_unassigning_disables_it(
) {
    let w = world(&[]);
    // A second GitHub instance that no Okta app maps: it must stay untouched.
    let other = scim2_server("other-token");
    w.ilm.add_github("gh-unmapped", other.port, "other-token");
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);

    w.run_once();
    let account = w
        .github_user("ann@acme.test")
        .expect("ann's GitHub account");
    assert!(support::scim_users(other.port, "other-token", None).is_empty());
    let adds = w.incidents_of("IAM - App Add");
    assert_eq!(adds.len(), 1, "{adds:?}");
    assert_eq!(adds[0]["status"], "closed", "{:?}", adds[0]);
    assert_eq!(field(&adds[0], "applicationid"), &json!(w.github_app));
    let apps = w.profile("ann@acme.test")["applications"].clone();
    assert_eq!(apps.as_array().map(Vec::len), Some(1), "{apps}");
    assert_eq!(apps[0]["instancename"], "gh");
    assert_eq!(apps[0]["brand"], "GitHub IAM");
    assert_eq!(apps[0]["active"], true);
    assert_eq!(apps[0]["userid"], account["id"]);

    w.okta.unassign(&w.github_app, &ann);
    w.run_once();
    assert!(
        w.github_user("ann@acme.test").is_none(),
        "removed from GitHub"
    );
    let removes = w.incidents_of("IAM - App Remove");
    assert_eq!(removes.len(), 1);
    assert_eq!(removes[0]["status"], "closed", "{:?}", removes[0]);
    assert_eq!(
        w.profile("ann@acme.test")["applications"][0]["active"],
        false
    );
}

#[test]
fn a_group_assignment_creates_the_account() {
    let w = world(&[]);
    let bob = w.person("bob@acme.test", "Analyst");
    let group = w.okta.add_group("Engineering");
    w.okta.assign_group_to_app(&w.github_app, &group);
    w.okta.add_to_group(&group, &bob);
    w.run_once();
    assert!(
        w.github_user("bob@acme.test").is_some(),
        "bob's GitHub account"
    );
    assert_eq!(w.incidents_of("IAM - App Add").len(), 1);
}

#[test]
fn an_okta_profile_change_updates_the_app_and_the_runtimes_own_okta_writes_start_no_round() {
    let filter = format!("fetch_query_filter={WITH_PROFILE_CHANGES}");
    let w = world(&["auto_generate_query_filter=false", &filter]);
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);
    w.run_once();
    assert_eq!(
        w.github_user("ann@acme.test").expect("created")["title"],
        "Engineer"
    );

    w.okta
        .update_profile_as_admin(&ann, json!({"title": "Staff Engineer"}));
    w.run_once();
    let updates = w.incidents_of("IAM - App Update");
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["status"], "closed", "{:?}", updates[0]);
    assert!(field(&updates[0], "details")
        .as_str()
        .is_some_and(|d| d.contains("title")));
    assert_eq!(
        w.github_user("ann@acme.test").expect("kept")["title"],
        "Staff Engineer"
    );
    assert_eq!(w.profile("ann@acme.test")["title"], "Staff Engineer");

    // The runtime itself updates Okta (its own token): that change comes back in the
    // System Log but must not become another App Update.
    let profile =
        json!({"email": "ann@acme.test", "username": "ann@acme.test", "title": "Principal"});
    w.ilm.ok(&[
        "command",
        "iam-update-user",
        "--using",
        "okta",
        "--arg",
        &format!("user-profile={profile}"),
    ]);
    let fetched = w.fetch("okta");
    assert_eq!(fetched["dropped"]["own-change"], 1, "{fetched}");
    assert_eq!(fetched["incidents_created"], 0, "{fetched}");
    assert_eq!(w.incidents_of("IAM - App Update").len(), 1);
}

#[test]
fn an_unmapped_apps_event_is_not_fetched_in_auto_mode_and_skipped_in_manual_mode() {
    let w = world(&[]);
    w.ilm.add_okta(
        "okta-manual",
        &w.okta,
        &["first_fetch=1 hours", "auto_generate_query_filter=false"],
    );
    let mapping = json!([{"ApplicationID": w.github_app, "Instance": "gh"}]).to_string();
    w.ilm.ok(&[
        "command",
        "okta-iam-set-configuration",
        "--using",
        "okta-manual",
        "--arg",
        &format!("configuration={mapping}"),
    ]);
    let ann = w.person("ann@acme.test", "Engineer");
    let slack = w.okta.add_app("Slack");
    w.okta.assign(&slack, &ann);

    let auto = w.fetch("okta");
    assert_eq!(
        auto["events"], 0,
        "the automatic filter names only mapped apps: {auto}"
    );
    let logs = w
        .okta
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/api/v1/logs")
        .count();
    assert!(logs > 0);

    let manual = w.fetch("okta-manual");
    assert_eq!(manual["events"], 1, "{manual}");
    assert_eq!(manual["dropped"]["unmapped-app"], 1, "{manual}");
    assert_eq!(manual["incidents_created"], 0);
    assert!(w.incidents().is_empty());
}

#[test]
fn s42_an_app_add_whose_app_is_no_longer_mapped_fails_with_the_fix_and_calls_no_app() {
    let w = world(&[]);
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);
    assert_eq!(w.fetch("okta")["incidents_created"], 1);
    w.ilm.ok(&[
        "command",
        "okta-iam-set-configuration",
        "--using",
        "okta",
        "--arg",
        "configuration=[]",
    ]);
    let ran = w.run_once_exiting(4);
    let add = &w.incidents_of("IAM - App Add")[0];
    assert_eq!(add["status"], "failed", "{add}");
    let named = format!("incident {} (", add["id"]);
    assert!(
        ran.stderr.contains(&named) && ran.stderr.contains("No instance name was found"),
        "the run names the failed incident and why: {}",
        ran.stderr
    );
    let shown = w.ilm.ok(&["incident", "show", &add["id"].to_string()]);
    assert!(
        shown.contains("No instance name was found")
            && shown.contains("okta-iam-set-configuration"),
        "{shown}"
    );
    assert!(w.github_user("ann@acme.test").is_none(), "no IAM call");
}

#[test]
fn s43_an_app_remove_while_okta_still_assigns_the_user_is_skipped() {
    let w = world(&[]);
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);
    w.run_once();
    // Removed and given back before the runtime saw the removal.
    w.okta.unassign(&w.github_app, &ann);
    w.okta.assign(&w.github_app, &ann);
    w.run_once();
    let remove = &w.incidents_of("IAM - App Remove")[0];
    assert_eq!(remove["status"], "closed");
    assert!(
        remove["name"]
            .as_str()
            .is_some_and(|n| n.ends_with(" - Skipped")),
        "{remove}"
    );
    assert!(
        w.github_user("ann@acme.test").is_some(),
        "the account stays"
    );
}

/// Every App Add incident's Okta event id, with how many incidents carry it.
fn event_ids(w: &World) -> HashMap<String, usize> {
    let mut ids = HashMap::new();
    for incident in w.incidents() {
        let id = incident["fields"]["rawjson"]["uuid"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        *ids.entry(id).or_default() += 1;
    }
    ids
}

#[test]
fn a_rate_limit_mid_read_loses_and_doubles_no_event() {
    let w = world(&["page_size=2"]);
    let people: Vec<String> = (0..7)
        .map(|i| w.person(&format!("p{i}@acme.test"), "Engineer"))
        .collect();
    for p in &people {
        w.okta.assign(&w.github_app, p);
    }
    // Two pages, then Okta keeps answering 429 for longer than the host retries.
    w.okta.fail("/api/v1/logs", 429, 40, 2);
    let ran = w.ilm.run(&["fetch", "okta", "--json"]);
    assert_eq!(
        ran.code, 1,
        "the stop is an error: {}\n{}",
        ran.stdout, ran.stderr
    );
    assert!(
        ran.stderr.contains("E0000047") || ran.stderr.contains("rate"),
        "{}",
        ran.stderr
    );
    let first: Value = serde_json::from_str(&ran.stdout).expect("summary");
    assert_eq!(
        first["incidents_created"], 4,
        "two pages were kept: {first}"
    );

    // More assignments while the limit lasts. The original (XSOAR) saved "now" as its
    // position on this run and resumed the old window's link, so the events published
    // between the end of that window and this run were never read.
    for i in 7..10 {
        let p = w.person(&format!("p{i}@acme.test"), "Engineer");
        w.okta.assign(&w.github_app, &p);
    }
    w.okta.fail("/api/v1/logs", 429, 0, 0);
    std::thread::sleep(Duration::from_millis(1100));
    w.fetch("okta");
    let ids = event_ids(&w);
    assert_eq!(ids.len(), 10, "every assignment made one incident: {ids:?}");
    assert!(ids.values().all(|n| *n == 1), "none twice: {ids:?}");
}

#[test]
fn a_kill_9_in_the_middle_of_a_multi_page_read_loses_and_doubles_no_event() {
    let w = world(&["page_size=2", "max_fetch=500"]);
    for i in 0..30 {
        let p = w.person(&format!("k{i}@acme.test"), "Engineer");
        w.okta.assign(&w.github_app, &p);
    }
    let logs_seen = |w: &World| {
        w.okta
            .requests()
            .into_iter()
            .filter(|r| r["path"] == "/api/v1/logs")
            .count()
    };
    let before = logs_seen(&w);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ilm"))
        .args(["fetch", "okta"])
        .env("ILM_HOME", w.ilm.data_dir.path())
        .env("ILM_PLUGINS_DIR", &w.ilm.plugins_dir)
        .env("ILM_PLAYBOOKS_DIR", &w.ilm.playbooks_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("ilm fetch");
    while logs_seen(&w) < before + 4 {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill(); // SIGKILL: no cleanup runs
    let _ = child.wait();
    let partial = event_ids(&w).len();
    assert!(partial < 30, "killed before the end ({partial} incidents)");
    w.fetch("okta");
    let ids = event_ids(&w);
    assert_eq!(ids.len(), 30, "{ids:?}");
    assert!(ids.values().all(|n| *n == 1), "none twice: {ids:?}");
}

/// How many System Log requests reached the double.
fn log_reads(w: &World) -> usize {
    w.okta
        .requests()
        .into_iter()
        .filter(|r| r["path"] == "/api/v1/logs")
        .count()
}

#[test]
fn a_dry_run_shows_the_incidents_and_moves_nothing() {
    let w = world(&[]);
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);
    let out = w.ilm.ok(&["fetch", "okta", "--dry-run", "--json"]);
    let plan: Value = serde_json::from_str(&out).expect("plan");
    assert_eq!(plan["incidents"][0]["type"], "IAM - App Add", "{plan}");
    assert_eq!(plan["incidents"][0]["fields"]["username"], "ann@acme.test");
    let text = w.ilm.ok(&["fetch", "okta", "--dry-run"]);
    assert!(text.contains("IAM - App Add (1)"), "{text}");
    assert!(w.incidents().is_empty(), "a dry run creates nothing");
    assert_eq!(
        w.fetch("okta")["incidents_created"],
        1,
        "nor moves the cursor"
    );
}

#[test]
fn max_fetch_queues_the_rest_and_no_page_is_read_while_the_queue_is_not_empty() {
    let w = world(&["page_size=10", "max_fetch=4"]);
    for i in 0..12 {
        let p = w.person(&format!("q{i}@acme.test"), "Engineer");
        w.okta.assign(&w.github_app, &p);
    }
    let created = |w: &World| {
        let f = w.fetch("okta");
        (
            f["incidents_created"].as_u64(),
            f["queued"].as_u64(),
            log_reads(w),
        )
    };
    let start = log_reads(&w);
    assert_eq!(created(&w), (Some(4), Some(6), start + 1));
    assert_eq!(created(&w), (Some(4), Some(2), start + 1), "from the queue");
    assert_eq!(created(&w), (Some(2), Some(0), start + 1), "from the queue");
    let (made, _, reads) = created(&w);
    assert_eq!(
        (made, reads > start + 1),
        (Some(2), true),
        "then the next page"
    );
    assert_eq!(event_ids(&w).len(), 12);
}

#[test]
fn events_without_a_user_of_unknown_type_malformed_or_about_strangers_are_skipped_and_counted() {
    let w = world(&["auto_generate_query_filter=false"]);
    w.person("ann@acme.test", "Engineer");
    let user =
        json!({"id": "00uX", "type": "User", "alternateId": "ann@acme.test", "displayName": "Ann"});
    let stranger =
        json!({"id": "00uY", "type": "User", "alternateId": "who@else.test", "displayName": "Who"});
    let app = json!({"id": w.github_app, "type": "AppInstance", "alternateId": "GitHub", "displayName": "GitHub"});
    let event = |uuid: &str, kind: &str, target: Value| {
        json!({"uuid": uuid, "eventType": kind, "displayMessage": "test",
               "actor": {"id": "00uadmin", "type": "User", "alternateId": "admin@acme.test", "displayName": "Admin"},
               "target": target, "outcome": {"result": "SUCCESS"}})
    };
    w.okta.add_log_events(json!([
        event("e1", "application.user_membership.add", json!([app])),
        event("e2", "user.session.start", json!([user])),
        {"eventType": "application.user_membership.add", "target": [user, app]},
        event("e4", "application.user_membership.add", json!([stranger, app])),
        event("e5", "application.user_membership.add", json!([user, app])),
    ]));
    let fetched = w.fetch("okta");
    assert_eq!(fetched["dropped"]["no-user-target"], 1, "{fetched}");
    assert_eq!(fetched["dropped"]["unknown-event-type"], 1, "{fetched}");
    assert_eq!(fetched["dropped"]["malformed"], 1, "{fetched}");
    assert_eq!(fetched["dropped"]["no-profile"], 1, "{fetched}");
    assert_eq!(fetched["incidents_created"], 1, "{fetched}");
}

#[test]
fn an_app_add_for_a_deactivated_app_fails_with_what_to_do() {
    let w = world(&[]);
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);
    w.okta.deactivate_app(&w.github_app);
    w.run_once_exiting(4);
    let add = &w.incidents_of("IAM - App Add")[0];
    assert_eq!(add["status"], "failed", "{add}");
    let shown = w.ilm.ok(&["incident", "show", &add["id"].to_string()]);
    assert!(
        shown.contains("INACTIVE in Okta") && shown.contains("Reactivate"),
        "{shown}"
    );
    assert!(w.github_user("ann@acme.test").is_none());
}

#[test]
fn a_refused_token_stops_the_fetch_with_what_to_fix_and_keeps_the_cursor() {
    let w = world(&[]);
    let ann = w.person("ann@acme.test", "Engineer");
    w.okta.assign(&w.github_app, &ann);
    w.okta.fail("/api/v1/logs", 403, 1, 0);
    let ran = w.ilm.run(&["fetch", "okta"]);
    assert_eq!(ran.code, 1, "{}\n{}", ran.stdout, ran.stderr);
    assert!(
        ran.stderr.contains("403") || ran.stderr.contains("E0000006"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("permission")
            || ran.stderr.contains("scope")
            || ran.stderr.contains("role"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        w.fetch("okta")["incidents_created"],
        1,
        "read again, not skipped"
    );

    let bad = w.okta.token().replace("okta-test-token", "revoked");
    let bad_token = format!("token={bad}");
    let url = format!("url={}", w.okta.url());
    w.ilm.ok(&[
        "instance",
        "add",
        "okta-revoked",
        "--plugin",
        "okta",
        "--param",
        &url,
        "--param",
        "auto_generate_query_filter=false",
        "--secret",
        &bad_token,
    ]);
    let ran = w.ilm.run(&["fetch", "okta-revoked"]);
    assert_eq!(ran.code, 1);
    assert!(ran.stderr.contains("token"), "{}", ran.stderr);
    let ran = w.run_once_exiting(4);
    assert!(
        ran.stderr.contains("fetch of okta-revoked failed") && ran.stderr.contains("token"),
        "the run names the failed fetch: {}",
        ran.stderr
    );
    assert!(
        !ran.stderr.contains("fetch of okta failed"),
        "{}",
        ran.stderr
    );
}

#[test]
fn an_iam_configuration_incident_maps_an_app_and_refuses_an_unknown_instance() {
    let w = world(&[]);
    let slack = w.okta.add_app("Slack");
    let scim = scim2_server("slack-token");
    w.ilm.add_github("slack", scim.port, "slack-token");
    let create = |fields: Value| {
        let out = w.ilm.ok(&[
            "incident",
            "create",
            "--type",
            "IAM - Configuration",
            "--name",
            "config",
            "--fields",
            &fields.to_string(),
            "--json",
        ]);
        let created: Value = serde_json::from_str(&out).expect("created");
        created["id"].to_string()
    };
    let id = create(
        json!({"oktaiaminstance": "okta", "integrationinstanceinxsoar": "slack", "applicationidinokta": slack}),
    );
    w.ilm.ok(&["incident", "run", &id]);
    let config: Value = serde_json::from_str(&w.ilm.ok(&[
        "command",
        "okta-iam-get-configuration",
        "--using",
        "okta",
    ]))
    .expect("configuration");
    let rows = config["okta"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 2, "{config}");
    assert!(
        rows.iter().any(|r| r["Instance"] == "slack"
            && r["ApplicationID"] == json!(slack)
            && r["Label"] == "Slack"),
        "{config}"
    );

    let id = create(
        json!({"oktaiaminstance": "okta", "integrationinstanceinxsoar": "slak", "applicationidinokta": "0oanone"}),
    );
    let ran = w.ilm.run(&["incident", "run", &id]);
    let shown = w.ilm.ok(&["incident", "show", &id]);
    assert!(shown.contains("failed"), "{}\n{shown}", ran.stderr);
    assert!(
        shown.contains("\"slak\" is not an instance") && shown.contains("slack"),
        "{shown}"
    );
}
