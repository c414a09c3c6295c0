//! The sandbox against deliberately hostile plugins (`plugins/testkit/hostile`, and
//! `hostile-wasi`, which imports WASI 0.2): every escape they try is contained, the error
//! names plugin, command and cause, and the next call works.

mod support;

use ilm::plugins::{FailureCause, Host, HostConfig, InstanceSettings, PluginError, WasmApp};
use ilm::store::{Instance, Secret};
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Arc;
use support::{dist, RecordingPeer};

const SECRET: &str = "s3cr3t-token-never-in-the-guest";

fn host(plugins_dir: &Path) -> (tempfile::TempDir, Host) {
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(HostConfig {
        plugins_dir: plugins_dir.to_owned(),
        cache_dir: cache.path().to_owned(),
    })
    .unwrap();
    (cache, host)
}

fn instance(url: &str, allow: &[&str]) -> Instance {
    let mut params = Map::new();
    params.insert("url".into(), json!(url));
    let mut secrets = std::collections::BTreeMap::new();
    secrets.insert("token".into(), Secret::text(SECRET));
    Instance {
        allow_hosts: allow.iter().map(|s| s.to_string()).collect(),
        params,
        secrets,
        ..instance_of("hostile")
    }
}

/// An instance of `plugin` with no parameters and the test limits.
fn instance_of(plugin: &str) -> Instance {
    let mut limits = Map::new();
    limits.insert("deadline_ms".into(), json!(1000));
    limits.insert("memory_mib".into(), json!(64));
    limits.insert("http_timeout_ms".into(), json!(2000));
    Instance {
        name: format!("{plugin}_1"),
        plugin: plugin.into(),
        params: Map::new(),
        secrets: Default::default(),
        allow_hosts: Vec::new(),
        limits,
        enabled: true,
    }
}

struct Hostile {
    _cache: tempfile::TempDir,
    host: Host,
    plugin: &'static str,
    settings: InstanceSettings,
}

impl Hostile {
    fn new(url: &str, allow: &[&str]) -> Self {
        Self::of("hostile", instance(url, allow))
    }

    /// The WASI-importing hostile plugin.
    fn wasi() -> Self {
        Self::of("hostile-wasi", instance_of("hostile-wasi"))
    }

    fn of(plugin: &'static str, instance: Instance) -> Self {
        let (cache, host) = host(&dist("test-plugins"));
        let loaded = host.plugin(plugin).unwrap();
        let settings = InstanceSettings::new(&loaded.manifest, &instance, "{}".into()).unwrap();
        Self {
            _cache: cache,
            host,
            plugin,
            settings,
        }
    }

    fn run(
        &self,
        command: &str,
        args: Value,
    ) -> Result<Result<String, ilm::plugins::AppError>, PluginError> {
        let plugin = self.host.plugin(self.plugin).unwrap();
        WasmApp::new(
            &self.host,
            Arc::clone(&plugin),
            self.settings.clone(),
            command,
        )
        .run_command(command, &args)
    }

    /// After any failure the next call must work.
    fn assert_still_works(&self) {
        let echoed = self
            .run("echo", json!({"n": 1}))
            .expect("echo after a failure")
            .expect("echo result");
        assert!(echoed.contains("\"n\""), "{echoed}");
    }
}

#[test]
fn reading_a_file_gets_nothing() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let out = h.run("read-file", json!({})).unwrap().unwrap();
    assert!(!out.contains("root:"), "the guest read /etc/passwd: {out}");
}

#[test]
fn reading_the_environment_gets_nothing() {
    std::env::set_var("ILM_TEST_HOST_SECRET", SECRET);
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let out = h.run("read-env", json!({})).unwrap().unwrap();
    assert!(
        !out.contains(SECRET) && !out.contains("PATH"),
        "the guest saw the environment: {out}"
    );
}

#[test]
fn opening_a_socket_fails() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let out: Value =
        serde_json::from_str(&h.run("open-socket", json!({})).unwrap().unwrap()).unwrap();
    assert_eq!(out["ok"], json!(false), "{out}");
}

#[test]
fn a_host_off_the_allow_list_is_refused() {
    let peer = RecordingPeer::start("{}");
    let h = Hostile::new(&peer.url(), &[]);
    let other = format!("http://127.0.0.1:{}/", support::free_port());
    let err = h
        .run("call-host", json!({"url": other}))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code, "sandbox-refused");
    assert!(
        err.message.contains("not on this instance's allow-list"),
        "{}",
        err.message
    );
    let err = h
        .run(
            "call-host",
            json!({"url": format!("https://127.0.0.1:{}/", peer.port)}),
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(
        err.code, "sandbox-refused",
        "another scheme on the same host:port is refused"
    );
    assert!(peer.requests().is_empty());
}

#[test]
fn the_token_goes_to_the_instance_host_and_not_to_an_allowed_second_host() {
    let app = RecordingPeer::start("{}");
    let other = RecordingPeer::start("{}");
    let h = Hostile::new(&app.url(), &[&other.url()]);
    for url in [
        format!("{}/users", app.url()),
        format!("{}/collect", other.url()),
    ] {
        h.run("call-host", json!({ "url": url }))
            .unwrap()
            .unwrap_or_else(|e| panic!("{url}: {}", e.message));
    }
    let (to_app, to_other) = (app.requests(), other.requests());
    assert_eq!((to_app.len(), to_other.len()), (1, 1));
    assert_eq!(
        to_app[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert_eq!(
        to_other[0].header("authorization"),
        None,
        "the --allow'ed host got the instance's credentials"
    );
}

#[test]
fn a_url_with_user_info_is_refused() {
    let peer = RecordingPeer::start("{}");
    let h = Hostile::new(&peer.url(), &[]);
    let url = format!("http://intruder:hunter2@127.0.0.1:{}/", peer.port);
    let err = h
        .run("call-host", json!({ "url": url }))
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code, "sandbox-refused");
    assert!(
        err.message.contains("user name or password"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("hunter2"), "{}", err.message);
    assert!(peer.requests().is_empty());
}

#[test]
fn the_metadata_address_is_refused_even_when_allow_listed() {
    let h = Hostile::new("http://127.0.0.1:9", &["http://169.254.169.254"]);
    let err = h
        .run(
            "call-host",
            json!({"url": "http://169.254.169.254/latest/meta-data/"}),
        )
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code, "sandbox-refused");
    assert!(err.message.contains("metadata"), "{}", err.message);
}

#[test]
fn the_host_adds_credentials_the_guest_never_sees() {
    let peer = RecordingPeer::start(r#"{"fine":true}"#);
    let h = Hostile::new(&peer.url(), &[]);
    let out = h
        .run("call-host", json!({"url": format!("{}/probe", peer.url())}))
        .unwrap()
        .unwrap();
    assert!(!out.contains(SECRET), "the secret reached the guest: {out}");
    let seen = peer.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    let params = h.run("echo-params", json!({})).unwrap().unwrap();
    assert!(
        !params.contains(SECRET) && !params.contains("token"),
        "secret params reached the guest: {params}"
    );
}

fn expect_failure(h: &Hostile, command: &str) -> PluginError {
    match h.run(command, json!({})) {
        Err(err) => {
            assert_eq!(err.plugin, "hostile");
            assert_eq!(err.command, command);
            let text = err.to_string();
            assert!(
                text.contains("plugin hostile") && text.contains(command),
                "{text}"
            );
            err
        }
        Ok(out) => panic!("{command} was not stopped: {out:?}"),
    }
}

#[test]
fn an_endless_loop_hits_the_deadline() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let err = expect_failure(&h, "loop-forever");
    assert!(matches!(err.cause, FailureCause::Deadline(1000)), "{err}");
    assert!(err.to_string().contains("1000 ms deadline"), "{err}");
    h.assert_still_works();
}

#[test]
fn growing_memory_to_a_gibibyte_hits_the_cap() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let err = expect_failure(&h, "grow-memory");
    assert!(matches!(err.cause, FailureCause::Memory(64)), "{err}");
    h.assert_still_works();
}

#[test]
fn returning_a_hundred_megabytes_is_contained() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let err = expect_failure(&h, "return-big");
    assert!(matches!(err.cause, FailureCause::Memory(64)), "{err}");
    h.assert_still_works();
}

#[test]
fn a_panic_is_a_trap_that_names_the_plugin() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let err = expect_failure(&h, "panic");
    assert!(matches!(err.cause, FailureCause::Trap(_)), "{err}");
    h.assert_still_works();
}

/// `command` fails with a trap whose message contains `trap`, and the plugin still works.
fn assert_traps(command: &str, trap: &str) {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let err = expect_failure(&h, command);
    assert!(
        matches!(&err.cause, FailureCause::Trap(t) if t.contains(trap)),
        "{err}"
    );
    h.assert_still_works();
}

// Guest memory has no guard pages (the bounds are checked in the compiled code), so these
// two prove the checks are there.
#[test]
fn reading_past_the_end_of_memory_is_a_trap() {
    assert_traps("read-past-memory", "out of bounds memory access");
}

/// A Rust guest keeps its stack at the start of linear memory, growing down: endless
/// recursion runs off the start, below address 0.
#[test]
fn endless_recursion_is_a_trap() {
    assert_traps("recurse-forever", "out of bounds memory access");
}

#[test]
fn there_is_no_clock() {
    let h = Hostile::new("http://127.0.0.1:9", &[]);
    let err = expect_failure(&h, "clock");
    assert!(matches!(err.cause, FailureCause::Trap(_)), "{err}");
    h.assert_still_works();
}

/// Copies a test plugin into a fresh folder, letting the test tamper with the pair.
fn plugin_pair(
    name: &str,
    edit: impl FnOnce(&Path, &Path),
) -> (tempfile::TempDir, Host, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let src = dist("test-plugins");
    let wasm = dir.path().join(format!("{name}.wasm"));
    let toml = dir.path().join(format!("{name}.toml"));
    std::fs::copy(src.join(format!("{name}.wasm")), &wasm).unwrap();
    std::fs::copy(src.join(format!("{name}.toml")), &toml).unwrap();
    edit(&wasm, &toml);
    let (cache, host) = host(dir.path());
    (dir, host, cache)
}

fn load_error(name: &str, edit: impl FnOnce(&Path, &Path)) -> String {
    let (_dir, host, _cache) = plugin_pair(name, edit);
    match host.plugin(name) {
        Ok(_) => panic!("the tampered plugin loaded"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn a_manifest_that_disagrees_with_its_component_is_refused() {
    let err = load_error("memory-app", |_, toml| {
        let text = std::fs::read_to_string(toml).unwrap();
        std::fs::write(toml, text.replacen("version = \"", "version = \"9.", 1)).unwrap();
    });
    assert!(
        err.contains("the manifest and the component disagree"),
        "{err}"
    );
}

#[test]
fn reinstalling_a_plugin_whose_hosts_changed_needs_force_and_shows_the_change() {
    let installed = tempfile::tempdir().unwrap();
    let ilm = support::Ilm::new(installed.path().to_owned());
    let original = dist("test-plugins").join("hostile.wasm");
    let original = original.to_str().unwrap();
    ilm.ok(&["plugin", "install", original]);
    let again = ilm.ok(&["plugin", "install", original]);
    assert!(again.contains("unchanged"), "{again}");

    let (edited, _host, _cache) = plugin_pair("hostile", |_, toml| {
        let text = std::fs::read_to_string(toml).unwrap();
        let widened = text.replace(
            "hosts = [\"{url}\"]",
            "hosts = [\"{url}\", \"https://collector.example.test\"]",
        );
        assert_ne!(text, widened);
        std::fs::write(toml, widened).unwrap();
    });
    let edited = edited.path().join("hostile.wasm");
    let edited = edited.to_str().unwrap();
    let installed_toml = installed.path().join("hostile.toml");

    let refused = ilm.run(&["plugin", "install", edited]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("hosts: + https://collector.example.test"),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    let kept = std::fs::read_to_string(&installed_toml).unwrap();
    assert!(!kept.contains("collector"), "replaced without --force");

    let forced = ilm.ok(&["plugin", "install", edited, "--force"]);
    assert!(
        forced.contains("hosts: + https://collector.example.test"),
        "{forced}"
    );
    let now = std::fs::read_to_string(&installed_toml).unwrap();
    assert!(now.contains("collector"), "{now}");
}

#[test]
fn an_unknown_wit_version_is_refused() {
    let err = load_error("memory-app", |_, toml| {
        let text = std::fs::read_to_string(toml).unwrap();
        std::fs::write(toml, text.replace("wit = \"0.1.0\"", "wit = \"0.7.0\"")).unwrap();
    });
    assert!(
        err.contains("ilm:plugin@0.7.0") && err.contains("does not support"),
        "{err}"
    );
}

#[test]
fn a_file_that_is_not_wasm_or_is_truncated_is_refused() {
    let err = load_error("memory-app", |wasm, _| {
        std::fs::write(wasm, b"#!/bin/sh\necho hi\n").unwrap()
    });
    assert!(
        err.contains("is not a valid WebAssembly component"),
        "{err}"
    );
    let err = load_error("memory-app", |wasm, _| {
        let bytes = std::fs::read(wasm).unwrap();
        std::fs::write(wasm, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert!(
        err.contains("is not a valid WebAssembly component"),
        "{err}"
    );
}

/// The files in a compile cache folder (none when it was never made).
fn cached_files(cache: &Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(cache) {
        Ok(entries) => entries.map(|e| e.unwrap().path()).collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_component_with_imports_not_granted_is_refused_naming_each_and_caching_nothing() {
    let (_dir, host, cache) = plugin_pair("memory-app", |wasm, _| {
        let imports = [
            "wasi:filesystem/preopens@0.2.0",
            "wasi:http/outgoing-handler@0.2.0",
            "wasi:cli/environment@0.3.0",
            "evil:backdoor/shell",
        ]
        .map(|name| format!("(import \"{name}\" (instance (export \"f\" (func))))"));
        std::fs::write(wasm, format!("(component {})", imports.join(" "))).unwrap();
    });
    let err = format!("{:#}", host.plugin("memory-app").err().expect("refused"));
    for expected in [
        "wasi:filesystem/preopens@0.2.0: not declared in the manifest's [wasi] imports",
        "wasi:http/outgoing-handler@0.2.0: not a capability this host provides",
        "wasi:cli/environment@0.3.0: this host provides WASI 0.2 only",
        "evil:backdoor/shell: not a capability this host provides",
        "[wasi] imports = [...]",
    ] {
        assert!(err.contains(expected), "{expected:?} missing from: {err}");
    }
    assert_eq!(cached_files(cache.path()), Vec::<std::path::PathBuf>::new());
}

#[test]
fn a_plugin_whose_component_and_manifest_disagree_leaves_nothing_in_the_cache() {
    let (_dir, host, cache) = plugin_pair("memory-app", |_, toml| {
        let text = std::fs::read_to_string(toml).unwrap();
        std::fs::write(toml, text.replacen("version = \"", "version = \"9.", 1)).unwrap();
    });
    assert!(host.plugin("memory-app").is_err());
    assert!(cached_files(cache.path()).is_empty());
    // An accepted plugin is cached.
    let (_dir, host, cache) = plugin_pair("memory-app", |_, _| {});
    host.plugin("memory-app").unwrap();
    assert_eq!(cached_files(cache.path()).len(), 1);
}

#[test]
fn installing_a_wasi_plugin_that_does_not_declare_its_imports_is_refused_and_caches_nothing() {
    let (source, _host, _cache) = plugin_pair("hostile-wasi", |_, toml| {
        let text = std::fs::read_to_string(toml).unwrap();
        let start = text.find("[wasi]").unwrap();
        let end = text[start..].find("]\n\n").unwrap() + start + 3;
        std::fs::write(toml, format!("{}{}", &text[..start], &text[end..])).unwrap();
    });
    let installed = tempfile::tempdir().unwrap();
    let ilm = support::Ilm::new(installed.path().to_owned());
    let wasm = source.path().join("hostile-wasi.wasm");
    let refused = ilm.run(&["plugin", "install", wasm.to_str().unwrap()]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    // Every undeclared import is named, not just the first.
    for name in [
        "wasi:cli/environment",
        "wasi:filesystem/preopens",
        "wasi:sockets/tcp",
        "wasi:io/streams",
    ] {
        assert!(
            refused.stderr.contains(&format!("{name}@0.2.")),
            "{name} missing from: {}",
            refused.stderr
        );
    }
    assert!(cached_files(&ilm.data_dir.path().join("cache")).is_empty());
    assert!(!installed.path().join("hostile-wasi.wasm").exists());

    let ok = ilm.ok(&[
        "plugin",
        "install",
        dist("test-plugins")
            .join("hostile-wasi.wasm")
            .to_str()
            .unwrap(),
    ]);
    assert!(ok.contains("installed hostile-wasi"), "{ok}");
    assert_eq!(cached_files(&ilm.data_dir.path().join("cache")).len(), 1);
}

#[test]
fn a_wasi_plugin_reaches_no_file_environment_socket_or_name() {
    std::env::set_var("ILM_TEST_HOST_SECRET", SECRET);
    let h = Hostile::wasi();
    let run = |command: &str, args: Value| -> Value {
        let out = h.run(command, args).unwrap().unwrap();
        serde_json::from_str(&out).unwrap()
    };

    let file = run("read-file", json!({}));
    assert_eq!(file["ok"], json!(false), "{file}");
    let dir = run("read-dir", json!({}));
    assert_eq!(
        (&dir["ok"], &dir["preopens"]),
        (&json!(false), &json!([])),
        "{dir}"
    );

    let env = run("read-env", json!({}));
    assert_eq!(env, json!({"vars": [], "args": []}));

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let socket = run("open-socket", json!({ "addr": addr }));
    assert_eq!(socket["ok"], json!(false), "{socket}");
    assert!(
        socket["error"].as_str().unwrap().contains("access-denied"),
        "{socket}"
    );
    let accepted = listener.accept();
    assert!(
        matches!(&accepted, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the listener got a connection: {accepted:?}"
    );

    let lookup = run("resolve-name", json!({"name": "localhost"}));
    assert_eq!(lookup["ok"], json!(false), "{lookup}");
    // WASI's answer to a lookup the host does not allow.
    assert!(
        lookup["error"]
            .as_str()
            .unwrap()
            .contains("permanent-resolver-failure"),
        "{lookup}"
    );

    // What WASI does grant: the clock and the operating system's randomness.
    let granted = run("clock-and-random", json!({}));
    assert!(
        granted["now"].as_u64().unwrap() > 1_700_000_000,
        "{granted}"
    );
    let random = granted["random"].as_array().unwrap();
    assert_eq!(random.len(), 16);
    assert!(random.iter().any(|b| b != &json!(0)), "{granted}");
}

#[test]
fn a_wasi_plugin_sleeping_on_the_clock_wakes_by_its_deadline() {
    let h = Hostile::wasi();
    // Blocked in poll, the guest runs no code the deadline could stop: the host cuts its
    // hour-long wait to the call's second. It then either returns or is stopped, depending
    // on whether the epoch ticker has reached the deadline when it wakes.
    match h.run("sleep", json!({})) {
        Ok(out) => assert_eq!(out.unwrap(), "\"woke up\""),
        Err(err) => assert!(matches!(err.cause, FailureCause::Deadline(1000)), "{err}"),
    }
    let granted = h.run("clock-and-random", json!({})).unwrap();
    assert!(granted.is_ok(), "the next call failed: {granted:?}");
}

/// A tracing writer the test reads back.
#[derive(Clone, Default)]
struct CapturedLog(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_wasi_plugins_stderr_goes_to_its_log_line_by_line() {
    let h = Hostile::wasi();
    let log = CapturedLog::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, || {
        h.run("write-stderr", json!({"line": "hostile says hello"}))
    });
    assert_eq!(out.unwrap().unwrap(), "\"written\"");
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("stream=\"stderr\""))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("hostile says hello") && lines[0].contains("plugin=hostile-wasi"),
        "{text}"
    );
    assert!(
        lines[1].contains("unterminated tail"),
        "the last line was lost: {text}"
    );
}
