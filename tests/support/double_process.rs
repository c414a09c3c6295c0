//! A test double's process, shared by a whole test binary: a Python script that prints
//! `READY <details>` once it listens and exits when its standard input closes. The input is
//! held here for the life of the test binary, so the double stops when the binary exits,
//! even when it is killed.

use super::repo_root;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::Duration;

pub struct DoubleProcess {
    /// What the script printed after `READY `.
    pub ready: String,
    /// The script's standard error, with whatever it logs (under cargo's test temporary
    /// folder, named after the double and the test binary).
    pub log: PathBuf,
    _child: Mutex<Child>,
    _stdin: Mutex<ChildStdin>,
}

impl DoubleProcess {
    /// Starts `python3 tests/support/<script> <args> --exit-on-stdin-eof` and waits up to
    /// `wait` for its `READY` line. `args` gets the log's path, for a script that passes it
    /// on to a process of its own.
    pub fn start(
        name: &str,
        script: &str,
        args: impl FnOnce(&Path) -> Vec<String>,
        wait: Duration,
    ) -> Result<Self, String> {
        let stem = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".into());
        let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{stem}.log"));
        let log_file =
            std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/support").join(script))
            .args(args(&log))
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("starting python3 {script}: {e}"))?;
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(ready) = line.trim().strip_prefix("READY ") {
                    let _ = ready_tx.send(ready.to_owned());
                }
            }
        });
        match ready_rx.recv_timeout(wait) {
            Ok(ready) => Ok(Self {
                ready,
                log,
                _child: Mutex::new(child),
                _stdin: Mutex::new(stdin),
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(format!(
                    "{script} did not start within {} s; its log ({}):\n{}",
                    wait.as_secs(),
                    log.display(),
                    std::fs::read_to_string(&log).unwrap_or_default()
                ))
            }
        }
    }
}

/// Sends a request to a double's control API (`/_double/<path>`, already addressed and
/// authenticated) with an optional JSON body; its answer's text. Panics with the double's
/// answer unless it succeeds.
pub fn control(
    request: reqwest::blocking::RequestBuilder,
    method: &reqwest::Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> String {
    let request = match body {
        Some(body) => request
            .header("Content-Type", "application/json")
            .body(body.to_string()),
        None => request,
    };
    let response = request
        .send()
        .unwrap_or_else(|e| panic!("{method} /_double/{path}: {e}"));
    let status = response.status();
    let text = response.text().unwrap_or_default();
    assert!(
        status.is_success(),
        "{method} /_double/{path} answered {status}: {text}"
    );
    text
}
