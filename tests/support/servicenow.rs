//! The ServiceNow test double (`servicenow_double.py`): a stand-in for ServiceNow's Table
//! API, shaped on its documentation (see the script's header for what it models).
//!
//! One double serves the whole test binary (started by the first
//! [`ServiceNowDouble::start`]); every `ServiceNowDouble` is its own ServiceNow instance in
//! it, with its own Basic credentials, so tests never see each other's users or requests.
//! The double exits when the test binary does: it stops when its standard input, held
//! here, closes.

use super::double_process::DoubleProcess;
use super::Ilm;
use serde_json::{json, Value};
use std::sync::OnceLock;
use std::time::Duration;

static SHARED: OnceLock<Result<DoubleProcess, String>> = OnceLock::new();

/// The double, started by the first call; it prints `READY <url>` once it listens, or
/// exits with its reason in its log (with every request it answered).
fn shared() -> &'static DoubleProcess {
    let started = SHARED.get_or_init(|| {
        DoubleProcess::start(
            "servicenow-double",
            "servicenow_double.py",
            |_| Vec::new(),
            Duration::from_secs(60),
        )
    });
    match started {
        Ok(double) => double,
        Err(message) => panic!("{message}"),
    }
}

/// One ServiceNow instance in the test double. See the module documentation.
pub struct ServiceNowDouble {
    username: String,
    password: String,
    client: reqwest::blocking::Client,
}

impl ServiceNowDouble {
    /// A fresh instance with no users, in the shared double (started by the first call).
    pub fn start() -> Self {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let mut double = Self {
            username: String::new(),
            password: String::new(),
            client,
        };
        let made = double.control(reqwest::Method::POST, "instances", None);
        double.username = text(&made, "username");
        double.password = text(&made, "password");
        double
    }

    /// The instance URL (the plugin's `url` parameter).
    pub fn url(&self) -> String {
        shared().ready.clone()
    }

    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// A sys_user record created directly (no request recorded); its sys_id.
    pub fn add_user(&self, fields: Value) -> String {
        text(
            &self.control(reqwest::Method::POST, "users", Some(fields)),
            "sys_id",
        )
    }

    /// Every sys_user record, with every column as text.
    pub fn users(&self) -> Vec<Value> {
        array(self.control(reqwest::Method::GET, "users", None))
    }

    /// The record with this sys_id.
    pub fn user(&self, sys_id: &str) -> Option<Value> {
        self.users().into_iter().find(|u| u["sys_id"] == sys_id)
    }

    /// The API requests this instance received: `{method, path, query: {name: value},
    /// body}`.
    pub fn requests(&self) -> Vec<Value> {
        array(self.control(reqwest::Method::GET, "requests", None))
    }

    /// A business rule that silently keeps `fields` as they were on every update.
    pub fn keep_on_update(&self, fields: &[&str]) {
        self.control(
            reqwest::Method::POST,
            "business-rules",
            Some(json!({ "keep": fields })),
        );
    }

    /// The next `count` API requests `method path_prefix…` fail with `status` and
    /// ServiceNow's error body carrying `message` and `detail`.
    pub fn fail(
        &self,
        method: &str,
        path_prefix: &str,
        status: u16,
        count: usize,
        (message, detail): (&str, &str),
    ) {
        self.control(
            reqwest::Method::POST,
            "fail",
            Some(
                json!({ "method": method, "pathPrefix": path_prefix, "status": status,
                         "count": count, "message": message, "detail": detail }),
            ),
        );
    }

    fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let request = self
            .client
            .request(method.clone(), format!("{}/_double/{path}", self.url()))
            .basic_auth(&self.username, Some(&self.password));
        let body = super::double_process::control(request, &method, path, body);
        if body.is_empty() {
            return Value::Null;
        }
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
    }
}

impl Drop for ServiceNowDouble {
    fn drop(&mut self) {
        if !self.username.is_empty() {
            let _ = self
                .client
                .delete(format!("{}/_double/instance", self.url()))
                .basic_auth(&self.username, Some(&self.password))
                .send();
        }
    }
}

fn text(object: &Value, key: &str) -> String {
    object[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {object}"))
        .to_owned()
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

impl Ilm {
    /// `ilm instance add <name> --plugin servicenow` on `double`'s instance with `password`,
    /// and `params` (NAME=VALUE) on top.
    pub fn add_servicenow_with_password(
        &self,
        name: &str,
        double: &ServiceNowDouble,
        password: &str,
        params: &[&str],
    ) {
        let url = format!("url={}", double.url());
        let username = format!("username={}", double.username());
        let password = format!("password={password}");
        let mut args = vec![
            "instance",
            "add",
            name,
            "--plugin",
            "servicenow",
            "--param",
            &url,
            "--secret",
            &username,
            "--secret",
            &password,
        ];
        for param in params {
            args.extend(["--param", param]);
        }
        self.ok(&args);
    }

    /// Like [`Ilm::add_servicenow_with_password`] with the instance's own password.
    pub fn add_servicenow(&self, name: &str, double: &ServiceNowDouble, params: &[&str]) {
        self.add_servicenow_with_password(name, double, double.password(), params);
    }
}
