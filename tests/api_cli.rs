//! The `ilm` binary: `user`, `role`, `apikey`, `audit` and `serve` as a person uses them.

mod api_common;

use api_common::{client, get};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn ilm(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ilm"))
        .env("ILM_HOME", home)
        .env_remove("ILM_API_URL")
        .env_remove("ILM_LISTEN")
        .args(args)
        .output()
        .expect("run ilm")
}

/// Runs `ilm` and returns its stdout, failing the test on a non-zero exit.
fn ok(home: &Path, args: &[&str]) -> String {
    let out = ilm(home, args);
    assert!(
        out.status.success(),
        "ilm {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

fn json(home: &Path, args: &[&str]) -> Value {
    serde_json::from_str(&ok(home, args)).expect("JSON output")
}

#[test]
fn every_command_has_help() {
    let home = tempfile::tempdir().expect("tempdir");
    let top = ok(home.path(), &["--help"]);
    for command in ["user", "role", "apikey", "audit", "serve"] {
        assert!(top.contains(command), "{command} in --help");
    }
    for args in [
        &["user", "--help"][..],
        &["user", "add", "--help"],
        &["user", "list", "--help"],
        &["user", "show", "--help"],
        &["user", "disable", "--help"],
        &["user", "enable", "--help"],
        &["user", "set-roles", "--help"],
        &["role", "--help"],
        &["role", "add", "--help"],
        &["role", "list", "--help"],
        &["role", "show", "--help"],
        &["apikey", "--help"],
        &["apikey", "create", "--help"],
        &["apikey", "list", "--help"],
        &["apikey", "revoke", "--help"],
        &["audit", "--help"],
        &["serve", "--help"],
    ] {
        assert!(!ok(home.path(), args).is_empty(), "{args:?}");
    }
}

/// A log filter that does not parse, from `--log` or `ILM_LOG`, is a usage error (exit 2)
/// that shows the form, not a silent fall back to warnings only; a valid one runs.
#[test]
fn a_log_filter_that_does_not_parse_is_a_usage_error() {
    let home = tempfile::tempdir().expect("tempdir");
    let refused = ilm(home.path(), &["--log", "ilm=verbose", "user", "list"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("'ilm=verbose' for '--log") && stderr.contains("warn,ilm=debug"),
        "{stderr}"
    );
    let from_env = Command::new(env!("CARGO_BIN_EXE_ilm"))
        .env("ILM_HOME", home.path())
        .env("ILM_LOG", "[ilm")
        .args(["user", "list"])
        .output()
        .expect("run ilm");
    assert_eq!(
        from_env.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&from_env.stderr)
    );
    ok(home.path(), &["--log", "warn,ilm=debug", "user", "list"]);
}

#[test]
fn people_roles_and_keys_from_the_command_line() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    ok(
        h,
        &[
            "role",
            "add",
            "Syncer",
            "--permission",
            "users.read",
            "--permission",
            "roles.read",
        ],
    );
    ok(
        h,
        &[
            "user",
            "add",
            "alice",
            "--first-name",
            "Alice",
            "--last-name",
            "Smith",
            "--email",
            "alice@example.com",
            "--role",
            "Analyst",
        ],
    );
    let alice = json(h, &["user", "show", "alice", "--json"]);
    assert_eq!(alice["name"], "Alice Smith");
    assert_eq!(alice["roles"], serde_json::json!(["Analyst"]));
    ok(h, &["user", "set-roles", "alice", "Syncer", "Read-Only"]);
    ok(h, &["user", "disable", "alice"]);
    let users = json(h, &["user", "list", "--json"]);
    assert_eq!(
        users[1]["roles"],
        serde_json::json!(["Syncer", "Read-Only"])
    );
    assert_eq!(users[1]["disabled"], true);
    ok(h, &["user", "enable", "alice"]);
    assert!(ok(h, &["user", "list"]).contains("alice@example.com"));
    assert!(ok(h, &["role", "show", "Syncer"]).contains("roles.read"));
    assert_eq!(
        json(h, &["role", "list", "--json"])
            .as_array()
            .expect("roles")
            .len(),
        4
    );

    // Mistakes: a clear error and exit 1, or clap's exit 2 for bad usage.
    let out = ilm(h, &["user", "add", "bob", "--role", "Root"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no role \"Root\""));
    assert_eq!(
        ilm(h, &["user", "add", "bob"]).status.code(),
        Some(2),
        "needs --role"
    );
    assert_eq!(
        ilm(h, &["role", "add", "X", "--permission", "all"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        ilm(h, &["user", "set-roles", "alice"]).status.code(),
        Some(2)
    );
    let expiry = ilm(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "alice",
            "--role",
            "Syncer",
            "--expires",
            "90",
        ],
    );
    assert_eq!(expiry.status.code(), Some(2));

    let text = ok(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "alice",
            "--role",
            "Syncer",
            "--expires",
            "90d",
            "--comment",
            "ConductorOne",
        ],
    );
    assert!(text.contains("curl "), "{text}");
    assert!(text.contains("https://localhost:8443/xsoar/user"), "{text}");
    let created = json(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "admin",
            "--role",
            "Administrator",
            "--api-url",
            "https://ilm.example.com/xsoar/",
            "--json",
        ],
    );
    let key = created["key"].as_str().expect("key");
    assert!(created["curl"]
        .as_str()
        .expect("curl")
        .contains(&format!("-H 'Authorization: {key}' ")));
    assert!(created["curl"]
        .as_str()
        .expect("curl")
        .ends_with("'https://ilm.example.com/xsoar/user'"));
    let list = ok(h, &["apikey", "list", "--json"]);
    assert!(!list.contains(key), "the list never shows a secret");
    let list: Value = serde_json::from_str(&list).expect("list");
    assert_eq!(list[0]["comment"], "ConductorOne");
    assert!(list[0]["expires_at"].is_string());
    assert!(list[1]["expires_at"].is_null());
    ok(h, &["apikey", "revoke", "2"]);
    assert_eq!(
        json(h, &["apikey", "list", "--json"])[1]["state"],
        "revoked"
    );
    assert_eq!(ilm(h, &["apikey", "revoke", "2"]).status.code(), Some(1));

    let audit = json(h, &["audit", "--json"]);
    let actions: Vec<_> = audit
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["action"].as_str().expect("action"))
        .collect();
    assert_eq!(
        actions,
        [
            "apikey.revoke",
            "apikey.create",
            "apikey.create",
            "user.enable",
            "user.disable",
            "user.set-roles",
            "user.add",
            "role.add"
        ]
    );
}

/// `ilm serve` as a child process; the address comes from its "listening on" line, and
/// its log (stderr) goes to a file.
struct Serve {
    child: Child,
    addr: String,
    stdout: Vec<String>,
    log: PathBuf,
}

fn serve(home: &Path, extra: &[&str]) -> Serve {
    let log = home.join(format!("serve-{}.log", std::process::id()));
    let stderr = std::fs::File::create(&log).expect("log file");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ilm"))
        .env("ILM_HOME", home)
        .env_remove("ILM_LISTEN")
        .env_remove("ILM_LOG")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("spawn ilm serve");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut stdout = Vec::new();
    let addr = loop {
        let line = lines
            .next()
            .expect("ilm serve ended before listening")
            .expect("line");
        stdout.push(line.clone());
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.split(';').next().expect("address").to_owned();
        }
    };
    Serve {
        child,
        addr,
        stdout,
        log,
    }
}

impl Serve {
    /// SIGTERM, then the exit status: a clean stop is a success.
    fn stop(mut self) -> bool {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(sent.success());
        self.child.wait().expect("wait").success()
    }
}

#[test]
fn serve_over_https_with_a_certificate_made_once() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let created = json(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "admin",
            "--role",
            "Administrator",
            "--json",
        ],
    );
    let key = created["key"].as_str().expect("key").to_owned();

    let first = serve(h, &[]);
    let fingerprint = |s: &Serve| -> String {
        s.stdout
            .iter()
            .find_map(|l| l.strip_prefix("SHA-256 fingerprint "))
            .expect("fingerprint line")
            .to_owned()
    };
    assert!(first
        .stdout
        .iter()
        .any(|l| l.contains("(self-signed, made now)")));
    let printed = fingerprint(&first);
    let reply = get(
        &client(),
        &format!("https://{}/xsoar//users", first.addr),
        Some(&key),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.headers["content-encoding"], "gzip");
    let users: Value = reply.json();
    assert_eq!(users[0]["id"], "admin");
    assert!(first.stop(), "a clean exit on SIGTERM");

    // Once the pair exists, curl's example trusts it.
    let created = json(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "admin",
            "--role",
            "Read-Only",
            "--json",
        ],
    );
    assert!(created["curl"].as_str().expect("curl").contains("--cacert"));

    let second = serve(h, &[]);
    assert!(!second.stdout.iter().any(|l| l.contains("made now")));
    assert_eq!(
        fingerprint(&second),
        printed,
        "the same certificate across restarts"
    );
    assert!(second.stop());
}

#[test]
fn plain_http_only_when_asked() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let created = json(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "admin",
            "--role",
            "Administrator",
            "--json",
        ],
    );
    let key = created["key"].as_str().expect("key");
    let plain = serve(h, &["--insecure-http"]);
    let reply = get(&client(), &format!("http://{}/user", plain.addr), Some(key));
    assert_eq!(reply.status, 200);
    assert!(plain.stop());
    // A certificate and plain HTTP contradict each other; a certificate needs its key.
    assert_eq!(
        ilm(
            h,
            &[
                "serve",
                "--insecure-http",
                "--cert",
                "c.pem",
                "--key",
                "k.pem"
            ]
        )
        .status
        .code(),
        Some(2)
    );
    assert_eq!(ilm(h, &["serve", "--cert", "c.pem"]).status.code(), Some(2));
}

#[test]
fn serve_logs_every_request_and_every_failed_login() {
    let home = tempfile::tempdir().expect("tempdir");
    let h = home.path();
    let created = json(
        h,
        &[
            "apikey",
            "create",
            "--user",
            "admin",
            "--role",
            "Administrator",
            "--json",
        ],
    );
    let key = created["key"].as_str().expect("key");
    let key_id = created["record"]["id"].as_i64().expect("id");
    let server = serve(h, &["--log-format", "json"]);
    let client = client();
    let base = format!("https://{}", server.addr);
    assert_eq!(
        get(&client, &format!("{base}/xsoar//users"), Some(key)).status,
        200
    );
    assert_eq!(
        get(&client, &format!("{base}/roles"), Some(&"AB".repeat(32))).status,
        401
    );
    let log_path = server.log.clone();
    assert!(server.stop());

    let text = std::fs::read_to_string(&log_path).expect("log");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "request" && l["level"] == "INFO")
        .map(|l| &l["fields"])
        .collect();
    assert_eq!(requests.len(), 2, "{text}");
    let served = requests[0];
    assert_eq!(served["method"], "GET");
    assert_eq!(served["path"], "/users");
    assert_eq!(served["status"], 200);
    assert_eq!(served["key_id"], key_id);
    assert_eq!(served["client"], "127.0.0.1");
    assert!(
        served["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{served}"
    );
    let refused = requests[1];
    assert_eq!(
        (&refused["path"], &refused["status"]),
        (&"/roles".into(), &401.into())
    );
    assert!(
        refused.get("key_id").is_none(),
        "no key was accepted: {refused}"
    );

    let failure = lines
        .iter()
        .find(|l| l["fields"]["message"] == "API authentication failed")
        .unwrap_or_else(|| panic!("no failed-login line in {text}"));
    assert_eq!(failure["level"], "WARN");
    assert_eq!(failure["fields"]["address"], "127.0.0.1");
    assert_eq!(failure["fields"]["request"], "GET /roles");
    assert_eq!(failure["fields"]["reason"], "unknown API key");
    // And the audit log has it too.
    let audit = json(h, &["audit", "--json"]);
    assert_eq!(audit[0]["action"], "auth.fail");
    assert_eq!(audit[0]["target"], "127.0.0.1");
}
