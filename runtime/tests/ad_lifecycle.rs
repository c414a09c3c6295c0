//! The heart of the ILM pack, end to end against real servers: a Workday report (HTTPS)
//! drives `ilm run`; the playbooks create the Active Directory account disabled in the
//! right OU with a generated password mailed to the manager and IT (aiosmtpd), activate it
//! on the hire date, move it when the department changes, disable it on termination and
//! bring it back on rehire — checked in Samba AD with real LDAP binds as the user, and in
//! the profile's adaccountstatus (spec §7).

mod support;

use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use serde_json::{json, Value};
use support::{
    dist, Ilm, ReportServer, SambaDc, SmtpSink, SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD, SAMBA_BASE_DN,
};

const LDAPS: &str = "ldaps://127.0.0.1:636";

fn row(id: &str, first: &str, last: &str, dept: &str, status: &str, manager: &str) -> Value {
    json!({"Emp_ID": id, "Email_Address": format!("{}.{}@acme.test", first.to_lowercase(), last.to_lowercase()),
           "Preferred_Name": format!("{first} {last}"), "Preferred_Name_-_First_Name": first,
           "Preferred_Name_-_Last_Name": last, "Employment_Status": status, "Prehire_Flag": "False",
           "Rehired_Employee": "No", "Last_Hire_Date": "01/06/2025", "Last_Day_of_Work": "",
           "Title": "Engineer", "Department": dept, "Country_Name": "United States", "Manager_Email_Address": manager})
}

struct World {
    _samba: SambaDc,
    report: ReportServer,
    smtp: SmtpSink,
    ilm: Ilm,
}

fn world() -> World {
    let samba = SambaDc::start();
    let report = ReportServer::start("isu", "pw");
    let smtp = SmtpSink::start();
    let ilm = Ilm::new(dist("plugins"));
    ilm.add_workday(
        "hr",
        &report,
        &["first_run=false", "days_before_hire_to_sync=30"],
    );
    ilm.add_active_directory("ad", &samba.ca_file());
    World {
        _samba: samba,
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

    fn ad_status(&self, email: &str) -> Value {
        let profile: Value =
            serde_json::from_str(&self.ilm.ok(&["profile", "show", email])).unwrap();
        profile["fields"]["adaccountstatus"].clone()
    }

    /// The password from the "New Hire Account Created" mail to `to`.
    fn mailed_password(&self, sam: &str, to: &str) -> String {
        let subject = format!("Subject: New Hire Account Created: {sam}");
        let mail = self
            .smtp
            .messages()
            .into_iter()
            .find(|m| m.contains(&subject) && m.contains(to))
            .unwrap_or_else(|| {
                panic!(
                    "no password mail for {sam} to {to}: {:?}",
                    self.smtp.messages()
                )
            });
        mail.lines()
            .find_map(|l| l.strip_prefix("Password: "))
            .unwrap_or_else(|| panic!("no Password line in {mail}"))
            .trim()
            .to_owned()
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

fn entry(sam: &str) -> SearchEntry {
    let mut admin = bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD).expect("admin bind");
    let (entries, _) = admin
        .search(
            SAMBA_BASE_DN,
            Scope::Subtree,
            &format!("(sAMAccountName={sam})"),
            vec!["*"],
        )
        .and_then(|r| r.success())
        .expect("search");
    SearchEntry::construct(
        entries
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no AD user {sam}")),
    )
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
    let profile: Value =
        serde_json::from_str(&w.ilm.ok(&["profile", "show", "grace.hopper@acme.test"])).unwrap();
    assert_eq!(
        profile["fields"]["isprocessed"],
        json!(false),
        "activation leaves the profile unprocessed (spec §13.6)"
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
