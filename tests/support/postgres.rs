//! PostgreSQL for the tests: a server of the test's own (`Postgres::start`, a new cluster
//! on a free loopback port, stopped when dropped), and a new database for each `Ilm` when
//! `ILM_TEST_POSTGRES` names a server (`scripts/postgres run` sets it), so any end-to-end
//! test can run against PostgreSQL instead of SQLite.

use super::{free_port, repo_root};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Postgres {
    dir: tempfile::TempDir,
    /// The server's `postgres` database: where new databases are made.
    url: String,
}

impl Postgres {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = Command::new(repo_root().join("scripts/postgres"))
            .args([
                "start",
                &dir.path().display().to_string(),
                &free_port().to_string(),
            ])
            .output()
            .expect("running scripts/postgres");
        assert!(
            out.status.success(),
            "starting PostgreSQL failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        Postgres { dir, url }
    }

    /// Restarts the server, closing every connection to it.
    pub fn restart(&self) {
        self.script(&["restart"]);
    }

    /// Restarts the server taking TLS connections only, with `ca`'s server certificate.
    pub fn require_tls(&self, ca: &super::TestCa) {
        let (cert, key) = (ca.path("cert.pem"), ca.path("key.pem"));
        self.script(&[
            "tls",
            &cert.display().to_string(),
            &key.display().to_string(),
        ]);
    }

    /// Runs `scripts/postgres VERB DIR ARGS...` on this server.
    fn script(&self, args: &[&str]) {
        let dir = self.dir.path().display().to_string();
        let status = Command::new(repo_root().join("scripts/postgres"))
            .arg(args[0])
            .arg(&dir)
            .args(&args[1..])
            .status()
            .expect("running scripts/postgres");
        assert!(status.success(), "scripts/postgres {} failed", args[0]);
    }

    /// A new, empty database on this server: its URL.
    pub fn new_database(&self) -> String {
        new_database(&self.url)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new(repo_root().join("scripts/postgres"))
            .args(["stop", &self.dir.path().display().to_string()])
            .status();
    }
}

/// A database made for one test on the server `ILM_TEST_POSTGRES` names, dropped with it:
/// a whole CI run makes hundreds, and kept they filled the disk.
pub struct ScratchDatabase {
    server: String,
    pub url: String,
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let Some((_, name)) = self.url.rsplit_once('/') else {
            return;
        };
        // Best effort: a test that failed may leave a process connected; FORCE ends it.
        if let Ok(mut client) = postgres::Client::connect(&self.server, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A new database on the server `ILM_TEST_POSTGRES` names, if it names one.
pub fn from_environment() -> Option<ScratchDatabase> {
    let server = std::env::var("ILM_TEST_POSTGRES").ok()?;
    Some(ScratchDatabase {
        url: new_database(&server),
        server,
    })
}

/// A new database on the server whose `postgres` database is at `server`.
pub fn new_database(server: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "ilm_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut client =
        postgres::Client::connect(server, postgres::NoTls).expect("connecting to PostgreSQL");
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("creating a test database");
    let (base, _) = server.rsplit_once('/').expect("a URL ending in /DATABASE");
    format!("{base}/{name}")
}
