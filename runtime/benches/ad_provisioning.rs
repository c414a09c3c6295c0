//! New hires per second into Samba AD over LDAPS, end to end (`ilm run --once`: fetch the
//! report, run each New Hire playbook — find, create disabled, set the password, mail it —
//! and write the profiles), next to the limit: the same adds and password sets done by a
//! plain ldap3 loop in the same run. Prints the figures; needs root (Samba's ports), the
//! test services and `scripts/build-plugins`.

#[path = "../../tests/support/mod.rs"]
mod support;

use ldap3::{LdapConn, LdapConnSettings, Mod};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Instant;
use support::{
    dist, Ilm, ReportServer, SambaDc, SmtpSink, SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD, SAMBA_BASE_DN,
};

const HIRES: usize = 40;
const PASSWORD: &str = "Bench!Passw0rd-9";

fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// The limit: one admin connection adding disabled users and setting their passwords.
fn plain_ldap3_loop() -> f64 {
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let mut conn = LdapConn::with_settings(settings, "ldaps://127.0.0.1:636").expect("connect");
    conn.simple_bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD)
        .and_then(|r| r.success())
        .expect("bind");
    let start = Instant::now();
    for i in 0..HIRES {
        let sam = format!("limit{i}");
        let upn = format!("{sam}@acme.test");
        let dn = format!("CN=Limit {i},OU=Engineering,OU=Staff,{SAMBA_BASE_DN}");
        let classes: HashSet<&str> = ["top", "person", "organizationalPerson", "user"].into();
        let attrs = vec![
            ("objectClass", classes),
            ("sAMAccountName", [sam.as_str()].into()),
            ("userPrincipalName", [upn.as_str()].into()),
            ("userAccountControl", ["514"].into()),
        ];
        conn.add(&dn, attrs).and_then(|r| r.success()).expect("add");
        let password: HashSet<Vec<u8>> = [unicode_pwd(PASSWORD)].into();
        conn.modify(&dn, vec![Mod::Replace(b"unicodePwd".to_vec(), password)])
            .and_then(|r| r.success())
            .expect("password");
    }
    HIRES as f64 / start.elapsed().as_secs_f64()
}

fn runtime_end_to_end() -> f64 {
    let samba_ca = support::repo_root().join(".services/samba-tls/ca.pem");
    let report = ReportServer::start("isu", "pw");
    let smtp = SmtpSink::start();
    let ilm = Ilm::new(dist("plugins"));
    let max_fetch = format!("max_fetch={HIRES}");
    ilm.add_workday("hr", &report, &["first_run=false", &max_fetch]);
    ilm.add_active_directory("ad", &samba_ca);
    let rows: Vec<Value> = (0..HIRES)
        .map(|i| json!({"Emp_ID": format!("9{i:04}"), "Email_Address": format!("hire{i}@acme.test"),
            "Preferred_Name": format!("Hire {i}"), "Preferred_Name_-_First_Name": "Hire", "Preferred_Name_-_Last_Name": i.to_string(),
            "Employment_Status": "Active", "Prehire_Flag": "False", "Rehired_Employee": "No", "Last_Hire_Date": "01/06/2025",
            "Title": "Engineer", "Department": "Engineering", "Country_Name": "United States"}))
        .collect();
    report.set_rows(&Value::Array(rows));
    let start = Instant::now();
    let ran = ilm.run_with(
        &["run", "--once", "--concurrency", "2"],
        &[("ILM_SMTP", &smtp.url())],
    );
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(
        ran.stdout
            .contains(&format!("closed {HIRES}, waiting 0, failed 0")),
        "{}",
        ran.stdout
    );
    HIRES as f64 / elapsed
}

fn main() {
    // `cargo test --benches` runs each bench once with --bench absent; only measure when asked.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let samba = SambaDc::start();
    let limit = plain_ldap3_loop();
    let runtime = runtime_end_to_end();
    drop(samba);
    println!(
        "ad_provisioning/plain ldap3 loop (add + unicodePwd), {HIRES} users: {limit:.1} users/s"
    );
    println!(
        "ad_provisioning/ilm run --once, {HIRES} new hires end to end:      {runtime:.1} hires/s"
    );
    println!(
        "ad_provisioning/runtime as a share of the limit:                 {:.0} %",
        100.0 * runtime / limit
    );
}
