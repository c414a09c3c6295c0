//! The Slack SCIM 1.1 test double (`slack_scim_double.py`) on loopback, and Slack instances
//! on it or on scim2-server's `slack` tenant (Slack's SCIM 2.0).

use super::{free_port, repo_root, wait_for_port, Ilm, Server};
use serde_json::Value;
use std::process::{Command, Stdio};

/// One Slack workspace in the double; its process is killed when dropped.
pub struct SlackDouble {
    pub server: Server,
    pub token: String,
}

impl SlackDouble {
    /// A fresh double taking `token`, serving at most `max_count` users a page.
    pub fn start(token: &str, max_count: u32) -> Self {
        let port = free_port();
        let mut child = Command::new("python3")
            .arg(repo_root().join("tests/support/slack_scim_double.py"))
            .args([&port.to_string(), token])
            .args(["--max-count", &max_count.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the Slack SCIM double");
        wait_for_port(port, &mut child, "the Slack SCIM double");
        Self {
            server: Server { child, port },
            token: token.to_owned(),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    fn get(&self, path: &str) -> Value {
        let text = reqwest::blocking::Client::new()
            .get(format!("{}{path}", self.url()))
            .bearer_auth(&self.token)
            .send()
            .and_then(|r| r.error_for_status())
            .and_then(|r| r.text())
            .unwrap_or_else(|e| panic!("GET {path} on the Slack double: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Every user the double holds, without paging.
    pub fn users(&self) -> Vec<Value> {
        self.get("/_double/users")
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The request lines it received so far (query decoded).
    pub fn requests(&self) -> Vec<String> {
        let listed = self.get("/_double/requests");
        listed
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|line| line.as_str().map(str::to_owned))
            .collect()
    }
}

impl Ilm {
    /// A Slack instance at `url` speaking SCIM `version` under `scim_path` (the plugin's
    /// default path when `None`).
    pub fn add_slack(
        &self,
        name: &str,
        url: &str,
        token: &str,
        version: &str,
        scim_path: Option<&str>,
    ) {
        let url = format!("url={url}");
        let token = format!("token={token}");
        let version = format!("scim-version={version}");
        let mut args = vec![
            "instance", "add", name, "--plugin", "slack", "--param", &url, "--param", &version,
            "--secret", &token,
        ];
        let path = scim_path.map(|path| format!("scim-path={path}"));
        if let Some(path) = &path {
            args.extend(["--param", path]);
        }
        self.ok(&args);
    }
}
