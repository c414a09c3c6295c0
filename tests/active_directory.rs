//! Active Directory end to end: the `ilm` CLI, the sandboxed plugin and the host's LDAP
//! capability against a real Samba AD DC on loopback, over LDAPS verified with the own CA
//! of `scripts/samba-template`. What the plugin did is checked in the directory itself,
//! with ldap3 and real binds as the user.

mod support;

use ldap3::{LdapConn, LdapConnSettings, Scope, SearchEntry};
use serde_json::{json, Value};
use std::path::Path;
use support::{
    dist, free_port, repo_root, Ilm, Ran, SambaDc, TestCa, SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD,
    SAMBA_BASE_DN,
};

const LDAPS: &str = "ldaps://127.0.0.1:636";
const PASSWORD: &str = "Str0ng!Passw0rd-1";
const STAFF: &str = "OU=Staff,DC=example,DC=test";
const ENG: &str = "OU=Engineering,OU=Staff,DC=example,DC=test";
const ENG_US: &str = "OU=Engineering,OU=US,OU=Staff,DC=example,DC=test";
const SALES: &str = "OU=Sales,OU=Staff,DC=example,DC=test";
const GROUP: &str = "CN=Terminated Users,OU=Staff,DC=example,DC=test";

/// `ilm instance add NAME --plugin active-directory` with the template's directory;
/// `extra` replaces or adds parameters (NAME=VALUE) and secrets (`secret:NAME=VALUE`).
fn add_instance(ilm: &Ilm, samba_ca: &Path, name: &str, extra: &[&str]) {
    let ca = format!("ca-file={}", samba_ca.display());
    let mut params = vec![
        format!("url={LDAPS}"),
        format!("base-dn={SAMBA_BASE_DN}"),
        format!("bind-dn={SAMBA_ADMIN_DN}"),
        ca,
        "group-cn=Terminated Users".to_owned(),
    ];
    let mut secret = format!("bind-password={SAMBA_ADMIN_PASSWORD}");
    for e in extra {
        match e.strip_prefix("secret:") {
            Some(s) => secret = s.to_owned(),
            None => {
                let key = e.split('=').next().unwrap_or_default();
                params.retain(|p| !p.starts_with(&format!("{key}=")));
                params.push(e.to_string());
            }
        }
    }
    let mut args = vec!["instance", "add", name, "--plugin", "active-directory"];
    for p in &params {
        args.extend(["--param", p]);
    }
    args.extend(["--secret", &secret]);
    ilm.ok(&args);
}

fn setup() -> (SambaDc, Ilm) {
    let samba = SambaDc::start();
    eprintln!("samba ready after {:?}", samba.ready_after);
    let ilm = Ilm::new(dist("plugins"));
    add_instance(&ilm, &samba.ca_file(), "ad", &[]);
    (samba, ilm)
}

/// Runs an IAM command; returns the exit code and the vendor result.
fn vendor(ilm: &Ilm, command: &str, instance: &str, profile: &Value) -> (i32, Value) {
    vendor_with(ilm, command, instance, profile, false)
}

fn vendor_with(
    ilm: &Ilm,
    command: &str,
    instance: &str,
    profile: &Value,
    allow_enable: bool,
) -> (i32, Value) {
    let allow = format!("allow-enable={allow_enable}");
    ilm.vendor(command, instance, profile, &[&allow])
}

/// Runs a plugin command with NAME=VALUE arguments.
fn command(ilm: &Ilm, name: &str, instance: &str, args: &[(&str, &str)]) -> Ran {
    let args: Vec<String> = args.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut argv = vec!["command", name, "--using", instance];
    for a in &args {
        argv.extend(["--arg", a]);
    }
    ilm.run(&argv)
}

/// Creates `profile` with iam-create-user, which must make a new, disabled account.
fn created_disabled(ilm: &Ilm, profile: &Value) -> Value {
    let (code, created) = vendor(ilm, "iam-create-user", "ad", profile);
    assert_eq!(code, 0, "{created}");
    assert_eq!(
        (
            created["action"].as_str(),
            created["success"].as_bool(),
            created["active"].as_bool()
        ),
        (Some("create"), Some(true), Some(false)),
        "{created}"
    );
    created
}

/// Sets `sam`'s password to [`PASSWORD`] over LDAPS and enables the account.
fn set_password_and_enable(ilm: &Ilm, sam: &str) {
    let set = command(
        ilm,
        "ad-set-new-password",
        "ad",
        &[("username", sam), ("password", PASSWORD)],
    );
    assert_eq!(set.code, 0, "{}{}", set.stdout, set.stderr);
    let enabled = command(ilm, "ad-enable-account", "ad", &[("username", sam)]);
    assert_eq!(enabled.code, 0, "{}{}", enabled.stdout, enabled.stderr);
    assert!(
        enabled.stdout.contains("userAccountControl 512"),
        "{}",
        enabled.stdout
    );
}

fn person(sam: &str, name: (&str, &str), department: &str, employee_id: &str) -> Value {
    json!({
        "email": format!("{sam}@example.test"),
        "username": format!("{sam}@example.test"),
        "givenname": name.0,
        "surname": name.1,
        "displayname": format!("{} {}", name.0, name.1),
        "department": department,
        "countryname": "Germany",
        "employeeid": employee_id,
        "title": "Engineer",
    })
}

fn jdoe() -> Value {
    let mut p = person("jdoe", ("Jane", "Doe"), "Engineering", "100042");
    p["manageremailaddress"] = json!("mboss@example.test");
    p
}

fn boss() -> Value {
    let mut p = person("mboss", ("Mary", "Boss"), "Engineering", "1000");
    p["countryname"] = json!("United States");
    p["title"] = json!("VP Engineering");
    p
}

/// An administrator's connection for checking the directory.
fn admin() -> LdapConn {
    bind(SAMBA_ADMIN_DN, SAMBA_ADMIN_PASSWORD).expect("admin bind")
}

/// A simple bind over LDAPS; `Err` holds the server's diagnostic (e.g. "... data 533 ...").
fn bind(dn: &str, password: &str) -> Result<LdapConn, String> {
    // The checks trust the loopback server; the CLI path verifies it with the CA.
    let settings = LdapConnSettings::new().set_no_tls_verify(true);
    let mut conn = LdapConn::with_settings(settings, LDAPS).map_err(|e| e.to_string())?;
    conn.simple_bind(dn, password)
        .and_then(|r| r.success())
        .map_err(|e| e.to_string())?;
    Ok(conn)
}

/// The user with sAMAccountName `sam`, as the directory holds it.
fn entry(sam: &str) -> Option<SearchEntry> {
    let filter = format!("(sAMAccountName={sam})");
    let (entries, _) = admin()
        .search(SAMBA_BASE_DN, Scope::Subtree, &filter, vec!["*"])
        .and_then(|r| r.success())
        .expect("searching the directory");
    entries.into_iter().next().map(SearchEntry::construct)
}

/// The user with sAMAccountName `sam`, which must be at `dn`.
fn located(sam: &str, dn: &str) -> SearchEntry {
    let found = entry(sam).unwrap_or_else(|| panic!("{sam} is not in the directory"));
    assert!(same_dn(&found.dn, dn), "{sam} is at {}, not {dn}", found.dn);
    found
}

fn attr(entry: &SearchEntry, name: &str) -> Option<String> {
    entry.attrs.get(name).and_then(|v| v.first()).cloned()
}

fn group_members() -> Vec<String> {
    let (entries, _) = admin()
        .search(GROUP, Scope::Base, "(objectClass=*)", vec!["member"])
        .and_then(|r| r.success())
        .expect("reading the group");
    entries
        .into_iter()
        .next()
        .map(SearchEntry::construct)
        .and_then(|e| e.attrs.get("member").cloned())
        .unwrap_or_default()
}

fn same_dn(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

#[test]
fn joiner_mover_leaver_against_samba() {
    let (_samba, ilm) = setup();

    let (code, manager) = vendor(&ilm, "iam-create-user", "ad", &boss());
    assert_eq!(code, 0, "{manager}");
    let created = created_disabled(&ilm, &jdoe());
    assert_eq!(created["brand"], "Active Directory Query v2");
    assert_eq!(created["username"], "jdoe");

    // Created disabled, in the mapped OU, with the manager's DN and the mapped attributes.
    let jane = located("jdoe", &format!("CN=Jane Doe,{ENG}"));
    assert_eq!(attr(&jane, "userAccountControl").as_deref(), Some("514"));
    let boss_dn = format!("CN=Mary Boss,{ENG_US}");
    assert!(
        attr(&jane, "manager").is_some_and(|m| same_dn(&m, &boss_dn)),
        "{:?}",
        jane.attrs.get("manager")
    );
    assert_eq!(attr(&jane, "title").as_deref(), Some("Engineer"));
    assert_eq!(attr(&jane, "employeeID").as_deref(), Some("100042"));
    assert_eq!(
        attr(&jane, "userPrincipalName").as_deref(),
        Some("jdoe@example.test")
    );
    let classes = jane.attrs.get("objectClass").cloned().unwrap_or_default();
    assert!(classes.iter().any(|c| c == "user"), "{classes:?}");
    // The app id is the objectGUID, which survives moves and renames.
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(id.len(), 36, "{created}");
    assert_eq!(created["details"]["objectGUID"], id.as_str());
    assert_eq!(created["details"]["managerEmail"], "mboss@example.test");

    let (code, got) = vendor(&ilm, "iam-get-user", "ad", &jdoe());
    assert_eq!(code, 0, "{got}");
    assert_eq!(
        (got["id"].as_str(), got["active"].as_bool()),
        (Some(id.as_str()), Some(false))
    );

    // Another "Jane Doe" in the same OU gets the first free CN suffix.
    let (code, second) = vendor(
        &ilm,
        "iam-create-user",
        "ad",
        &person("jdoe2", ("Jane", "Doe"), "Engineering", "100043"),
    );
    assert_eq!(code, 0, "{second}");
    located("jdoe2", &format!("CN=Jane Doe1,{ENG}"));

    // No password yet: the account cannot log in. Then password over LDAPS, enable: it can.
    assert!(bind(&jane.dn, PASSWORD).is_err());
    set_password_and_enable(&ilm, "jdoe");
    bind("EXAMPLE\\jdoe", PASSWORD).expect("jdoe logs in after password + enable");

    // Mover: a title change and a new department, so a new OU.
    let mut moved = jdoe();
    moved["title"] = json!("Account Executive");
    moved["department"] = json!("Sales");
    let (code, updated) = vendor(&ilm, "iam-update-user", "ad", &moved);
    assert_eq!(code, 0, "{updated}");
    assert_eq!(
        (
            updated["action"].as_str(),
            updated["id"].as_str(),
            updated["active"].as_bool()
        ),
        (Some("update"), Some(id.as_str()), Some(true)),
        "{updated}"
    );
    let jane = located("jdoe", &format!("CN=Jane Doe,{SALES}"));
    assert_eq!(attr(&jane, "title").as_deref(), Some("Account Executive"));
    assert_eq!(attr(&jane, "department").as_deref(), Some("Sales"));
    bind("EXAMPLE\\jdoe", PASSWORD).expect("a move keeps the login");

    // Leaver: disabled, cannot log in (AD's "account disabled" is data 533), and put in
    // the group-cn group.
    let (code, disabled) = vendor(&ilm, "iam-disable-user", "ad", &moved);
    assert_eq!(code, 0, "{disabled}");
    assert_eq!(
        (disabled["action"].as_str(), disabled["active"].as_bool()),
        (Some("disable"), Some(false)),
        "{disabled}"
    );
    let jane = entry("jdoe").expect("jdoe after disable");
    assert_eq!(attr(&jane, "userAccountControl").as_deref(), Some("514"));
    let refused = bind("EXAMPLE\\jdoe", PASSWORD).expect_err("a disabled bind fails");
    assert!(refused.contains("data 533"), "{refused}");
    assert!(
        group_members().iter().any(|m| same_dn(m, &jane.dn)),
        "{:?}",
        group_members()
    );

    // Rehire: an update that may enable turns the account back on and leaves the group.
    let (code, rehired) = vendor_with(&ilm, "iam-update-user", "ad", &moved, true);
    assert_eq!(code, 0, "{rehired}");
    assert_eq!(rehired["active"], json!(true), "{rehired}");
    assert!(group_members().iter().all(|m| !same_dn(m, &jane.dn)));
    bind("EXAMPLE\\jdoe", PASSWORD).expect("a rehired user logs in again");

    // The other commands: pwdLastSet 0 expires the password; ad-update-user sets one value.
    let expired = command(&ilm, "ad-expire-password", "ad", &[("username", "jdoe")]);
    assert_eq!(expired.code, 0, "{}", expired.stderr);
    assert_eq!(
        attr(&entry("jdoe").expect("jdoe"), "pwdLastSet").as_deref(),
        Some("0")
    );
    let one = command(
        &ilm,
        "ad-update-user",
        "ad",
        &[
            ("username", "jdoe"),
            ("attribute-name", "telephoneNumber"),
            ("attribute-value", "+49 30 1234"),
        ],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert_eq!(
        attr(&entry("jdoe").expect("jdoe"), "telephoneNumber").as_deref(),
        Some("+49 30 1234")
    );
    let off = command(&ilm, "ad-disable-account", "ad", &[("username", "jdoe")]);
    assert_eq!(off.code, 0, "{}", off.stderr);
    assert_eq!(
        attr(&entry("jdoe").expect("jdoe"), "userAccountControl").as_deref(),
        Some("514")
    );
}

/// Now as a Windows FILETIME (100 ns ticks since 1601), the unit of pwdLastSet.
fn filetime_now() -> i64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970");
    let ticks = i64::try_from(unix.as_nanos() / 100).expect("a FILETIME in range");
    ticks + 11_644_473_600 * 10_000_000
}

fn pwd_last_set(sam: &str) -> i64 {
    let found = entry(sam).unwrap_or_else(|| panic!("{sam} is not in the directory"));
    attr(&found, "pwdLastSet")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{sam} has no numeric pwdLastSet: {:?}", found.attrs))
}

/// A new user is created disabled at CN=<cn>,<ou>; the account initialisation with
/// enable_user (its commands: password over LDAPS, enable, pwdLastSet -1) leaves it
/// enabled (userAccountControl 512) with pwdLastSet the time of the password set, so the
/// first logon does not force a change. AD turns -1 into "now" only when pwdLastSet is 0
/// (a value already stamped stays), which the expired password at the end shows.
#[test]
fn s35_a_new_user_initialised_with_enable_user_is_enabled_with_pwd_last_set_now() {
    let (_samba, ilm) = setup();
    let kim = person("klee", ("Kim", "Lee"), "Sales", "100077");
    created_disabled(&ilm, &kim);
    located("klee", &format!("CN=Kim Lee,{SALES}"));

    let stamp_now = || {
        let stamped = command(
            &ilm,
            "ad-update-user",
            "ad",
            &[
                ("username", "klee"),
                ("attribute-name", "pwdLastSet"),
                ("attribute-value", "-1"),
            ],
        );
        assert_eq!(stamped.code, 0, "{}{}", stamped.stdout, stamped.stderr);
    };
    let before = filetime_now();
    set_password_and_enable(&ilm, "klee");
    stamp_now();
    let after = filetime_now();
    let kim_entry = located("klee", &format!("CN=Kim Lee,{SALES}"));
    assert_eq!(
        attr(&kim_entry, "userAccountControl").as_deref(),
        Some("512")
    );
    let stamped = pwd_last_set("klee");
    assert!(
        (before..=after).contains(&stamped),
        "pwdLastSet {stamped} is not a time of the initialisation ({before}..={after})"
    );
    bind("EXAMPLE\\klee", PASSWORD).expect("klee logs in without a forced change");

    let expired = command(&ilm, "ad-expire-password", "ad", &[("username", "klee")]);
    assert_eq!(expired.code, 0, "{}", expired.stderr);
    assert_eq!(pwd_last_set("klee"), 0);
    let before = filetime_now();
    stamp_now();
    let restamped = pwd_last_set("klee");
    assert!(
        (before..=filetime_now()).contains(&restamped),
        "pwdLastSet -1 over 0 is {restamped}, not the time of the write"
    );
}

/// A command given the DN a create returned reads the user there: one read and the write,
/// no search under the base and no request to end a paged search. A DN that holds someone
/// else or nothing is only a hint: the username decides whose password is set.
#[test]
fn a_password_set_at_a_known_dn_sets_the_named_users_password_and_nobody_elses() {
    let (_samba, ilm) = setup();
    created_disabled(&ilm, &person("klee", ("Kim", "Lee"), "Sales", "100077"));
    created_disabled(&ilm, &person("mfox", ("Max", "Fox"), "Sales", "100078"));
    let kim_dn = format!("CN=Kim Lee,{SALES}");
    let max_dn = format!("CN=Max Fox,{SALES}");
    // The directory requests the command made, from the host's debug log.
    let set_at = |sam: &str, dn: &str| -> (String, Vec<String>) {
        let before = filetime_now();
        let arg = |k: &str, v: &str| format!("{k}={v}");
        let (user, password, at) = (
            arg("username", sam),
            arg("password", PASSWORD),
            arg("dn", dn),
        );
        let set = ilm.run_with(
            &[
                "command",
                "ad-set-new-password",
                "--using",
                "ad",
                "--arg",
                &user,
                "--arg",
                &password,
                "--arg",
                &at,
            ],
            &[("ILM_LOG", "ilm::plugins::ldap=debug")],
        );
        assert_eq!(set.code, 0, "{}{}", set.stdout, set.stderr);
        let stamped = pwd_last_set(sam);
        assert!(
            (before..=filetime_now()).contains(&stamped),
            "{sam}'s password was not set (pwdLastSet {stamped})"
        );
        let requests = set
            .stderr
            .lines()
            .filter_map(|l| {
                l.split_once(" ldap: ")
                    .map(|(_, r)| r.split(" url=").next().unwrap_or(r).to_owned())
            })
            .collect();
        (set.stdout, requests)
    };

    let (kim, requests) = set_at("klee", &kim_dn);
    assert!(kim.contains(&kim_dn), "{kim}");
    assert_eq!(
        requests,
        [
            format!("searching {kim_dn:?} for (&(objectClass=user)(objectCategory=person))"),
            format!("setting the password of {kim_dn:?}"),
        ],
        "{requests:#?}"
    );
    let kim_stamp = pwd_last_set("klee");

    // Kim's DN given for Max: Max's password is set, Kim's is untouched.
    let (max, requests) = set_at("mfox", &kim_dn);
    assert!(max.contains(&max_dn) && !max.contains(&kim_dn), "{max}");
    assert_eq!(pwd_last_set("klee"), kim_stamp);
    assert!(
        requests.iter().any(|r| r.contains("(sAMAccountName=mfox)")),
        "{requests:#?}"
    );

    // A DN that holds nothing, as after a move: the user is searched for.
    let (moved, _) = set_at("klee", &format!("CN=Kim Lee,{ENG}"));
    assert!(moved.contains(&kim_dn), "{moved}");
}

/// A directory that does not answer fails the incident for the worker to retry, as an
/// unreachable app does; one whose certificate does not verify fails it for a person, since
/// trying again gives the same answer.
#[test]
fn a_directory_that_is_down_is_retried_and_one_that_cannot_be_trusted_is_not() {
    let (samba, mut ilm) = setup();
    let playbooks = raw_mapper_playbooks();
    std::fs::write(
        playbooks.path().join("lookup.rhai"),
        "let r = iam(\"iam-get-user\", incident.fields.instance, incident.fields.userprofile);\n\
         if !r[0].success { fail(`lookup failed: ${r[0].errorMessage}`); }\n",
    )
    .expect("playbook");
    std::fs::write(
        playbooks.path().join("config.toml"),
        "[types]\n\"Lookup\" = \"lookup\"\n",
    )
    .expect("config");
    ilm.playbooks_dir = playbooks.path().to_owned();
    let down = format!("url=ldaps://127.0.0.1:{}", free_port());
    add_instance(&ilm, &samba.ca_file(), "down", &[&down]);
    let other_ca = TestCa::new();
    add_instance(&ilm, &other_ca.path("ca.pem"), "untrusted", &[]);
    let incident = |instance: &str| {
        let fields = json!({"email": format!("{instance}@example.test"), "instance": instance, "userprofile": jdoe()});
        ilm.create_incident("Lookup", &fields)["id"].to_string()
    };
    let (down, untrusted) = (incident("down"), incident("untrusted"));

    let out = ilm.ok(&[
        "worker",
        "--until-idle",
        "--max-attempts",
        "2",
        "--retry-backoff-ms",
        "100",
    ]);
    assert!(out.contains("retried 1"), "{out}");
    let ended = |id: &str| {
        let shown: Value =
            serde_json::from_str(&ilm.ok(&["incident", "show", id, "--json"])).expect("JSON");
        (
            shown["incident"]["status"].clone(),
            shown["attempt"].clone(),
        )
    };
    assert_eq!(ended(&down), (json!("failed"), json!(2)));
    assert_eq!(ended(&untrusted), (json!("failed"), json!(1)));
}

/// A playbooks folder with the shipped mappers and transformers plus `ad-raw`, a mapper
/// that passes a profile's `ad` object through, to feed the plugin what a broken mapper
/// would.
fn raw_mapper_playbooks() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = repo_root().join("playbooks");
    std::os::unix::fs::symlink(
        shipped.join("transformers"),
        dir.path().join("transformers"),
    )
    .expect("linking the transformers");
    let mappers = dir.path().join("mappers");
    std::fs::create_dir(&mappers).expect("mappers folder");
    std::os::unix::fs::symlink(
        shipped.join("mappers/active-directory.rhai"),
        mappers.join("active-directory.rhai"),
    )
    .expect("linking the AD mapper");
    std::fs::write(
        mappers.join("ad-raw.rhai"),
        "fn outgoing(profile, mapping_type) { profile.ad }\nfn incoming(user) { user }\n",
    )
    .expect("writing the raw mapper");
    dir
}

fn failure(result: &Value) -> (Option<bool>, String, String) {
    (
        result["success"].as_bool(),
        result["errorCode"].as_str().unwrap_or_default().to_owned(),
        result["errorMessage"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn bad_input_fails_with_a_message_a_person_can_act_on() {
    let (samba, mut ilm) = setup();
    let playbooks = raw_mapper_playbooks();
    ilm.playbooks_dir = playbooks.path().to_owned();
    add_instance(&ilm, &samba.ca_file(), "raw", &["mapper=ad-raw"]);

    // No row of the OU mapping matches: the transformer's own message.
    let (code, result) = vendor(
        &ilm,
        "iam-create-user",
        "ad",
        &person("lwyer", ("Lee", "Wyer"), "Legal", "7"),
    );
    assert_eq!(code, 3, "{result}");
    let (success, _, message) = failure(&result);
    assert_eq!(success, Some(false));
    assert!(
        message.contains("no OU mapping for department \"Legal\""),
        "{message}"
    );

    // A mapper without ou: asks for the OU transformer, code 400.
    let no_ou = json!({"ad": {"sAMAccountName": "noou", "cn": "No Ou"}});
    let (_, result) = vendor(&ilm, "iam-create-user", "raw", &no_ou);
    let (success, code, message) = failure(&result);
    assert_eq!((success, code.as_str()), (Some(false), "400"), "{result}");
    assert!(message.contains("OU transformer"), "{message}");

    // An OU that is not in the directory.
    let ghost = json!({"ad": {"sAMAccountName": "ghost", "cn": "Ghost", "ou": format!("OU=Nowhere,{STAFF}")}});
    let (_, result) = vendor(&ilm, "iam-create-user", "raw", &ghost);
    let (_, code, message) = failure(&result);
    assert_eq!(code, "400", "{result}");
    assert!(
        message.contains("OU=Nowhere")
            && message.contains("does not exist")
            && message.contains("ou-mapping.rhai"),
        "{message}"
    );
    assert!(entry("ghost").is_none());

    // A sAMAccountName another object (the group) already holds.
    let taken =
        json!({"ad": {"sAMAccountName": "Terminated Users", "cn": "Term User", "ou": STAFF}});
    let (_, result) = vendor(&ilm, "iam-create-user", "raw", &taken);
    let (success, _, message) = failure(&result);
    assert_eq!(success, Some(false), "{result}");
    assert!(
        message.contains("already used by another directory object"),
        "{message}"
    );

    // Two people whose emails give the same sAMAccountName: the second does not take over
    // the first one's account.
    let (code, _) = vendor(&ilm, "iam-create-user", "ad", &jdoe());
    assert_eq!(code, 0);
    let mut namesake = person("jdoe", ("John", "Doe"), "Sales", "555");
    namesake["email"] = json!("jdoe@other.test");
    let (code, result) = vendor(&ilm, "iam-create-user", "ad", &namesake);
    assert_eq!(code, 3, "{result}");
    let (_, code, message) = failure(&result);
    assert_eq!(code, "409");
    assert!(
        message.contains("already belongs to employee 100042"),
        "{message}"
    );
    let jane = located("jdoe", &format!("CN=Jane Doe,{ENG}"));
    assert_eq!(attr(&jane, "givenName").as_deref(), Some("Jane"));

    // A password the domain's policy refuses.
    let weak = command(
        &ilm,
        "ad-set-new-password",
        "ad",
        &[("username", "jdoe"), ("password", "abc")],
    );
    assert_ne!(weak.code, 0);
    assert!(
        weak.stderr.contains("does not meet the domain's"),
        "{}",
        weak.stderr
    );
    let missing = command(&ilm, "ad-enable-account", "ad", &[("username", "nobody")]);
    assert!(
        missing
            .stderr
            .contains("no user with sAMAccountName \"nobody\""),
        "{}",
        missing.stderr
    );
}

#[test]
fn connections_are_verified_encrypted_and_bound_by_the_host() {
    let (samba, ilm) = setup();
    let ca = samba.ca_file();
    let (code, created) = vendor(&ilm, "iam-create-user", "ad", &jdoe());
    assert_eq!(code, 0, "{created}");

    // Plain LDAP works for reading when the instance allows it, but the host refuses to
    // send a password over it (Samba, configured to allow it, would take it).
    add_instance(
        &ilm,
        &ca,
        "plain",
        &["url=ldap://127.0.0.1:389", "insecure-plain-ldap=true"],
    );
    let (code, found) = vendor(&ilm, "iam-get-user", "plain", &jdoe());
    assert_eq!(
        (code, found["username"].as_str()),
        (0, Some("jdoe")),
        "{found}"
    );
    let refused = command(
        &ilm,
        "ad-set-new-password",
        "plain",
        &[("username", "jdoe"), ("password", PASSWORD)],
    );
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("needs an encrypted connection")
            && refused.stderr.contains("sandbox-refused"),
        "{}",
        refused.stderr
    );

    // ldap:// without the plain flag is StartTLS, verified with the CA: passwords go.
    add_instance(&ilm, &ca, "starttls", &["url=ldap://127.0.0.1:389"]);
    let set = command(
        &ilm,
        "ad-set-new-password",
        "starttls",
        &[("username", "jdoe"), ("password", PASSWORD)],
    );
    assert_eq!(set.code, 0, "{}", set.stderr);
    let enabled = command(
        &ilm,
        "ad-enable-account",
        "starttls",
        &[("username", "jdoe")],
    );
    assert_eq!(enabled.code, 0, "{}", enabled.stderr);
    bind("EXAMPLE\\jdoe", PASSWORD).expect("the password set over StartTLS works");

    // A CA that did not sign the server's certificate: no connection.
    let other_ca = TestCa::new();
    let other_ca = other_ca.path("ca.pem");
    add_instance(&ilm, &other_ca, "wrong-ca", &[]);
    // Not a failure to retry: the certificate will not verify next time either.
    let (_, result) = vendor(&ilm, "iam-get-user", "wrong-ca", &jdoe());
    let (_, code, message) = failure(&result);
    assert_eq!(code, "ldap-untrusted", "{result}");
    assert!(
        message.contains("LDAPS") && message.contains("ca-file"),
        "{message}"
    );

    // Wrong bind password: LDAP's invalid credentials, naming the bind.
    add_instance(&ilm, &ca, "badpw", &["secret:bind-password=wrong"]);
    let (code, result) = vendor(&ilm, "iam-get-user", "badpw", &jdoe());
    assert_eq!(code, 3);
    let (_, code, message) = failure(&result);
    assert_eq!(code, "49", "{result}");
    assert!(
        message.contains("binding to") && message.contains("invalidCredentials"),
        "{message}"
    );
    let test = ilm.run(&["instance", "test", "badpw"]);
    assert_ne!(test.code, 0, "{}", test.stdout);

    // The directory is down: unreachable, said so.
    let down = format!("url=ldaps://127.0.0.1:{}", free_port());
    add_instance(&ilm, &ca, "down", &[&down]);
    let (code, result) = vendor(&ilm, "iam-get-user", "down", &jdoe());
    assert_eq!(code, 3);
    let (_, code, message) = failure(&result);
    assert_eq!(code, "ldap-unavailable", "{result}");
    assert!(message.contains("cannot reach the directory"), "{message}");
    assert!(ilm.run(&["instance", "test", "ad"]).code == 0);
}

#[test]
fn a_plugin_without_an_ldap_section_gets_an_error_from_every_ldap_call() {
    let ilm = Ilm::new(dist("test-plugins"));
    ilm.ok(&["instance", "add", "h", "--plugin", "hostile"]);
    let out: Value = serde_json::from_str(&ilm.ok(&["command", "ldap-probe", "--using", "h"]))
        .expect("JSON output");
    let probe = out["h"].as_object().cloned().unwrap_or_default();
    let functions = [
        "search",
        "add",
        "modify",
        "modify-dn",
        "delete",
        "set-password",
    ];
    assert_eq!(probe.len(), functions.len(), "{out}");
    for function in functions {
        let result = &probe[function];
        assert_eq!(result["code"], "sandbox-refused", "{function}: {result}");
        assert!(
            result["message"]
                .as_str()
                .unwrap_or_default()
                .contains("no [ldap] section"),
            "{function}: {result}"
        );
    }
}
