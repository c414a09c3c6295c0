//! Durable execution end to end: a playbook that provisions into the real scim2-server is
//! killed with SIGKILL right after each of its side effects in turn (before the journal
//! records it), then resumed. Every time: exactly one account, the update applied, and a
//! complete journal. The shipped New Hire flow is killed after each of its journaled calls
//! in turn too: one account, the provisioning mail delivered (a repeat with the same
//! Message-ID), the incident closed. Also the worker and the question/answer round trip
//! through the CLI, and a command whose stdout is closed ending quietly.

mod support;

use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use support::{dist, repo_root, scim2_server, Ilm, Server, SmtpSink};

const TOKEN: &str = "durable-token";

/// The journaled calls of PROVISION: the lookup before the create, the create, the profile
/// write, the update and the field.
const PROVISION_CALLS: usize = 5;

const PROVISION: &str = r#"
let p = incident.fields.userprofile;
let created = iam("iam-create-user", "gh", p);
if !created[0].success { fail(`create failed: ${created[0].errorMessage}`); }
profile_put(p.email, p);
let moved = p;
moved.title = "Senior " + p.title;
iam("iam-update-user", "gh", moved);
set_field("done", true);
"#;

const APPROVE: &str = r#"
let p = incident.fields.userprofile;
if ask(`Provision ${p.email}?`, ["Yes", "No"]) == "Yes" {
    iam("iam-create-user", "gh", p);
}
"#;

/// Creates, then records what the create reports.
const RECORD: &str = r#"
let created = iam("iam-create-user", "gh", incident.fields.userprofile);
set_field("action", created[0].action);
"#;

/// A playbooks folder with the test playbooks and the shipped GitHub mapper.
fn playbooks(dir: &Path) {
    std::fs::create_dir_all(dir.join("mappers")).unwrap();
    std::fs::copy(
        repo_root().join("playbooks/mappers/github.rhai"),
        dir.join("mappers/github.rhai"),
    )
    .unwrap();
    std::fs::write(dir.join("provision.rhai"), PROVISION).unwrap();
    std::fs::write(dir.join("approve.rhai"), APPROVE).unwrap();
    std::fs::write(dir.join("record.rhai"), RECORD).unwrap();
    std::fs::write(dir.join("broken.rhai"), "let x = no_such_function();\n").unwrap();
    std::fs::write(
        dir.join("config.toml"),
        "[types]\n\"Provision\" = \"provision\"\n\"Approve\" = \"approve\"\n\"Record\" = \"record\"\n\"Broken\" = \"broken\"\n",
    )
    .unwrap();
}

fn ilm(server: &Server) -> (Ilm, tempfile::TempDir) {
    ilm_at(server.port)
}

/// The test playbooks, with the GitHub instance `gh` at `port`.
fn ilm_at(port: u16) -> (Ilm, tempfile::TempDir) {
    ilm_on(port, None)
}

/// [`ilm_at`], on the PostgreSQL `database` when given.
fn ilm_on(port: u16, database: Option<String>) -> (Ilm, tempfile::TempDir) {
    let books = tempfile::tempdir().unwrap();
    playbooks(books.path());
    let mut ilm = Ilm::new(dist("plugins"));
    if database.is_some() {
        ilm.database = database;
    }
    ilm.playbooks_dir = books.path().to_owned();
    ilm.add_github("gh", port, TOKEN);
    (ilm, books)
}

fn create(ilm: &Ilm, kind: &str, user: &str) -> String {
    let fields = json!({"email": user, "userprofile": {"email": user, "username": user, "givenname": "Kim", "surname": "Lee", "title": "Engineer"}});
    let out: Value = ilm.create_incident(kind, &fields);
    out["id"].to_string()
}

fn scim_users_named(server: &Server, user: &str) -> Vec<Value> {
    support::scim_users(server.port, TOKEN, Some(&format!("userName eq \"{user}\"")))
}

fn show(ilm: &Ilm, id: &str) -> Value {
    serde_json::from_str(&ilm.ok(&["incident", "show", id, "--json"])).unwrap()
}

#[test]
fn killed_after_each_side_effect_then_resumed_leaves_one_account_and_a_complete_journal() {
    let server = scim2_server(TOKEN);
    // the lookup before the create, iam create, profile.put, iam update, incident.set
    for kill_after in 0..PROVISION_CALLS {
        let (ilm, _books) = ilm(&server);
        let user = format!("kill{kill_after}@acme.test");
        let id = create(&ilm, "Provision", &user);

        let killed = ilm.run_with(
            &["incident", "run", &id],
            &[("ILM_FAULT_KILL_AFTER_CALL", &kill_after.to_string())],
        );
        assert_eq!(
            killed.code, -1,
            "the process must die by signal after call {kill_after}: {}",
            killed.stderr
        );
        let before = show(&ilm, &id);
        assert_eq!(
            before["incident"]["status"], "active",
            "killed mid-run after call {kill_after}"
        );
        assert!(
            before["journal"][kill_after]["finished_at"].is_null(),
            "call {kill_after} acted but was not recorded"
        );

        let resumed = ilm.run(&["incident", "run", &id]);
        assert_eq!(
            resumed.code, 0,
            "resume after call {kill_after}: {}",
            resumed.stderr
        );
        let users = scim_users_named(&server, &user);
        assert_eq!(
            users.len(),
            1,
            "exactly one account after a kill after call {kill_after}"
        );
        assert_eq!(users[0]["title"], "Senior Engineer");
        let after = show(&ilm, &id);
        assert_eq!(after["incident"]["status"], "closed");
        let journal = after["journal"].as_array().unwrap();
        assert_eq!(journal.len(), PROVISION_CALLS, "{journal:?}");
        assert!(
            journal.iter().all(|e| !e["finished_at"].is_null()),
            "complete journal: {journal:?}"
        );
        let profile: Value = serde_json::from_str(&ilm.ok(&["profile", "show", &user])).unwrap();
        assert_eq!(profile["fields"]["title"], "Engineer");
    }
}

/// The create repeated after a kill right after it acted (call 1, after the lookup) is the
/// create when the account did not exist before, and an update of an account that did.
#[test]
fn a_repeated_create_is_the_create_only_for_the_account_it_made() {
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm(&server);
    let action = |user: &str| {
        let id = create(&ilm, "Record", user);
        support::run_killed_then_resumed(&ilm, &id, Some(1), &[]);
        assert_eq!(scim_users_named(&server, user).len(), 1);
        show(&ilm, &id)["incident"]["fields"]["action"].clone()
    };
    assert_eq!(action("new@acme.test"), "create");
    // Someone else's account (or a rehire's), there before this incident.
    let earlier = create(&ilm, "Record", "there@acme.test");
    ilm.ok(&["incident", "run", &earlier]);
    assert_eq!(action("there@acme.test"), "update");
}

/// The shipped New Hire flow provisioning GitHub, with its provisioning mail.
struct NewHire {
    ilm: Ilm,
    smtp: SmtpSink,
}

impl NewHire {
    fn start(server: &Server) -> Self {
        let ilm = Ilm::new(dist("plugins"));
        ilm.add_github("gh", server.port, TOKEN);
        let settings = json!([{"instance_name": "gh", "create_user_enabled": true, "create_user_group": "All",
            "create_user_email_notification_ids": "gh-owners@acme.test"}]);
        ilm.set_list("app-provisioning-settings", &settings);
        Self {
            ilm,
            smtp: SmtpSink::start(),
        }
    }

    /// Files the New Hire incident of `user` and runs it, killed after call `kill`.
    fn hire(&self, user: &str, employee_id: usize, kill: Option<usize>) -> String {
        let profile = json!({"email": user, "username": user, "employeeid": employee_id.to_string(),
            "givenname": "Kim", "surname": "Lee", "displayname": "Kim Lee", "title": "Engineer",
            "employmentstatus": "Active"});
        let fields = json!({"email": user, "userprofile": profile});
        let out: Value = self.ilm.create_incident("IAM - New Hire", &fields);
        let id = out["id"].to_string();
        support::run_killed_then_resumed(&self.ilm, &id, kill, &[("ILM_SMTP", &self.smtp.url())]);
        id
    }

    /// The Message-IDs of the provisioning mails about `user`.
    fn provisioning_mails(&self, user: &str) -> Vec<String> {
        self.smtp
            .messages()
            .iter()
            .filter(|m| {
                m.contains("Subject: User was provisioned successfully") && m.contains(user)
            })
            .map(|m| support::message_id(m).expect("every mail has a Message-ID"))
            .collect()
    }
}

/// The counts a worker prints: closed, waiting, failed.
fn worker_counts(out: &str) -> [usize; 3] {
    let count = |label: &str| -> usize {
        let at = out
            .find(label)
            .unwrap_or_else(|| panic!("no {label:?} in {out}"));
        out[at + label.len()..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count after {label:?} in {out}"))
    };
    [count("closed "), count("waiting "), count("failed ")]
}

#[test]
fn two_worker_processes_on_one_data_directory_run_each_incident_once() {
    const PEOPLE: usize = 16;
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm(&server);
    let ids: Vec<String> = (0..PEOPLE)
        .map(|i| create(&ilm, "Provision", &format!("pair{i}@acme.test")))
        .collect();

    let outputs: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2)
            .map(|_| scope.spawn(|| ilm.ok(&["worker", "--until-idle", "--concurrency", "2"])))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let [a, b] = [worker_counts(&outputs[0]), worker_counts(&outputs[1])];
    assert_eq!(
        (a[0] + b[0], a[2] + b[2]),
        (PEOPLE, 0),
        "closed and failed over both workers: {outputs:?}"
    );
    for (i, id) in ids.iter().enumerate() {
        let shown = show(&ilm, id);
        assert_eq!(shown["incident"]["status"], "closed", "{shown}");
        assert_eq!(
            shown["journal"].as_array().unwrap().len(),
            PROVISION_CALLS,
            "{shown}"
        );
        assert_eq!(
            scim_users_named(&server, &format!("pair{i}@acme.test")).len(),
            1,
            "one account for pair{i}"
        );
    }
}

/// How many incidents have `status`.
fn count_with_status(ilm: &Ilm, status: &str) -> u64 {
    let out = ilm.ok(&[
        "incident", "list", "--status", status, "--size", "1", "--json",
    ]);
    let page: Value = serde_json::from_str(&out).unwrap();
    page["total"].as_u64().unwrap()
}

#[test]
fn three_workers_on_postgresql_with_one_killed_mid_run_provision_every_hire_once() {
    const PEOPLE: usize = 60;
    let postgres = support::postgres::Postgres::start();
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm_on(server.port, Some(postgres.new_database()));
    let ids: Vec<String> = (0..PEOPLE)
        .map(|i| create(&ilm, "Provision", &format!("trio{i}@acme.test")))
        .collect();

    let mut workers: Vec<std::process::Child> = (0..3)
        .map(|_| {
            ilm.command(&["worker", "--until-idle", "--concurrency", "2"], &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    // SIGKILL the first worker once the three have closed a few incidents between them.
    while count_with_status(&ilm, "closed") < 6 {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        workers[0].try_wait().unwrap().is_none(),
        "the worker to kill ended before it could be killed mid-run"
    );
    workers[0].kill().unwrap();
    assert_eq!(
        workers[0].wait().unwrap().code(),
        None,
        "killed by a signal"
    );
    let mut closed_by_survivors = 0;
    for worker in workers.drain(1..) {
        let out = worker.wait_with_output().unwrap();
        assert!(out.status.success());
        let counts = worker_counts(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(counts[2], 0, "no incident failed");
        closed_by_survivors += counts[0];
    }
    // What the killed worker held is taken over (its process is gone) by the next worker.
    let rest = worker_counts(&ilm.ok(&["worker", "--until-idle"]));
    assert_eq!(rest[2], 0, "no incident failed on takeover");
    assert!(
        closed_by_survivors + rest[0] < PEOPLE,
        "the killed worker closed some"
    );

    assert_eq!(count_with_status(&ilm, "closed"), PEOPLE as u64);
    for status in ["pending", "active", "waiting", "failed"] {
        assert_eq!(
            count_with_status(&ilm, status),
            0,
            "{status} incidents left"
        );
    }
    for (i, id) in ids.iter().enumerate() {
        let shown = show(&ilm, id);
        assert_eq!(shown["incident"]["fields"]["done"], true, "{shown}");
        assert_eq!(
            scim_users_named(&server, &format!("trio{i}@acme.test")).len(),
            1,
            "one account for trio{i}"
        );
    }
    let all = support::scim_users(server.port, TOKEN, None);
    assert_eq!(all.len(), PEOPLE, "no account beyond one per hire");
}

#[test]
fn twenty_random_sigkills_during_a_500_hire_run_lose_no_hire_and_duplicate_no_account() {
    const PEOPLE: usize = 500;
    const KILLS: usize = 20;
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm(&server);
    std::thread::scope(|scope| {
        for part in 0..4 {
            let ilm = &ilm;
            scope.spawn(move || {
                for i in (part..PEOPLE).step_by(4) {
                    create(ilm, "Provision", &format!("hire{i}@acme.test"));
                }
            });
        }
    });
    // A seed from the clock, printed so a failing run can be repeated.
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos() as u64;
    println!("kill schedule seed {seed}");
    let mut kills = 0;
    while kills < KILLS && count_with_status(&ilm, "closed") < PEOPLE as u64 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let after = Duration::from_millis(150 + (seed >> 33) % 600);
        let mut worker = ilm
            .command(&["worker", "--until-idle", "--concurrency", "2"], &[])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(after);
        if worker.try_wait().unwrap().is_none() {
            worker.kill().unwrap();
            kills += 1;
        }
        worker.wait().unwrap();
    }
    assert!(
        kills >= KILLS / 2,
        "only {kills} workers were killed mid-run"
    );
    let rest = worker_counts(&ilm.ok(&["worker", "--until-idle", "--concurrency", "2"]));
    assert_eq!(rest[2], 0, "no incident failed after {kills} kills");

    assert_eq!(
        count_with_status(&ilm, "closed"),
        PEOPLE as u64,
        "no hire lost"
    );
    for status in ["pending", "active", "waiting", "failed"] {
        assert_eq!(
            count_with_status(&ilm, status),
            0,
            "{status} incidents left"
        );
    }
    let accounts = support::scim_users(server.port, TOKEN, None);
    let mut names: Vec<&str> = accounts
        .iter()
        .map(|a| a["userName"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(accounts.len(), PEOPLE, "one account per hire, no duplicate");
    assert_eq!(names.len(), PEOPLE, "every hire has an account");
}

#[test]
fn a_postgresql_restart_under_load_loses_nothing_and_the_workers_go_on() {
    const PEOPLE: usize = 40;
    let postgres = support::postgres::Postgres::start();
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm_on(server.port, Some(postgres.new_database()));
    for i in 0..PEOPLE {
        create(&ilm, "Provision", &format!("restart{i}@acme.test"));
    }
    let workers: Vec<std::process::Child> = (0..2)
        .map(|_| {
            ilm.command(&["worker", "--until-idle", "--concurrency", "2"], &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut closed = 0;
    while closed < 4 {
        std::thread::sleep(Duration::from_millis(50));
        closed = count_with_status(&ilm, "closed");
    }
    assert!(closed < PEOPLE as u64, "the restart came after the work");
    postgres.restart();
    let mut failed = 0;
    for worker in workers {
        let out = worker.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "a worker stopped: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        failed += worker_counts(&stdout)[2];
    }
    assert_eq!(
        failed, 0,
        "no incident failed because the database restarted"
    );
    // A run cut off by the restart stays active until its lease is given up or expires.
    ilm.ok(&["worker", "--until-idle"]);
    assert_eq!(count_with_status(&ilm, "closed"), PEOPLE as u64);
    for i in 0..PEOPLE {
        assert_eq!(
            scim_users_named(&server, &format!("restart{i}@acme.test")).len(),
            1,
            "one account for restart{i}"
        );
    }
}

#[test]
fn the_new_hire_flow_killed_after_each_call_creates_one_account_and_mails_it() {
    let server = scim2_server(TOKEN);
    let flow = NewHire::start(&server);
    let reference = flow.hire("first@acme.test", 0, None);
    let calls = support::journal_len(&flow.ilm, &reference);
    assert_eq!(flow.provisioning_mails("first@acme.test").len(), 1);
    let mut resent = 0;
    for kill in 0..calls {
        let user = format!("kill{kill}@acme.test");
        flow.hire(&user, kill + 1, Some(kill));
        assert_eq!(
            scim_users_named(&server, &user).len(),
            1,
            "exactly one account after a kill after call {kill}"
        );
        let mails = flow.provisioning_mails(&user);
        let what = format!("provisioning mail after a kill after call {kill}");
        resent += usize::from(support::assert_one_mail(&mails, &what));
    }
    assert_eq!(resent, 1, "exactly one kill falls right after the mail");
}

#[test]
fn a_worker_killed_mid_run_is_taken_over_by_the_next_one() {
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm(&server);
    let id = create(&ilm, "Provision", "taken@acme.test");
    let killed = ilm.run_with(
        &["worker", "--until-idle"],
        &[("ILM_FAULT_KILL_AFTER_CALL", "2")],
    );
    assert_eq!(killed.code, -1, "{}", killed.stderr);
    assert_eq!(show(&ilm, &id)["incident"]["status"], "active");

    // Its lease is still live (30 s), but its process is gone: taken over at once.
    let out = ilm.ok(&["worker", "--until-idle"]);
    assert_eq!(worker_counts(&out), [1, 0, 0], "{out}");
    let shown = show(&ilm, &id);
    assert_eq!(shown["incident"]["status"], "closed");
    assert_eq!(scim_users_named(&server, "taken@acme.test").len(), 1);
}

/// Sends `signal` (STOP, CONT) to process `pid`.
fn signal(pid: u32, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} {pid}");
}

#[test]
fn a_worker_that_lost_its_lease_writes_nothing_and_the_new_holder_finishes() {
    let server = scim2_server(TOKEN);
    // Creates take a second: long enough to freeze the first worker inside one.
    let proxy = support::FailingProxy::holding(
        server.port,
        "POST /",
        0,
        support::Hold::For(Duration::from_secs(1)),
    );
    let (ilm, _books) = ilm_at(proxy.port);
    let id = create(&ilm, "Provision", "frozen@acme.test");
    let short_lease = [("ILM_LEASE_MS", "1000")];

    let frozen = ilm
        .command(&["worker", "--until-idle"], &short_lease)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Frozen while its create is in flight: its heartbeat stops, so its lease runs out.
    while show(&ilm, &id)["journal"]
        .as_array()
        .is_none_or(Vec::is_empty)
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(frozen.id(), "STOP");
    std::thread::sleep(Duration::from_millis(1500));

    let out = ilm.run_with(&["worker", "--until-idle"], &short_lease);
    assert_eq!(worker_counts(&out.stdout), [1, 0, 0], "{}", out.stderr);
    signal(frozen.id(), "CONT");
    let stale = frozen.wait_with_output().unwrap();
    let stale_out = String::from_utf8_lossy(&stale.stdout);
    assert!(
        stale.status.success()
            && stale_out.contains("closed 0, waiting 0, failed 0, lost to another worker 1"),
        "{stale_out}\n{}",
        String::from_utf8_lossy(&stale.stderr)
    );

    let shown = show(&ilm, &id);
    assert_eq!(shown["incident"]["status"], "closed", "{shown}");
    let journal = shown["journal"].as_array().unwrap();
    assert_eq!(journal.len(), PROVISION_CALLS, "{journal:?}");
    assert!(journal.iter().all(|e| !e["finished_at"].is_null()));
    assert_eq!(scim_users_named(&server, "frozen@acme.test").len(), 1);
}

/// `incident list --json`'s row for incident `id`.
fn listed(ilm: &Ilm, id: &str) -> Value {
    let page: Value = serde_json::from_str(&ilm.ok(&["incident", "list", "--json"])).unwrap();
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"].as_i64() == id.parse().ok())
        .cloned()
        .unwrap_or_else(|| panic!("incident {id} is not listed: {page}"))
}

/// `ilm worker` until idle, with quick retries and at most `max_attempts` runs each.
fn work_retrying(ilm: &Ilm, max_attempts: u32) -> String {
    ilm.ok(&[
        "worker",
        "--until-idle",
        "--max-attempts",
        &max_attempts.to_string(),
        "--retry-backoff-ms",
        "100",
    ])
}

#[test]
fn a_run_the_app_fails_with_503_is_retried_until_it_recovers_and_a_script_error_is_not() {
    let server = scim2_server(TOKEN);
    // The first two creates find the app down.
    let proxy = support::FailingProxy::start(server.port, "POST /", 2);
    let (ilm, _books) = ilm_at(proxy.port);
    let id = create(&ilm, "Provision", "retry@acme.test");
    let broken = create(&ilm, "Broken", "broken@acme.test");

    let out = work_retrying(&ilm, 3);
    assert_eq!(worker_counts(&out), [1, 0, 1], "{out}");
    assert!(out.contains("retried 2"), "{out}");
    assert_eq!(proxy.failed(), 2);
    assert_eq!(scim_users_named(&server, "retry@acme.test").len(), 1);
    let retried = listed(&ilm, &id);
    assert_eq!(
        (
            retried["status"].clone(),
            retried["attempt"].clone(),
            retried["retries"].clone(),
            retried["next_retry"].clone()
        ),
        (json!("closed"), json!(3), json!(2), Value::Null),
        "{retried}"
    );
    let broken = listed(&ilm, &broken);
    assert_eq!(
        (broken["status"].clone(), broken["retries"].clone()),
        (json!("failed"), json!(0)),
        "a script error is not retried: {broken}"
    );
}

#[test]
fn a_run_that_keeps_failing_is_retried_only_max_attempts_times() {
    let server = scim2_server(TOKEN);
    let proxy = support::FailingProxy::start(server.port, "POST /", 100);
    let (ilm, _books) = ilm_at(proxy.port);
    let id = create(&ilm, "Provision", "down@acme.test");
    let out = work_retrying(&ilm, 2);
    assert_eq!(worker_counts(&out), [0, 0, 1], "{out}");
    assert!(out.contains("retried 1"), "{out}");
    assert_eq!(proxy.failed(), 2, "two runs, one create each");
    let failed = listed(&ilm, &id);
    assert_eq!(
        (
            failed["status"].clone(),
            failed["attempt"].clone(),
            failed["retries"].clone()
        ),
        (json!("failed"), json!(2), json!(1)),
        "{failed}"
    );
    assert!(scim_users_named(&server, "down@acme.test").is_empty());
}

#[test]
fn questions_are_answered_from_the_cli_and_the_worker_runs_the_rest() {
    let server = scim2_server(TOKEN);
    let (ilm, _books) = ilm(&server);
    let asked = create(&ilm, "Approve", "asked@acme.test");
    let plain: Vec<String> = (0..3)
        .map(|i| create(&ilm, "Provision", &format!("w{i}@acme.test")))
        .collect();

    let out = ilm.ok(&["worker", "--until-idle", "--concurrency", "2"]);
    assert!(out.contains("closed 3, waiting 1, failed 0"), "{out}");
    for (i, id) in plain.iter().enumerate() {
        assert_eq!(show(&ilm, id)["incident"]["status"], "closed");
        assert_eq!(
            scim_users_named(&server, &format!("w{i}@acme.test")).len(),
            1
        );
    }
    let waiting = show(&ilm, &asked);
    assert_eq!(waiting["incident"]["status"], "waiting");
    assert_eq!(waiting["question"][0], "Provision asked@acme.test?");
    assert!(scim_users_named(&server, "asked@acme.test").is_empty());

    // A restart is a new attempt with an empty journal: the question is asked again.
    ilm.ok(&["incident", "run", &asked, "--restart"]);
    let restarted = show(&ilm, &asked);
    assert_eq!(
        (
            restarted["attempt"].clone(),
            restarted["incident"]["status"].clone()
        ),
        (json!(2), json!("waiting"))
    );

    let wrong = ilm.run(&["incident", "answer", &asked, "Perhaps"]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("choose one of: Yes, No"),
        "{}",
        wrong.stderr
    );
    ilm.ok(&["incident", "answer", &asked, "Yes"]);
    let out = ilm.ok(&["worker", "--until-idle"]);
    assert!(out.contains("closed 1, waiting 0, failed 0"), "{out}");
    assert_eq!(scim_users_named(&server, "asked@acme.test").len(), 1);
    let closed = ilm.run(&["incident", "run", &asked, "--restart"]);
    assert!(
        closed.code == 1 && closed.stderr.contains("is closed"),
        "{}",
        closed.stderr
    );

    let listed: Value =
        serde_json::from_str(&ilm.ok(&["incident", "list", "--status", "closed", "--json"]))
            .unwrap();
    assert_eq!(listed["total"], 4);
    let bad = ilm.run(&["incident", "create", "--type", "Unknown", "--fields", "{}"]);
    assert!(
        bad.code == 1
            && bad
                .stderr
                .contains("no playbook for incident type \"Unknown\""),
        "{}",
        bad.stderr
    );
    let bad = ilm.run(&[
        "incident",
        "create",
        "--type",
        "Provision",
        "--fields",
        "[]",
    ]);
    assert!(
        bad.code == 1 && bad.stderr.contains("must be a JSON object"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    let ilm = Ilm::new(dist("plugins"));
    ilm.ok(&["incident", "list"]); // creates the data directory
                                   // A pipe whose reader is gone before ilm writes: its first line meets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ilm"))
        .args(["incident", "list"])
        .env("ILM_HOME", ilm.data_dir.path())
        .env("ILM_PLUGINS_DIR", &ilm.plugins_dir)
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.is_empty(),
        "no panic, no message: {stderr} ({})",
        out.status
    );
    // Ended by SIGPIPE, as `cat` would be.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(13), "{}", out.status);
}
