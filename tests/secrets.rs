//! Secrets at rest, through the `ilm` binary: what the database file holds after a secret
//! is added or a password generated, the modes of the files, what a missing or wrong key
//! does, and secret references read at each call.

mod support;

use std::path::{Path, PathBuf};
use support::{dist, Ilm, RecordingPeer};

const TOKEN: &str = "tok-8d1e0b-must-never-reach-the-disk";
const PASSWORD: &str = "Pw-5c2f9e-NeverPrinted!";

fn db(ilm: &Ilm) -> PathBuf {
    ilm.data_dir.path().join("ilm.db")
}

fn key_file(ilm: &Ilm) -> PathBuf {
    ilm.data_dir.path().join("secret.key")
}

/// The database and its `-wal` and `-shm`, as they are on disk.
fn database_bytes(ilm: &Ilm) -> Vec<u8> {
    let mut bytes = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", db(ilm).display());
        bytes.extend(std::fs::read(path).unwrap_or_default());
    }
    assert!(!bytes.is_empty(), "no database was written");
    bytes
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A `hostile` test-plugin instance (it has a `url` and a bearer `token`).
fn add_instance(ilm: &Ilm, name: &str, url: &str, secret: &[&str]) {
    let url = format!("url={url}");
    let mut args = vec![
        "instance", "add", name, "--plugin", "hostile", "--param", &url,
    ];
    args.extend(secret);
    ilm.ok(&args);
}

#[test]
fn an_added_secret_is_not_in_the_database_file() {
    let ilm = Ilm::new(dist("test-plugins"));
    let token = format!("token={TOKEN}");
    add_instance(&ilm, "h", "http://127.0.0.1:9", &["--secret", &token]);
    assert!(
        !holds(&database_bytes(&ilm), TOKEN),
        "the token is in the file"
    );
    let shown = ilm.ok(&["instance", "show", "h"]);
    assert!(shown.contains("token = <secret, set>"), "{shown}");
    assert!(!shown.contains(TOKEN), "{shown}");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[test]
fn the_data_directory_is_0700_and_its_files_0600_from_the_first_run() {
    let ilm = Ilm::new(dist("test-plugins"));
    let token = format!("token={TOKEN}");
    add_instance(&ilm, "h", "http://127.0.0.1:9", &["--secret", &token]);
    assert_eq!(mode(ilm.data_dir.path()), 0o700);
    assert_eq!(mode(&key_file(&ilm)), 0o600);
    for suffix in ["", "-wal", "-shm"] {
        let path = PathBuf::from(format!("{}{suffix}", db(&ilm).display()));
        if suffix.is_empty() || path.exists() {
            assert_eq!(mode(&path), 0o600, "{}", path.display());
        }
    }
}

#[cfg(unix)]
#[test]
fn looser_files_from_an_older_install_are_tightened_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let ilm = Ilm::new(dist("test-plugins"));
    ilm.ok(&["instance", "list"]);
    let loosen = |path: &Path, m: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap()
    };
    loosen(ilm.data_dir.path(), 0o755);
    loosen(&db(&ilm), 0o644);
    let ran = ilm.run(&["instance", "list"]);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert!(ran.stderr.contains("open to other users"), "{}", ran.stderr);
    assert_eq!(mode(ilm.data_dir.path()), 0o700);
    assert_eq!(mode(&db(&ilm)), 0o600);
}

/// Playbooks that generate a password (a fixed one, so the test can look for it), try to
/// set it as the AD playbook does, ask a person, then mail it; without an SMTP server the
/// mail fails and so does the incident.
fn password_playbooks() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("transformers")).unwrap();
    std::fs::write(
        dir.path().join("transformers/fixed-password.rhai"),
        format!("fn transform(input) {{ #{{ NEW_PASSWORD: \"{PASSWORD}\" }} }}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("leak.rhai"),
        r#"
let password = transform("fixed-password", #{}).NEW_PASSWORD;
try {
    plugin_command("ad-set-new-password", "ad", #{ username: "jdoe", password: password });
} catch (err) {
    log(`setting the password failed: ${err}`);
}
ask("Send the password?", ["Yes"]);
mail(#{ to: "it@example.test", subject: "New Hire Account Created: jdoe", body: `Password: ${password}` });
"#,
    )
    .unwrap();
    dir
}

fn assert_no_password(ilm: &Ilm, when: &str) {
    assert!(
        !holds(&database_bytes(ilm), PASSWORD),
        "{when}: the password is in the database file"
    );
    for args in [
        &["incident", "show", "1"][..],
        &["incident", "show", "1", "--json"],
    ] {
        let ran = ilm.run(args);
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        let out = format!("{}{}", ran.stdout, ran.stderr);
        assert!(
            !out.contains(PASSWORD),
            "{when}: {args:?} printed it:\n{out}"
        );
        assert!(out.contains("<redacted>"), "{when}: {args:?}:\n{out}");
    }
}

#[test]
fn a_generated_password_is_never_in_the_file_or_shown_waiting_or_failed() {
    let playbooks = password_playbooks();
    let mut ilm = Ilm::new(dist("test-plugins"));
    ilm.playbooks_dir = playbooks.path().to_owned();

    let started = ilm.ok(&["playbook", "run", "leak"]);
    assert!(started.contains("Waiting"), "{started}");
    assert_no_password(&ilm, "waiting");
    let shown = ilm.ok(&["incident", "show", "1"]);
    assert!(shown.contains("ad-set-new-password"), "{shown}");

    ilm.ok(&["incident", "answer", "1", "Yes"]);
    let ran = ilm.run(&["incident", "run", "1"]);
    assert_eq!(ran.code, 1, "the mail has no SMTP server: {}", ran.stdout);
    assert!(ran.stderr.contains("no SMTP server"), "{}", ran.stderr);
    assert!(!ran.stderr.contains(PASSWORD), "{}", ran.stderr);
    assert_no_password(&ilm, "failed");
    let shown = ilm.ok(&["incident", "show", "1"]);
    assert!(shown.contains("failed"), "{shown}");
    assert!(
        shown.contains("it@example.test"),
        "the mail's recipient is kept: {shown}"
    );
}

#[test]
fn a_missing_or_wrong_key_is_an_error_that_names_the_key_and_the_fix() {
    let ilm = Ilm::new(dist("test-plugins"));
    let token = format!("token={TOKEN}");
    add_instance(&ilm, "h", "http://127.0.0.1:9", &["--secret", &token]);
    let key = std::fs::read_to_string(key_file(&ilm)).unwrap();
    std::fs::remove_file(key_file(&ilm)).unwrap();

    let missing = ilm.run(&["instance", "show", "h"]);
    assert_eq!(missing.code, 1);
    let file = key_file(&ilm).display().to_string();
    assert!(
        missing.stderr.contains(&file) && missing.stderr.contains("is missing"),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("ILM_SECRET_KEY"),
        "{}",
        missing.stderr
    );
    assert!(!key_file(&ilm).exists(), "a new key replaced the lost one");

    let other = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";
    let wrong = ilm.run_with(&["instance", "show", "h"], &[("ILM_SECRET_KEY", other)]);
    assert_eq!(wrong.code, 1);
    assert!(
        wrong.stderr.contains("ILM_SECRET_KEY") && wrong.stderr.contains("is not the key"),
        "{}",
        wrong.stderr
    );
    let garbage = ilm.run_with(&["instance", "show", "h"], &[("ILM_SECRET_KEY", "nope")]);
    assert!(
        garbage.stderr.contains("is not a secret key"),
        "{}",
        garbage.stderr
    );

    let right = ilm.run_with(
        &["instance", "show", "h"],
        &[("ILM_SECRET_KEY", key.trim())],
    );
    assert_eq!(right.code, 0, "{}", right.stderr);
}

fn bearer_seen(peer: &RecordingPeer) -> Vec<String> {
    peer.requests()
        .iter()
        .filter_map(|r| r.header("authorization").map(str::to_owned))
        .collect()
}

#[test]
fn env_and_file_references_are_read_at_each_call_and_never_stored() {
    let peer = RecordingPeer::start("{}");
    let ilm = Ilm::new(dist("test-plugins"));
    add_instance(
        &ilm,
        "by-env",
        &peer.url(),
        &["--secret-ref", "token=env:ILM_TEST_TOKEN"],
    );
    let token_file = ilm.data_dir.path().join("token.txt");
    std::fs::write(&token_file, "from-file-1\n").unwrap();
    let file_ref = format!("token=file:{}", token_file.display());
    add_instance(&ilm, "by-file", &peer.url(), &["--secret-ref", &file_ref]);

    let shown = ilm.ok(&["instance", "show", "by-env"]);
    assert!(shown.contains("token = env:ILM_TEST_TOKEN"), "{shown}");
    let url = format!("url={}/probe", peer.url());
    let call = |instance: &str, env: &[(&str, &str)]| {
        let ran = ilm.run_with(
            &["command", "call-host", "--using", instance, "--arg", &url],
            env,
        );
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    };
    call("by-env", &[("ILM_TEST_TOKEN", "from-env-1")]);
    call("by-env", &[("ILM_TEST_TOKEN", "from-env-2")]);
    call("by-file", &[]);
    std::fs::write(&token_file, "from-file-2\n").unwrap();
    call("by-file", &[]);
    assert_eq!(
        bearer_seen(&peer),
        [
            "Bearer from-env-1",
            "Bearer from-env-2",
            "Bearer from-file-1",
            "Bearer from-file-2"
        ]
    );
    let bytes = database_bytes(&ilm);
    assert!(!holds(&bytes, "from-env-1") && !holds(&bytes, "from-file-1"));

    let unset = ilm.run(&["command", "call-host", "--using", "by-env", "--arg", &url]);
    assert_eq!(unset.code, 1);
    assert!(
        unset.stderr.contains("ILM_TEST_TOKEN") && unset.stderr.contains("not set"),
        "{}",
        unset.stderr
    );
}

#[test]
fn a_rotated_key_keeps_secrets_usable_and_the_old_key_opens_nothing() {
    let peer = RecordingPeer::start("{}");
    let ilm = Ilm::new(dist("test-plugins"));
    let token = format!("token={TOKEN}");
    add_instance(&ilm, "h", &peer.url(), &["--secret", &token]);
    let old_key = std::fs::read_to_string(key_file(&ilm)).unwrap();
    let url = format!("url={}/probe", peer.url());
    let call = |env: &[(&str, &str)]| {
        let ran = ilm.run_with(
            &["command", "call-host", "--using", "h", "--arg", &url],
            env,
        );
        assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    };

    let help = ilm.ok(&["secret-key", "rotate", "--help"]);
    assert!(help.contains("re-seal every stored secret"), "{help}");
    let rotated: serde_json::Value =
        serde_json::from_str(&ilm.ok(&["secret-key", "rotate", "--json"])).unwrap();
    assert_eq!(rotated["secrets"], 1, "{rotated}");
    assert!(rotated.get("new_key").is_none(), "{rotated}");
    let new_key = std::fs::read_to_string(key_file(&ilm)).unwrap();
    assert_ne!(new_key, old_key);
    call(&[]);
    assert_eq!(
        bearer_seen(&peer),
        vec![format!("Bearer {TOKEN}")],
        "the secret still reaches its host"
    );
    let with_old = ilm.run_with(
        &["instance", "show", "h"],
        &[("ILM_SECRET_KEY", old_key.trim())],
    );
    assert_eq!(with_old.code, 1);
    assert!(
        with_old.stderr.contains("is not the key"),
        "{}",
        with_old.stderr
    );
    let audit = ilm.ok(&["audit", "--json"]);
    assert!(audit.contains("secret-key.rotate"), "{audit}");

    // With the key in ILM_SECRET_KEY, the new key is printed once for the operator.
    let ran = ilm.run_with(
        &["secret-key", "rotate"],
        &[("ILM_SECRET_KEY", new_key.trim())],
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let shown = ran
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("new key (shown once): "))
        .unwrap_or_else(|| panic!("no new key shown: {}", ran.stdout))
        .to_owned();
    assert!(ran.stdout.contains("set ILM_SECRET_KEY"), "{}", ran.stdout);
    call(&[("ILM_SECRET_KEY", &shown)]);
    assert_eq!(bearer_seen(&peer).len(), 2);
    assert!(
        !ilm.data_dir.path().join("secret.key.new").exists(),
        "the copy outlived its first use"
    );
}
