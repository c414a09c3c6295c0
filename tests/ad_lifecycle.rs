//! The heart of the ILM pack, end to end against real servers: a Workday report (HTTPS)
//! drives `ilm run`; the playbooks create the Active Directory account disabled in the
//! right OU with a generated password mailed to the manager and IT (aiosmtpd), activate it
//! on the hire date, move it when the department changes, disable it on termination and
//! bring it back on rehire — checked in Samba AD with real LDAP binds as the user, and in
//! the profile's adaccountstatus. The hire and its activation are also killed after each
//! of their journaled calls in turn, and end the same.

mod support;

use ldap3::{LdapConn, LdapConnSettings, Mod, Scope, SearchEntry};
use serde_json::{json, Value};
use support::okta::OktaDouble;
use support::{
    dist, scim2_server, Ilm, ReportServer, SambaDc, SmtpSink, SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD,
    SAMBA_BASE_DN,
};

const LDAPS: &str = "ldaps://127.0.0.1:636";

fn row(id: &str, first: &str, last: &str, dept: &str, status: &str, manager: &str) -> Value {
    json!({"Emp_ID": id, "Email_Address": format!("{}.{}@acme.test", first.to_lowercase(), last.to_lowercase()),
           "Preferred_Name": format!("{first} {last}"), "Preferred_Name_-_First_Name": first,
           "Preferred_Name_-_Last_Name": last, "Employment_Status": status, "Prehire_Flag": "False",
           "Rehired_Employee": "No", "Last_Hire_Date": "01/06/2025", "Last_Day_of_Work": "",
           "Title": "Engineer", "Department": dept, "Country_Name": "United States", "Manager_Email_Address": manager})
}

/// An app-provisioning-settings row for `instance` in group All that updates, disables and
/// enables, and creates when `create`.
fn settings_row(instance: &str, create: bool) -> Value {
    json!({"instance_name": instance, "create_user_enabled": create, "create_user_group": "All",
           "update_user_enabled": true, "disable_user_enabled": true, "enable_user_enabled": true})
}

struct World {
    _samba: SambaDc,
    _books: tempfile::TempDir,
    report: ReportServer,
    smtp: SmtpSink,
    ilm: Ilm,
}

fn world() -> World {
    world_with(&[])
}

/// The world with the shipped playbooks' config.toml edited by `(old, new)` replacements.
fn world_with(config_edits: &[(&str, &str)]) -> World {
    let samba = SambaDc::start();
    let report = ReportServer::start("isu", "pw");
    let smtp = SmtpSink::start();
    let books = support::shipped_playbooks_with(config_edits);
    let mut ilm = Ilm::new(dist("plugins"));
    ilm.playbooks_dir = books.path().to_owned();
    ilm.add_workday(
        "hr",
        &report,
        &["first_run=false", "days_before_hire_to_sync=30"],
    );
    ilm.add_active_directory("ad", &samba.ca_file());
    World {
        _samba: samba,
        _books: books,
        report,
        smtp,
        ilm,
    }
}

impl World {
    fn run_once(&self) -> String {
        // One at a time: a manager's account must exist before the report's later rows.
        let ran = self.ilm.run_with(
            &["run", "--once", "--concurrency", "1"],
            &[("ILM_SMTP", &self.smtp.url())],
        );
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
        ran.stdout
    }

    /// Fetches the report and returns the one incident the fetch filed.
    fn fetch_one(&self) -> String {
        self.ilm.ok(&["fetch", "hr"]);
        let pending: Value = serde_json::from_str(
            &self
                .ilm
                .ok(&["incident", "list", "--status", "pending", "--json"]),
        )
        .unwrap();
        let data = pending["data"].as_array().expect("incidents");
        assert_eq!(data.len(), 1, "one new incident: {pending}");
        data[0]["id"].to_string()
    }

    /// Runs incident `id`, killed after call `kill` when given, and resumes it.
    fn run_killed(&self, id: &str, kill: Option<usize>) {
        support::run_killed_then_resumed(&self.ilm, id, kill, &[("ILM_SMTP", &self.smtp.url())]);
    }

    /// The Message-IDs and the passwords of the password mails about `sam` to `to`.
    fn password_mails(&self, sam: &str, to: &str) -> Vec<(String, String)> {
        let subject = format!("Subject: New Hire Account Created: {sam}");
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains(&subject) && m.contains(to))
            .map(|m| {
                let password = m
                    .lines()
                    .find_map(|l| l.strip_prefix("Password: "))
                    .unwrap_or_else(|| panic!("no Password line in {m}"))
                    .trim()
                    .to_owned();
                (support::message_id(&m).expect("a Message-ID"), password)
            })
            .collect()
    }

    fn profile_fields(&self, email: &str) -> Value {
        let profile: Value =
            serde_json::from_str(&self.ilm.ok(&["profile", "show", email])).unwrap();
        profile["fields"].clone()
    }

    fn ad_status(&self, email: &str) -> Value {
        self.profile_fields(email)["adaccountstatus"].clone()
    }

    /// The one incident about `email` in `status`.
    fn incident_of(&self, email: &str, status: &str) -> String {
        let listed: Value = serde_json::from_str(&self.ilm.ok(&[
            "incident", "list", "--status", status, "--email", email, "--json",
        ]))
        .unwrap();
        let data = listed["data"].as_array().expect("incidents");
        assert_eq!(data.len(), 1, "one {status} incident of {email}: {listed}");
        data[0]["id"].to_string()
    }

    fn show(&self, id: &str) -> Value {
        serde_json::from_str(&self.ilm.ok(&["incident", "show", id, "--json"])).unwrap()
    }

    /// Only the mail holds a generated password: not the database's bytes, not any
    /// incident `ilm incident show` prints.
    fn assert_password_kept_nowhere(&self, password: &str) {
        let db = self.ilm.data_dir.path().join("ilm.db");
        let mut bytes = std::fs::read(&db).expect("the database");
        bytes.extend(std::fs::read(db.with_extension("db-wal")).unwrap_or_default());
        assert!(
            !bytes
                .windows(password.len())
                .any(|w| w == password.as_bytes()),
            "the mailed password is in {}",
            db.display()
        );
        let list: Value =
            serde_json::from_str(&self.ilm.ok(&["incident", "list", "--json"])).unwrap();
        let ids = list["data"].as_array().expect("incidents");
        assert!(!ids.is_empty());
        for incident in ids {
            let id = incident["id"].to_string();
            let shown = self.ilm.ok(&["incident", "show", &id, "--json"]);
            assert!(
                !shown.contains(password),
                "incident {id} shows the password"
            );
        }
    }

    /// The password from the "New Hire Account Created" mail to `to`.
    fn mailed_password(&self, sam: &str, to: &str) -> String {
        match self.password_mails(sam, to).into_iter().next() {
            Some((_, password)) => password,
            None => panic!(
                "no password mail for {sam} to {to}: {:?}",
                self.smtp.messages()
            ),
        }
    }
}

fn bind(user: &str, password: &str) -> Result<LdapConn, String> {
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let mut conn = LdapConn::with_settings(settings, LDAPS).map_err(|e| e.to_string())?;
    conn.simple_bind(user, password)
        .and_then(|r| r.success())
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

fn entries(filter: &str) -> Vec<SearchEntry> {
    let mut admin = bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD).expect("admin bind");
    let (entries, _) = admin
        .search(SAMBA_BASE_DN, Scope::Subtree, filter, vec!["*"])
        .and_then(|r| r.success())
        .expect("search");
    entries.into_iter().map(SearchEntry::construct).collect()
}

fn entry(sam: &str) -> SearchEntry {
    entries(&format!("(sAMAccountName={sam})"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no AD user {sam}"))
}

fn attr(e: &SearchEntry, name: &str) -> Option<String> {
    e.attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.first().cloned())
}

#[test]
fn hire_activate_move_terminate_and_rehire_in_active_directory() {
    let w = world();
    let ada = row("1", "Ada", "Lovelace", "Engineering", "Active", "");
    let grace = row(
        "2",
        "Grace",
        "Hopper",
        "Engineering",
        "Active",
        "ada.lovelace@acme.test",
    );
    let mut future = row("3", "Kate", "Johnson", "Sales", "", "");
    future["Last_Hire_Date"] = json!("12/01/2099");
    w.report.set_rows(&json!([ada, grace, future]));

    // Day 1: new hires get disabled accounts in their OU, passwords go to manager and IT.
    assert!(w.run_once().contains("closed 2, waiting 0, failed 0"));
    let g = entry("grace.hopper");
    assert!(
        g.dn.ends_with("OU=Engineering,OU=US,OU=Staff,DC=example,DC=test"),
        "{}",
        g.dn
    );
    assert_eq!(attr(&g, "userAccountControl").as_deref(), Some("514"));
    assert!(
        attr(&g, "manager")
            .unwrap_or_default()
            .starts_with("CN=Ada Lovelace,"),
        "{:?}",
        attr(&g, "manager")
    );
    assert_eq!(w.ad_status("grace.hopper@acme.test"), "Pending");
    let password = w.mailed_password("grace.hopper", "ada.lovelace@acme.test");
    assert_eq!(
        password,
        w.mailed_password("grace.hopper", "it@example.test")
    );
    w.assert_password_kept_nowhere(&password);
    let refused =
        bind("EXAMPLE\\grace.hopper", &password).expect_err("not active before activation");
    assert!(refused.contains("data 533"), "{refused}");

    // The next fetch sees Pending past the hire date: AD activation, welcome mail.
    let out = w.run_once();
    assert!(out.contains("closed 2, waiting 0, failed 0"), "{out}");
    assert_eq!(w.ad_status("grace.hopper@acme.test"), "Enabled");
    bind("EXAMPLE\\grace.hopper", &password).expect("the user logs in with the mailed password");
    assert!(w
        .smtp
        .messages()
        .iter()
        .any(|m| m.contains("Subject: Welcome to the company, Grace Hopper!")));
    assert_eq!(
        w.profile_fields("grace.hopper@acme.test")["isprocessed"],
        json!(false),
        "activation leaves the profile unprocessed"
    );
    assert!(
        w.run_once().contains("closed 0, waiting 0, failed 0"),
        "a second fetch creates nothing"
    );

    // Mover: Grace moves to Sales, and her account to the Sales OU.
    let mut moved = row(
        "2",
        "Grace",
        "Hopper",
        "Sales",
        "Active",
        "ada.lovelace@acme.test",
    );
    w.report.set_rows(&json!([
        row("1", "Ada", "Lovelace", "Engineering", "Active", ""),
        moved.clone()
    ]));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));
    let g = entry("grace.hopper");
    assert!(
        g.dn.ends_with("OU=Sales,OU=Staff,DC=example,DC=test"),
        "{}",
        g.dn
    );
    assert_eq!(attr(&g, "department").as_deref(), Some("Sales"));
    bind("EXAMPLE\\grace.hopper", &password).expect("still logs in after the move");

    // Leaver: disabled (data 533), status Disabled.
    moved["Employment_Status"] = json!("Terminated");
    w.report.set_rows(&json!([
        row("1", "Ada", "Lovelace", "Engineering", "Active", ""),
        moved.clone()
    ]));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));
    assert_eq!(
        attr(&entry("grace.hopper"), "userAccountControl").as_deref(),
        Some("514")
    );
    let refused = bind("EXAMPLE\\grace.hopper", &password).expect_err("a leaver cannot log in");
    assert!(refused.contains("data 533"), "{refused}");
    assert_eq!(w.ad_status("grace.hopper@acme.test"), "Disabled");
    assert!(w.run_once().contains("closed 0, waiting 0, failed 0"));

    // Rehire: Pending again, then activated; she logs in again.
    moved["Employment_Status"] = json!("Active");
    moved["Prehire_Flag"] = json!("True");
    moved["Rehired_Employee"] = json!("Yes");
    w.report.set_rows(&json!([
        row("1", "Ada", "Lovelace", "Engineering", "Active", ""),
        moved
    ]));
    assert!(w.run_once().contains("failed 0"));
    assert_eq!(w.ad_status("grace.hopper@acme.test"), "Pending");
    w.run_once();
    assert_eq!(w.ad_status("grace.hopper@acme.test"), "Enabled");
    bind("EXAMPLE\\grace.hopper", &password).expect("a rehired user logs in again");

    // The future hire was never synced.
    let kate = w.ilm.run(&["profile", "show", "kate.johnson@acme.test"]);
    assert_eq!(kate.code, 1);
}

/// The Workday flows provision Okta (the test double behind Prism) and GitHub (scim2-server)
/// beside Active Directory: a new hire gets all three accounts, a leaver is deactivated in
/// Okta and removed from GitHub.
#[test]
fn a_new_hire_gets_active_directory_okta_and_github_accounts_and_a_leaver_is_deactivated_in_okta() {
    let w = world();
    let okta = OktaDouble::start();
    let scim = scim2_server("jml-okta");
    w.ilm.add_okta("okta", &okta, &[]);
    w.ilm.add_github("gh", scim.port, "jml-okta");
    // `ilm run` also reads the Okta System Log, which needs a mapped app; nobody is
    // assigned to it here, so it files no incidents.
    w.ilm.map_okta_app("okta", &okta.add_app("GitHub"), "gh");
    w.ilm.set_list(
        "app-provisioning-settings",
        &json!([settings_row("okta", true), settings_row("gh", true)]),
    );

    let ada = row("1", "Ada", "Lovelace", "Engineering", "Active", "");
    w.report.set_rows(&json!([ada.clone()]));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));
    assert_eq!(
        attr(&entry("ada.lovelace"), "department").as_deref(),
        Some("Engineering")
    );
    let user = okta.user("ada.lovelace@acme.test").expect("an Okta user");
    assert_eq!(user["status"], "ACTIVE", "{user}");
    assert_eq!(user["profile"]["firstName"], "Ada");
    assert_eq!(user["profile"]["department"], "Engineering");
    let staged_then_activated: Vec<String> = okta
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        staged_then_activated.first().map(String::as_str),
        Some("/api/v1/users")
    );
    assert!(staged_then_activated
        .iter()
        .any(|p| p.ends_with("/lifecycle/activate")));
    assert_eq!(support::scim_users(scim.port, "jml-okta", None).len(), 1);
    // The AD account is activated on the hire date (the next fetch), as in the test above.
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));

    let mut leaver = ada;
    leaver["Employment_Status"] = json!("Terminated");
    leaver["Last_Day_of_Work"] = json!("01/02/2025");
    w.report.set_rows(&json!([leaver]));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));
    let user = okta.user("ada.lovelace@acme.test").expect("still in Okta");
    assert_eq!(user["status"], "DEPROVISIONED", "{user}");
    assert!(support::scim_users(scim.port, "jml-okta", None).is_empty());
}

/// The hire and its activation, killed after each of their journaled calls in turn (the
/// calls of both, counted on a first person run without a kill) and resumed: every time
/// exactly one AD account, enabled, its password set and mailed once (a repeat carries the
/// same Message-ID) and working in a real bind, pwdLastSet stamped (not 0: no forced
/// change), the status Enabled.
#[test]
fn a_hire_and_its_activation_killed_after_each_call_end_with_one_working_account() {
    let w = world();
    let mut rows = Vec::new();
    let mut hire = |n: usize, kill: Option<usize>, hire_calls: usize| {
        // Letters only: the sAMAccountName is made from the names.
        let last: String = format!("Crash{n:02}")
            .chars()
            .map(|c| match c.to_digit(10) {
                Some(d) => char::from(b'a' + d as u8),
                None => c,
            })
            .collect();
        rows.push(row(
            &(100 + n).to_string(),
            "Kim",
            &last,
            "Engineering",
            "Active",
            "",
        ));
        w.report.set_rows(&json!(rows));
        let hired = w.fetch_one();
        w.run_killed(&hired, kill.filter(|k| *k < hire_calls));
        let activated = w.fetch_one();
        w.run_killed(&activated, kill.and_then(|k| k.checked_sub(hire_calls)));

        let sam = format!("kim.{}", last.to_lowercase());
        let email = format!("{sam}@acme.test");
        let accounts = entries(&format!("(mail={email})"));
        assert_eq!(
            accounts.len(),
            1,
            "one account after a kill after call {kill:?}"
        );
        assert_eq!(
            attr(&accounts[0], "userAccountControl").as_deref(),
            Some("512")
        );
        // pwdLastSet -1 makes AD stamp the time of the change: no change at next logon.
        let stamped = attr(&accounts[0], "pwdLastSet").and_then(|v| v.parse::<i64>().ok());
        assert!(
            stamped.is_some_and(|t| t > 0),
            "pwdLastSet {stamped:?} after a kill after call {kill:?}"
        );
        let mails = w.password_mails(&sam, "it@example.test");
        let resent = support::assert_one_mail(
            &mails,
            &format!("password mail after a kill after call {kill:?}"),
        );
        bind(&format!("EXAMPLE\\{sam}"), &mails[0].1)
            .unwrap_or_else(|e| panic!("{sam} logs in after a kill after call {kill:?}: {e}"));
        assert_eq!(w.ad_status(&email), "Enabled");
        (
            support::journal_len(&w.ilm, &hired),
            support::journal_len(&w.ilm, &activated),
            resent,
        )
    };
    let (hire_calls, activation_calls, _) = hire(0, None, 0);
    let mut resent = 0;
    for kill in 0..hire_calls + activation_calls {
        let (_, _, sent_again) = hire(kill + 1, Some(kill), hire_calls);
        resent += usize::from(sent_again);
    }
    assert!(resent >= 1, "some kill falls right after the password mail");
}

/// A deactivation (the hire date moved into the future) of an account someone already
/// disabled in AD: no disable call, the status back to Pending, the incident closed.
#[test]
fn s46_deactivating_an_already_disabled_account_only_sets_pending() {
    let w = world();
    w.report.set_rows(&json!([row(
        "7",
        "Noor",
        "Haddad",
        "Engineering",
        "Active",
        ""
    )]));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));
    assert!(w.run_once().contains("closed 1, waiting 0, failed 0"));
    assert_eq!(w.ad_status("noor.haddad@acme.test"), "Enabled");
    let noor = entry("noor.haddad");
    let mut admin = bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD).expect("admin bind");
    admin
        .modify(
            &noor.dn,
            vec![Mod::Replace(
                "userAccountControl",
                std::collections::HashSet::from(["514"]),
            )],
        )
        .and_then(|r| r.success())
        .expect("disabling the account by hand");

    let fields = json!({"email": "noor.haddad@acme.test", "userprofile": w.profile_fields("noor.haddad@acme.test")});
    let created: Value = w.ilm.create_incident("IAM - AD User Deactivation", &fields);
    let id = created["id"].to_string();
    w.run_killed(&id, None);

    let shown = w.show(&id);
    let commands: Vec<&Value> = shown["journal"]
        .as_array()
        .expect("journal")
        .iter()
        .filter(|e| e["call"] == "iam")
        .map(|e| &e["args"]["command"])
        .collect();
    assert_eq!(commands, vec!["iam-get-user"], "no disable call: {shown}");
    assert_eq!(
        shown["incident"]["fields"]["details"],
        "Deactivation Not Required"
    );
    assert_eq!(w.ad_status("noor.haddad@acme.test"), "Pending");
    assert_eq!(
        attr(&entry("noor.haddad"), "userAccountControl").as_deref(),
        Some("514")
    );
    assert!(!w
        .smtp
        .messages()
        .iter()
        .any(|m| m.contains("Subject: AD Account Deactivated")));
}

/// A New Hire with the list rows A (creates, group All), B (does not create) and C
/// (creates, group All, but its instance is disabled), each a GitHub instance on its own
/// scim2-server: only A gets the user; the AD sub-playbook creates the account and
/// initialises it; the profile ends not processed, not temporary and Pending in AD.
#[test]
fn s37_a_new_hire_creates_only_on_enabled_creating_rows_and_initialises_active_directory() {
    let w = world();
    let apps: Vec<_> = ["a", "b", "c"].map(scim2_server).into_iter().collect();
    for (name, (app, token)) in ["A", "B", "C"].iter().zip(apps.iter().zip(["a", "b", "c"])) {
        w.ilm.add_github(name, app.port, token);
    }
    w.ilm.ok(&["instance", "edit", "C", "--disable"]);
    w.ilm.set_list(
        "app-provisioning-settings",
        &json!([
            settings_row("A", true),
            settings_row("B", false),
            settings_row("C", true)
        ]),
    );
    w.report.set_rows(&json!([row(
        "5",
        "Lin",
        "Wei",
        "Engineering",
        "Active",
        ""
    )]));
    let id = w.fetch_one();
    w.run_killed(&id, None);

    let users: Vec<usize> = apps
        .iter()
        .zip(["a", "b", "c"])
        .map(|(app, token)| support::scim_users(app.port, token, None).len())
        .collect();
    assert_eq!(users, vec![1, 0, 0], "users in A, B and C");
    let shown = w.show(&id);
    let created: Vec<(&Value, &Value)> = shown["vendors"]
        .as_array()
        .expect("vendor results")
        .iter()
        .map(|v| (&v["instanceName"], &v["action"]))
        .collect();
    assert_eq!(
        created,
        vec![
            (&json!("ad"), &json!("create")),
            (&json!("A"), &json!("create"))
        ],
        "iam-create-user ran on AD and A only"
    );
    let lin = entry("lin.wei");
    assert_eq!(attr(&lin, "userAccountControl").as_deref(), Some("514"));
    w.mailed_password("lin.wei", "it@example.test");
    let profile = w.profile_fields("lin.wei@acme.test");
    assert_eq!(
        (
            &profile["isprocessed"],
            &profile["temporaryuserprofile"],
            &profile["adaccountstatus"]
        ),
        (&json!(false), &json!(false), &json!("Pending")),
        "{profile}"
    );
}

/// `MM/DD/YYYY`, as the report writes dates, `days` days before today (UTC).
fn days_ago(days: u64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("a date");
    (epoch + chrono::Days::new(now.as_secs() / 86_400 - days))
        .format("%m/%d/%Y")
        .to_string()
}

/// AD activation of two hires whose hire date was 3 days ago, with
/// ManuallyApprovePastHireDates on: each activation asks first. "No" leaves the account
/// disabled (no login, no welcome mail) and the status Disabled; "Yes" enables it.
#[test]
fn s45_a_past_hire_date_asks_before_activation_and_no_leaves_the_account_disabled() {
    let w = world_with(&[(
        "ManuallyApprovePastHireDates = false",
        "ManuallyApprovePastHireDates = true",
    )]);
    let mut rows = [
        row("21", "Ivy", "Declined", "Engineering", "Active", ""),
        row("22", "Sam", "Approved", "Engineering", "Active", ""),
    ];
    for r in &mut rows {
        r["Last_Hire_Date"] = json!(days_ago(3));
    }
    w.report.set_rows(&json!(rows));
    let out = w.run_once();
    assert!(out.contains("closed 2, waiting 0, failed 0"), "{out}");
    let out = w.run_once();
    assert!(out.contains("closed 0, waiting 2, failed 0"), "{out}");

    let mut activations = Vec::new();
    for (sam, answer) in [("ivy.declined", "No"), ("sam.approved", "Yes")] {
        let email = format!("{sam}@acme.test");
        let id = w.incident_of(&email, "waiting");
        let question = w.show(&id)["question"].clone();
        assert!(
            question[0]
                .as_str()
                .is_some_and(|q| q.contains("has passed")),
            "{question}"
        );
        assert_eq!(question[1], json!(["Yes", "No"]));
        assert_eq!(
            attr(&entry(sam), "userAccountControl").as_deref(),
            Some("514"),
            "nothing is enabled before the answer"
        );
        w.ilm.ok(&["incident", "answer", &id, answer]);
        w.run_killed(&id, None);
        activations.push(id);
    }

    let password = w.mailed_password("ivy.declined", "it@example.test");
    assert_eq!(w.ad_status("ivy.declined@acme.test"), "Disabled");
    assert_eq!(
        attr(&entry("ivy.declined"), "userAccountControl").as_deref(),
        Some("514")
    );
    let refused = bind("EXAMPLE\\ivy.declined", &password).expect_err("not activated");
    assert!(refused.contains("data 533"), "{refused}");
    let declined = w.show(&activations[0]);
    assert_eq!(
        declined["incident"]["fields"]["details"],
        "Activation for Ivy Declined was disapproved."
    );
    assert!(!w
        .smtp
        .messages()
        .iter()
        .any(|m| m.contains("Subject: Welcome to the company, Ivy Declined!")));

    assert_eq!(w.ad_status("sam.approved@acme.test"), "Enabled");
    let password = w.mailed_password("sam.approved", "it@example.test");
    bind("EXAMPLE\\sam.approved", &password).expect("an approved activation logs in");
}
