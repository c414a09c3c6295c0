//! Shared helpers for the integration tests: where the built plugins are, real servers
//! started on loopback, and a tiny HTTP peer that records what it receives.
#![allow(dead_code)] // each test binary uses its own subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub mod double_process;
pub mod okta;
pub mod okta_instance;
pub mod postgres;
pub mod servicenow;
pub mod slack;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `dist/<kind>`, built by `scripts/build-plugins`.
pub fn dist(kind: &str) -> PathBuf {
    let dir = repo_root().join("dist").join(kind);
    assert!(
        dir.is_dir(),
        "{} is missing: run scripts/build-plugins first (the README's test command does)",
        dir.display()
    );
    dir
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on port {port} within 20 s");
}

/// A running process, killed when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// PyPI's scim2-server on loopback with tenants `github` and `slack`, installed by
/// `scripts/install-test-services`.
pub fn scim2_server(token: &str) -> Server {
    start_scim2_server(token, &[])
}

/// scim2-server answering at most `max_results` resources a page (its service provider
/// configuration's `filter.maxResults`), so a client must read page after page.
pub fn scim2_server_with_page_cap(token: &str, max_results: u32) -> Server {
    let config = tempfile::NamedTempFile::new().expect("a temporary file");
    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": max_results},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [
            {"type": "oauthbearertoken", "name": "Bearer", "description": "a static token"}
        ],
    });
    std::fs::write(config.path(), body.to_string()).expect("writing the SCIM configuration");
    let path = config.path().to_string_lossy().into_owned();
    let server = start_scim2_server(token, &["--service-provider-config", &path]);
    // Read at start-up: the server listens, so the file may go.
    drop(config);
    server
}

fn start_scim2_server(token: &str, extra: &[&str]) -> Server {
    let bin = repo_root().join(".services/venv/bin/scim2-server");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/install-test-services",
        bin.display()
    );
    let port = free_port();
    let mut child = Command::new(bin)
        .args([
            "--hostname",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--bearer-token",
            token,
        ])
        .args(["--tenant", "github", "--tenant", "slack"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting scim2-server");
    wait_for_port(port, &mut child, "scim2-server");
    Server { child, port }
}

/// Debian's chromedriver (package `chromium-driver`, installed by
/// `scripts/install-test-services`) on a free loopback port; it starts headless Chromium
/// for each WebDriver session.
pub fn chromedriver() -> Server {
    let port = free_port();
    let mut child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromedriver: install it with scripts/install-test-services");
    wait_for_port(port, &mut child, "chromedriver");
    Server { child, port }
}

/// One request as the recording peer saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub request_line: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An HTTP/1.1 peer on loopback that answers every request with `body` and records the
/// request lines and headers.
pub struct RecordingPeer {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

impl RecordingPeer {
    pub fn start(body: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                serve_one(stream, body, &record);
            }
        });
        Self { port, seen }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A proxy on loopback in front of a real server, one request per connection, for the
/// requests starting with `prefix` (e.g. "POST /"): it answers the first `count` with 503
/// (an app down for a moment, then back) and [`Hold`]s the others before forwarding them.
/// Everything else passes straight through.
pub struct FailingProxy {
    pub port: u16,
    pub failed: Arc<Mutex<usize>>,
    held: Arc<Held>,
}

/// What the proxy does with a matching request it does not fail.
#[derive(Clone, Copy)]
pub enum Hold {
    /// Waits this long (a slow app).
    For(Duration),
    /// Waits until this many matching requests wait together (or 10 s passed), so a test
    /// can tell requests sent at once from requests sent in turn.
    Together(usize),
}

/// The requests a [`Hold::Together`] holds now, and the most it ever held at once.
#[derive(Default)]
struct Held {
    counts: Mutex<HeldCounts>,
    changed: std::sync::Condvar,
}

#[derive(Default)]
struct HeldCounts {
    now: usize,
    most: usize,
}

impl Held {
    fn wait(&self, hold: Hold) {
        let wanted = match hold {
            Hold::For(delay) => return std::thread::sleep(delay),
            Hold::Together(wanted) => wanted,
        };
        let mut counts = self.counts.lock().unwrap();
        counts.now += 1;
        counts.most = counts.most.max(counts.now);
        self.changed.notify_all();
        let (mut counts, _) = self
            .changed
            .wait_timeout_while(counts, Duration::from_secs(10), |c| c.most < wanted)
            .unwrap();
        counts.now -= 1;
    }
}

impl FailingProxy {
    pub fn start(upstream: u16, prefix: &'static str, count: usize) -> Self {
        Self::holding(upstream, prefix, count, Hold::For(Duration::ZERO))
    }

    pub fn holding(upstream: u16, prefix: &'static str, count: usize, hold: Hold) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let failed = Arc::new(Mutex::new(0));
        let held = Arc::new(Held::default());
        let (counter, holder) = (failed.clone(), held.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (counter, holder) = (counter.clone(), holder.clone());
                std::thread::spawn(move || {
                    proxy_one(stream, upstream, (prefix, count), &counter, (&holder, hold))
                });
            }
        });
        Self { port, failed, held }
    }

    /// How many requests it failed so far.
    pub fn failed(&self) -> usize {
        *self.failed.lock().unwrap()
    }

    /// The most matching requests a [`Hold::Together`] held at once.
    pub fn most_held_at_once(&self) -> usize {
        self.held.counts.lock().unwrap().most
    }
}

fn proxy_one(
    mut client: TcpStream,
    upstream: u16,
    (prefix, count): (&str, usize),
    failed: &Mutex<usize>,
    (held, hold): (&Held, Hold),
) -> Option<()> {
    let mut reader = BufReader::new(client.try_clone().ok()?);
    let mut request = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        if line.is_empty() {
            return None;
        }
        let (name, value) = line.split_once(':').unwrap_or_default();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse().unwrap_or(0);
        }
        if name.eq_ignore_ascii_case("connection") {
            continue;
        }
        if line == "\r\n" {
            // One request per connection, so each one is counted.
            request.extend_from_slice(b"Connection: close\r\n\r\n");
            break;
        }
        request.extend_from_slice(line.as_bytes());
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    request.extend_from_slice(&body);
    let matches = request.starts_with(prefix.as_bytes());
    let fail = matches && {
        let mut failed = failed.lock().unwrap();
        let fail = *failed < count;
        *failed += usize::from(fail);
        fail
    };
    if fail {
        let body = r#"{"detail": "the service is unavailable for a moment"}"#;
        let response = format!(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        return client.write_all(response.as_bytes()).ok();
    }
    if matches {
        held.wait(hold);
    }
    let mut server = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    server.write_all(&request).ok()?;
    std::io::copy(&mut server, &mut client).ok()?;
    Some(())
}

/// Answers one request with `body`, recording it first: a test that reads the record once
/// its call returned must find the request there.
fn serve_one(mut stream: TcpStream, body: &str, record: &Mutex<Vec<Seen>>) -> Option<()> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let mut sink = vec![0; length];
    reader.read_exact(&mut sink).ok()?;
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    record.lock().unwrap().push(Seen {
        request_line: request_line.trim_end().to_owned(),
        headers,
    });
    stream.write_all(response.as_bytes()).ok()
}

/// A copy of the shipped playbooks folder whose config.toml has each `(old, new)` text
/// replaced; every `old` must be there, so a renamed input fails the test, not the edit.
pub fn shipped_playbooks_with(edits: &[(&str, &str)]) -> tempfile::TempDir {
    fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).expect("creating a playbooks folder");
        for entry in std::fs::read_dir(from)
            .expect("reading playbooks")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                copy_dir(&path, &to.join(entry.file_name()));
            } else {
                std::fs::copy(&path, to.join(entry.file_name())).expect("copying a playbook");
            }
        }
    }
    let books = tempfile::tempdir().expect("tempdir");
    copy_dir(&repo_root().join("playbooks"), books.path());
    let file = books.path().join("config.toml");
    let mut config = std::fs::read_to_string(&file).expect("reading config.toml");
    for (old, new) in edits {
        assert!(config.contains(old), "config.toml has no {old:?}");
        config = config.replace(old, new);
    }
    std::fs::write(&file, config).expect("writing config.toml");
    books
}

/// The `ilm` binary with its own data directory.
pub struct Ilm {
    pub data_dir: tempfile::TempDir,
    /// `ILM_DATABASE`: a PostgreSQL database, or none for SQLite in the data directory.
    pub database: Option<String>,
    pub plugins_dir: PathBuf,
    pub playbooks_dir: PathBuf,
    /// The database made for this `Ilm` under `ILM_TEST_POSTGRES`, dropped with it.
    _scratch: Option<postgres::ScratchDatabase>,
}

pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ilm {
    pub fn new(plugins_dir: PathBuf) -> Self {
        let scratch = postgres::from_environment();
        Self {
            data_dir: tempfile::tempdir().expect("tempdir"),
            database: scratch.as_ref().map(|db| db.url.clone()),
            plugins_dir,
            playbooks_dir: repo_root().join("playbooks"),
            _scratch: scratch,
        }
    }

    pub fn run(&self, args: &[&str]) -> Ran {
        self.run_with(args, &[])
    }

    /// The command for `ilm args` on this data directory, with extra environment variables.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_ilm"));
        command
            .args(args)
            .env("ILM_HOME", self.data_dir.path())
            .env("ILM_PLUGINS_DIR", &self.plugins_dir)
            .env("ILM_PLAYBOOKS_DIR", &self.playbooks_dir)
            .env_remove("ILM_LOG")
            .env_remove("ILM_DATABASE");
        if let Some(database) = &self.database {
            command.env("ILM_DATABASE", database);
        }
        command.envs(env.iter().copied());
        command
    }

    /// Runs with extra environment variables.
    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Ran {
        let out = self.command(args, env).output().expect("running ilm");
        Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs IAM command `command` on `instance` with `profile` and NAME=VALUE `args`;
    /// returns the exit code and the vendor result.
    pub fn vendor(
        &self,
        command: &str,
        instance: &str,
        profile: &serde_json::Value,
        args: &[&str],
    ) -> (i32, serde_json::Value) {
        let (code, vendor, _) = self.vendor_run(command, instance, profile, args);
        (code, vendor)
    }

    /// [`Ilm::vendor`], with the command's stderr.
    pub fn vendor_run(
        &self,
        command: &str,
        instance: &str,
        profile: &serde_json::Value,
        args: &[&str],
    ) -> (i32, serde_json::Value, String) {
        let profile = format!("user-profile={profile}");
        let mut argv = vec!["command", command, "--using", instance, "--arg", &profile];
        for arg in args {
            argv.extend(["--arg", arg]);
        }
        argv.push("--json");
        let ran = self.run(&argv);
        let out: serde_json::Value = serde_json::from_str(&ran.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}\n{}", ran.stdout, ran.stderr));
        (ran.code, out["IAM"]["Vendor"][0].clone(), ran.stderr)
    }

    /// `ilm incident create --type KIND --fields FIELDS --json`: the created incident.
    pub fn create_incident(&self, kind: &str, fields: &serde_json::Value) -> serde_json::Value {
        let out = self.ok(&[
            "incident",
            "create",
            "--type",
            kind,
            "--fields",
            &fields.to_string(),
            "--json",
        ]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("incident JSON ({e}): {out}"))
    }

    /// Runs and expects exit code 0.
    pub fn ok(&self, args: &[&str]) -> String {
        let ran = self.run(args);
        assert_eq!(
            ran.code, 0,
            "ilm {args:?} failed:\n{}\n{}",
            ran.stdout, ran.stderr
        );
        ran.stdout
    }
}

/// PyPI's aiosmtpd on loopback, writing every message into a Maildir.
pub struct SmtpSink {
    pub server: Server,
    pub maildir: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// aiosmtpd with more options, e.g. `--tlscert`/`--tlskey` (STARTTLS, then required)
    /// or `--smtpscert`/`--smtpskey` (TLS from the first byte).
    pub fn start_with(options: &[&std::ffi::OsStr]) -> Self {
        let python = repo_root().join(".services/venv/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run scripts/install-test-services",
            python.display()
        );
        let maildir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut child = Command::new(python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .args(options)
            .arg(maildir.path().join("Maildir"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting aiosmtpd");
        wait_for_port(port, &mut child, "aiosmtpd");
        Self {
            server: Server { child, port },
            maildir,
        }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.server.port)
    }

    /// The raw messages received so far.
    pub fn messages(&self) -> Vec<String> {
        let dir = self.maildir.path().join("Maildir/new");
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .collect()
    }
}

/// The Samba AD DC of `scripts/samba-template`: base DN, administrator, password.
pub const SAMBA_BASE_DN: &str = "DC=example,DC=test";
pub const SAMBA_ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=example,DC=test";
pub const SAMBA_ADMIN_PASSWORD: &str = "Passw0rd!Admin";

/// Serializes the Samba users of this test binary; [`SambaDc::start`] also takes a file
/// lock, because test binaries run in parallel too and Samba's ports are fixed.
static SAMBA_IN_THIS_PROCESS: Mutex<()> = Mutex::new(());

/// A fresh Samba AD DC on 127.0.0.1 (LDAP 389, LDAPS 636 with the own CA of
/// `.services/samba-tls`), copied from the provisioned template and running as one
/// process with only the LDAP service. Killed when dropped; only one runs at a time.
pub struct SambaDc {
    child: Child,
    pub dir: tempfile::TempDir,
    pub tls_dir: PathBuf,
    /// From spawning Samba to LDAPS accepting connections.
    pub ready_after: Duration,
    _process_lock: std::sync::MutexGuard<'static, ()>,
    _machine_lock: std::fs::File,
}

impl SambaDc {
    pub fn start() -> Self {
        let process_lock = SAMBA_IN_THIS_PROCESS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let machine_lock = std::fs::File::create("/tmp/ilm-test-samba.lock")
            .and_then(|f| f.lock().map(|()| f))
            .expect("locking /tmp/ilm-test-samba.lock");
        // Provisions once (a no-op afterwards); under the lock, so only one test does it.
        let made = Command::new(repo_root().join("scripts/samba-template"))
            .output()
            .expect("running scripts/samba-template");
        assert!(
            made.status.success(),
            "scripts/samba-template failed (run scripts/install-test-services first):\n{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let template = PathBuf::from(String::from_utf8_lossy(&made.stdout).trim());
        let tls_dir = repo_root().join(".services/samba-tls");
        stop_stale_samba();
        assert!(
            TcpStream::connect(("127.0.0.1", 636)).is_err(),
            "something already listens on 127.0.0.1:636 (a Samba left running?); stop it first"
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(template.join("."))
            .arg(dir.path())
            .status()
            .expect("running cp");
        assert!(copied.success(), "copying the Samba template failed");
        let conf = dir.path().join("etc/smb.conf");
        let text = std::fs::read_to_string(&conf).expect("reading smb.conf");
        let template_text = template.to_string_lossy();
        let here = dir.path().to_string_lossy();
        let rewritten = text.replace(&*template_text, &here);
        // Samba must never run on the shared template itself.
        assert!(
            !rewritten.contains("samba-template"),
            "smb.conf of the copy still names the template ({template_text}); \
             remove .services/samba-template and run scripts/samba-template again"
        );
        std::fs::write(&conf, rewritten).expect("writing smb.conf");

        let tls = |name: &str| tls_dir.join(name).to_string_lossy().into_owned();
        let log = std::fs::File::create(dir.path().join("samba.out")).expect("samba log");
        let started = Instant::now();
        let mut child = Command::new("samba")
            .args(["-i", "-M", "single", "-d1", "-s"])
            .arg(&conf)
            .arg("--option=server services=ldap")
            .arg(format!("--option=tls keyfile={}", tls("key.pem")))
            .arg(format!("--option=tls certfile={}", tls("cert.pem")))
            .arg(format!("--option=tls cafile={}", tls("ca.pem")))
            // Lets the tests show that the host, not Samba, keeps passwords off plain LDAP.
            .arg("--option=ldap server require strong auth=no")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("samba log"))
            .stderr(log)
            .spawn()
            .expect("starting samba (run scripts/install-test-services)");
        // A test process that is killed never drops its Samba; the next one stops it.
        let _ = std::fs::write(SAMBA_PID_FILE, child.id().to_string());
        wait_for_port(636, &mut child, "samba");
        Self {
            child,
            dir,
            tls_dir,
            ready_after: started.elapsed(),
            _process_lock: process_lock,
            _machine_lock: machine_lock,
        }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.tls_dir.join("ca.pem")
    }
}

/// Where the running test Samba's process id is kept (under the machine lock).
const SAMBA_PID_FILE: &str = "/tmp/ilm-test-samba.pid";

/// Stops a Samba that a killed test process left running, if that process id is still a
/// Samba.
fn stop_stale_samba() {
    let Some(pid) = std::fs::read_to_string(SAMBA_PID_FILE)
        .ok()
        .and_then(|text| text.trim().parse::<u32>().ok())
    else {
        return;
    };
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    // Samba retitles itself ("samba: root process").
    if String::from_utf8_lossy(&cmdline).starts_with("samba") {
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", 636)).is_ok()
            && start.elapsed() < Duration::from_secs(10)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    let _ = std::fs::remove_file(SAMBA_PID_FILE);
}

impl Drop for SambaDc {
    fn drop(&mut self) {
        // Before the locks (dropped after this) let the next Samba start.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(SAMBA_PID_FILE);
    }
}

/// A CA and a server certificate for 127.0.0.1 (openssl), for TLS servers in tests.
pub struct TestCa {
    pub dir: tempfile::TempDir,
}

impl TestCa {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().display().to_string();
        let script = format!(
            "set -e; cd {d}
             openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=ilm-test-ca 2>/dev/null
             openssl req -newkey rsa:2048 -nodes -keyout key.pem -out req.csr -subj /CN=127.0.0.1 2>/dev/null
             printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
             openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out cert.pem -days 2 -extfile san.ext 2>/dev/null"
        );
        let status = Command::new("bash")
            .args(["-c", &script])
            .status()
            .expect("openssl");
        assert!(status.success(), "creating the test CA failed");
        Self { dir }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A Workday report served over HTTPS with Basic auth (tests/support/serve_report.py).
pub struct ReportServer {
    pub server: Server,
    pub ca: TestCa,
    pub report: tempfile::NamedTempFile,
}

impl ReportServer {
    pub fn start(user: &str, password: &str) -> Self {
        let ca = TestCa::new();
        let report = tempfile::NamedTempFile::new().expect("report file");
        std::fs::write(report.path(), "{\"Report_Entry\": []}").expect("write report");
        let port = free_port();
        let script = repo_root().join("tests/support/serve_report.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args([
                &port.to_string(),
                &report.path().display().to_string(),
                user,
                password,
            ])
            .arg(ca.path("cert.pem"))
            .arg(ca.path("key.pem"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the report server");
        wait_for_port(port, &mut child, "the report server");
        Self {
            server: Server { child, port },
            ca,
            report,
        }
    }

    pub fn url(&self) -> String {
        format!(
            "https://127.0.0.1:{}/ccx/service/customreport2/acme/ISU/Workers?format=json",
            self.server.port
        )
    }

    /// Replaces the report's rows.
    pub fn set_rows(&self, rows: &serde_json::Value) {
        let body = serde_json::json!({ "Report_Entry": rows });
        std::fs::write(self.report.path(), body.to_string()).expect("write report");
    }

    /// Makes the server break off after the first `bytes` of the report (`None`: send it
    /// whole), having announced its whole length.
    pub fn cut_after(&self, bytes: Option<usize>) {
        let mut cut = self.report.path().as_os_str().to_owned();
        cut.push(".cut");
        match bytes {
            Some(bytes) => std::fs::write(&cut, bytes.to_string()).expect("write the cut"),
            None => {
                let _ = std::fs::remove_file(&cut);
            }
        }
    }
}

impl Ilm {
    /// A GitHub instance on a scim2-server's `github` tenant.
    pub fn add_github(&self, name: &str, scim_port: u16, token: &str) {
        let url = format!("url=http://127.0.0.1:{scim_port}");
        let token = format!("token={token}");
        self.ok(&[
            "instance",
            "add",
            name,
            "--plugin",
            "github",
            "--param",
            &url,
            "--param",
            "org=acme",
            "--param",
            "scim-path=github/v2",
            "--secret",
            &token,
        ]);
    }

    /// A Workday instance reading `report` (user `isu`, password `pw`, its CA trusted), with
    /// `params` (NAME=VALUE) on top.
    pub fn add_workday(&self, name: &str, report: &ReportServer, params: &[&str]) {
        let url = format!("url={}", report.url());
        let ca = report.ca.path("ca.pem").display().to_string();
        let mut args = vec![
            "instance", "add", name, "--plugin", "workday", "--param", &url,
        ];
        for p in params {
            args.extend(["--param", p]);
        }
        args.extend([
            "--secret",
            "username=isu",
            "--secret",
            "password=pw",
            "--ca-file",
            &ca,
        ]);
        self.ok(&args);
    }

    /// An Active Directory instance on the test Samba, trusting `ca_file`.
    pub fn add_active_directory(&self, name: &str, ca_file: &std::path::Path) {
        let base = format!("base-dn={SAMBA_BASE_DN}");
        let bind = format!("bind-dn={SAMBA_ADMIN_DN}");
        let ca = format!("ca-file={}", ca_file.display());
        let password = format!("bind-password={SAMBA_ADMIN_PASSWORD}");
        self.ok(&[
            "instance",
            "add",
            name,
            "--plugin",
            "active-directory",
            "--param",
            "url=ldaps://127.0.0.1:636",
            "--param",
            &base,
            "--param",
            &bind,
            "--param",
            &ca,
            "--param",
            "group-cn=Terminated Users",
            "--secret",
            &password,
        ]);
    }
}

/// The users scim2-server holds in its `github` tenant, filtered by `filter` if given.
pub fn scim_users(port: u16, token: &str, filter: Option<&str>) -> Vec<serde_json::Value> {
    scim_tenant_users(port, token, "github", filter)
}

/// The users scim2-server holds in `tenant` (`github` or `slack`), filtered by `filter` if
/// given.
pub fn scim_tenant_users(
    port: u16,
    token: &str,
    tenant: &str,
    filter: Option<&str>,
) -> Vec<serde_json::Value> {
    let mut request = reqwest::blocking::Client::new()
        .get(format!("http://127.0.0.1:{port}/{tenant}/v2/Users"))
        .query(&[("count", "10000")])
        .bearer_auth(token);
    if let Some(filter) = filter {
        request = request.query(&[("filter", filter)]);
    }
    let body: serde_json::Value = request
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .map(|t| serde_json::from_str(&t).expect("a SCIM list response"))
        .expect("listing SCIM users");
    body["Resources"].as_array().cloned().unwrap_or_default()
}

/// Runs incident `id`, with the process killed (SIGKILL, by the runtime's test-only fault
/// injection) right after journaled call `kill` acted when given, then resumes it as a
/// restarted runtime would. Asserts that the kill happened and that the incident ends
/// closed.
pub fn run_killed_then_resumed(ilm: &Ilm, id: &str, kill: Option<usize>, env: &[(&str, &str)]) {
    let status = |ilm: &Ilm| -> serde_json::Value {
        let shown: serde_json::Value =
            serde_json::from_str(&ilm.ok(&["incident", "show", id, "--json"])).expect("json");
        shown["incident"]["status"].clone()
    };
    if let Some(kill) = kill {
        let call = kill.to_string();
        let mut killed_env = env.to_vec();
        killed_env.push(("ILM_FAULT_KILL_AFTER_CALL", &call));
        let killed = ilm.run_with(&["incident", "run", id], &killed_env);
        assert_eq!(
            killed.code, -1,
            "incident {id} must die by signal after call {kill}: {}",
            killed.stderr
        );
        // A kill right after the playbook closed its incident leaves nothing to resume.
        if status(ilm) == "closed" {
            return;
        }
    }
    let ran = ilm.run_with(&["incident", "run", id], env);
    assert_eq!(
        ran.code, 0,
        "incident {id} (killed after call {kill:?}): {}\n{}",
        ran.stdout, ran.stderr
    );
    assert_eq!(status(ilm), "closed", "incident {id} after call {kill:?}");
}

/// The `Message-ID` header of a raw message.
pub fn message_id(message: &str) -> Option<String> {
    message.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("message-id")
            .then(|| value.trim().to_owned())
    })
}

/// How many journaled calls incident `id` made.
pub fn journal_len(ilm: &Ilm, id: &str) -> usize {
    let shown: serde_json::Value =
        serde_json::from_str(&ilm.ok(&["incident", "show", id, "--json"])).expect("json");
    shown["journal"].as_array().map_or(0, Vec::len)
}

/// Asserts `mails` (one entry per copy received, comparable by Message-ID) is one mail,
/// sent once or sent again after a crash as the same message; returns whether it was
/// sent again.
pub fn assert_one_mail<T: PartialEq + std::fmt::Debug>(mails: &[T], what: &str) -> bool {
    assert!(!mails.is_empty(), "no {what}");
    assert!(
        mails.iter().all(|m| *m == mails[0]),
        "a {what} sent again carries the same Message-ID: {mails:?}"
    );
    mails.len() > 1
}

impl Ilm {
    /// Sets list `name` (e.g. app-provisioning-settings) to `body`.
    pub fn set_list(&self, name: &str, body: &serde_json::Value) {
        self.ok(&["list", "set", name, "--body", &body.to_string()]);
    }
}
