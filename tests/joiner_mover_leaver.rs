//! The whole flow in one process: `ilm run` fetches the Workday report (HTTPS, Basic auth),
//! the playbooks provision GitHub through the SCIM plugin into the real scim2-server and
//! mail through aiosmtpd — joiners, a mover, a leaver, a second fetch that creates nothing,
//! and a SIGTERM that loses nothing. (Active Directory joins in with the Samba tests.)

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{dist, scim2_server, Ilm, ReportServer, Server, SmtpSink};

const SCIM_TOKEN: &str = "jml-token";

fn row(id: &str, email: &str, title: &str, status: &str) -> Value {
    json!({"Emp_ID": id, "Email_Address": email, "Preferred_Name": format!("Person {id}"),
           "Preferred_Name_-_First_Name": "Person", "Preferred_Name_-_Last_Name": id,
           "Employment_Status": status, "Prehire_Flag": "False", "Rehired_Employee": "No",
           "Last_Hire_Date": "01/06/2025", "Last_Day_of_Work": "", "Title": title, "Department": "Engineering"})
}

struct World {
    report: ReportServer,
    scim: Server,
    smtp: SmtpSink,
    ilm: Ilm,
}

fn world() -> World {
    let report = ReportServer::start("isu", "pw");
    let scim = scim2_server(SCIM_TOKEN);
    let smtp = SmtpSink::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_workday("hr", &report, &["first_run=false"]);
    ilm.add_github("gh", scim.port, SCIM_TOKEN);
    let settings = json!([{"instance_name": "gh", "create_user_enabled": true, "create_user_group": "All",
        "update_user_enabled": true, "disable_user_enabled": true, "enable_user_enabled": true,
        "create_user_email_notification_ids": "github-admins@acme.test",
        "disable_user_email_notification_ids": "github-admins@acme.test"}]);
    ilm.ok(&[
        "list",
        "set",
        "app-provisioning-settings",
        "--body",
        &settings.to_string(),
    ]);
    World {
        report,
        scim,
        smtp,
        ilm,
    }
}

impl World {
    fn run_once(&self) -> String {
        let ran = self
            .ilm
            .run_with(&["run", "--once"], &[("ILM_SMTP", &self.smtp.url())]);
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
        ran.stdout
    }

    fn github_users(&self) -> Vec<Value> {
        support::scim_users(self.scim.port, SCIM_TOKEN, None)
    }

    fn title_of(&self, user: &str) -> Option<Value> {
        self.github_users()
            .into_iter()
            .find(|u| u["userName"] == user)
            .map(|u| u["title"].clone())
    }
}

#[test]
fn joiners_a_mover_and_a_leaver_flow_from_the_hr_report_to_github() {
    let w = world();
    w.report.set_rows(&json!([
        row("1", "ann@acme.test", "Engineer", "Active"),
        row("2", "bob@acme.test", "Analyst", "Active")
    ]));
    let out = w.run_once();
    assert!(out.contains("closed 2, waiting 0, failed 0"), "{out}");
    assert_eq!(w.github_users().len(), 2);
    let mails = w.smtp.messages();
    assert_eq!(
        mails
            .iter()
            .filter(|m| m.contains("User was provisioned successfully")
                && m.contains("github-admins@acme.test"))
            .count(),
        2
    );
    let ann: Value =
        serde_json::from_str(&w.ilm.ok(&["profile", "show", "ann@acme.test"])).unwrap();
    assert_eq!(
        (
            ann["fields"]["isprocessed"].clone(),
            ann["fields"]["temporaryuserprofile"].clone()
        ),
        (json!(false), json!(false))
    );

    // The same report again: nothing to do.
    assert!(w.run_once().contains("closed 0, waiting 0, failed 0"));

    // Ann moves; Bob leaves.
    w.report.set_rows(&json!([
        row("1", "ann@acme.test", "Staff Engineer", "Active"),
        row("2", "bob@acme.test", "Analyst", "Terminated")
    ]));
    assert!(w.run_once().contains("closed 2, waiting 0, failed 0"));
    assert_eq!(w.title_of("ann@acme.test"), Some(json!("Staff Engineer")));
    assert_eq!(
        w.title_of("bob@acme.test"),
        None,
        "GitHub removes the leaver's membership"
    );
    let bob: Value =
        serde_json::from_str(&w.ilm.ok(&["profile", "show", "bob@acme.test"])).unwrap();
    assert_eq!(bob["fields"]["active"], json!(false));
    let again = w.run_once();
    assert!(
        again.contains("closed 0, waiting 0, failed 0"),
        "{again}\n{}",
        w.ilm.ok(&["incident", "list"])
    );
}

#[test]
fn sigterm_stops_the_runtime_and_the_next_start_finishes_every_hire_once() {
    let w = world();
    let rows: Vec<Value> = (10..16)
        .map(|i| {
            row(
                &i.to_string(),
                &format!("p{i}@acme.test"),
                "Engineer",
                "Active",
            )
        })
        .collect();
    w.report.set_rows(&Value::Array(rows));
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ilm"))
        .args(["run", "--concurrency", "1"])
        .env("ILM_HOME", w.ilm.data_dir.path())
        .env("ILM_PLUGINS_DIR", &w.ilm.plugins_dir)
        .env("ILM_PLAYBOOKS_DIR", &w.ilm.playbooks_dir)
        .env("ILM_SMTP", w.smtp.url())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Stop it as soon as the first account exists, with the others still to come.
    let start = std::time::Instant::now();
    while w.github_users().is_empty() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM is a clean stop: {status}");

    let out = w.run_once();
    assert!(out.contains("failed 0"), "{out}");
    let users = w.github_users();
    assert_eq!(
        users.len(),
        6,
        "every hire provisioned exactly once: {users:?}"
    );
    // Hires fetched again before they ran were closed as duplicates by the newer incident.
    let listed: Value =
        serde_json::from_str(&w.ilm.ok(&["incident", "list", "--json", "--size", "100"])).unwrap();
    let incidents = listed["data"].as_array().unwrap();
    assert!(
        incidents.iter().all(|i| i["status"] == "closed"),
        "{listed}"
    );
    let provisioned: std::collections::BTreeSet<&str> = incidents
        .iter()
        .filter(|i| {
            !i["fields"]["closeNotes"]
                .as_str()
                .unwrap_or_default()
                .starts_with("Duplicate of")
        })
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(provisioned.len(), 6, "{listed}");
}

fn resync(w: &World, email: &str, extra: &[&str]) -> Value {
    let mut args = vec!["profile", "resync", email, "--json"];
    args.extend(extra);
    serde_json::from_str(&w.ilm.ok(&args)).expect("resync JSON")
}

fn run_incident(w: &World, filed: &Value) {
    let id = filed["id"].to_string();
    let ran = w
        .ilm
        .run_with(&["incident", "run", &id], &[("ILM_SMTP", &w.smtp.url())]);
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
}

#[test]
fn a_resync_files_the_flow_the_profile_calls_for_and_brings_the_app_in_line() {
    let w = world();
    w.report
        .set_rows(&json!([row("1", "ann@acme.test", "Engineer", "Active")]));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));

    // Someone fixed the title the mapper got wrong; the app still has the old one.
    w.ilm.ok(&[
        "profile",
        "set",
        "ann@acme.test",
        "--fields",
        r#"{"title": "Principal Engineer"}"#,
    ]);
    let update = resync(&w, "ann@acme.test", &[]);
    assert_eq!(update["type"], "IAM - Update User");
    run_incident(&w, &update);
    assert_eq!(
        w.title_of("ann@acme.test"),
        Some(json!("Principal Engineer"))
    );

    // A leaver whose app account was left behind: the resync terminates it.
    w.ilm.ok(&[
        "profile",
        "set",
        "ann@acme.test",
        "--fields",
        r#"{"active": false}"#,
    ]);
    let leave = resync(&w, "ann@acme.test", &[]);
    assert_eq!(leave["type"], "IAM - Terminate User");
    run_incident(&w, &leave);
    assert_eq!(
        w.title_of("ann@acme.test"),
        None,
        "GitHub removed the leaver"
    );

    let forced = resync(&w, "ann@acme.test", &["--flow", "rehire"]);
    assert_eq!(forced["type"], "IAM - Rehire User");
    let unknown = w.ilm.run(&["profile", "resync", "nobody@acme.test"]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no user profile nobody@acme.test"),
        "{}",
        unknown.stderr
    );
}
