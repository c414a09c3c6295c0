//! The Okta test double (`okta_double.py`) behind Stoplight Prism's validating proxy.
//!
//! No emulator of Okta exists. The tests talk to Prism, which checks every request against
//! Okta's published OpenAPI description (npm `@okta/openapi` 2.15.0) and answers 422 (bad
//! body or query), 401 (no `Authorization`) or 404 (a path Okta does not have) itself; the
//! requests it accepts go on to the stateful double, which answers like Okta does.
//!
//! Prism takes 5–8 s to start on these 2-core machines, so one double and one Prism serve
//! the whole test binary (started by the first [`OktaDouble::start`]). Tests stay
//! independent because every `OktaDouble` is its own Okta org inside the double, with its
//! own API token (`okta-test-token-…`): users, apps, groups, the System Log, injected
//! failures and the recorded requests never cross orgs. Dropping an `OktaDouble` discards
//! its org. Both processes stop when the test binary exits, even when it is killed: the
//! double stops Prism and exits when its standard input (held by this process) closes, and
//! Prism dies with the double. Ports are free ones, so leftovers never block a later run.

use super::double_process::DoubleProcess;
use super::{free_port, repo_root};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Shared {
    double_port: u16,
    prism_port: u16,
    /// From spawning the double to Prism accepting connections.
    ready_after: Duration,
    double: DoubleProcess,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

fn shared() -> &'static Shared {
    match SHARED.get_or_init(start_shared) {
        Ok(shared) => shared,
        Err(message) => panic!("{message}"),
    }
}

fn start_shared() -> Result<Shared, String> {
    let prism_dir = repo_root().join(".services/prism");
    let spec = prism_dir.join("node_modules/@okta/openapi/dist/spec.yaml");
    if !spec.exists()
        || !prism_dir
            .join("node_modules/@stoplight/prism-http-server")
            .exists()
    {
        return Err(format!(
            "{} is missing: run scripts/install-test-services",
            spec.display()
        ));
    }
    let double_port = free_port();
    let mut prism_port = free_port();
    while prism_port == double_port {
        prism_port = free_port();
    }
    let started = Instant::now();
    let double = DoubleProcess::start(
        "okta-double",
        "okta_double.py",
        |log| {
            vec![
                double_port.to_string(),
                // The double's first org; the tests make their own (see `OktaDouble::start`).
                "okta-double-unused-org".into(),
                "--prism-dir".into(),
                prism_dir.display().to_string(),
                "--prism-port".into(),
                prism_port.to_string(),
                "--prism-log".into(),
                log.display().to_string(),
            ]
        },
        Duration::from_secs(120),
    )?;
    Ok(Shared {
        double_port,
        prism_port,
        ready_after: started.elapsed(),
        double,
    })
}

/// One Okta org in the test double, reached through Prism. See the module documentation.
pub struct OktaDouble {
    token: String,
    self_id: String,
    prism_port: u16,
    double_port: u16,
    client: reqwest::blocking::Client,
}

impl OktaDouble {
    /// A fresh, empty org (only the token's owner and an admin person exist) behind the
    /// shared double and Prism, which the first call starts.
    pub fn start() -> Self {
        let shared = shared();
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let mut double = Self {
            token: String::new(),
            self_id: String::new(),
            prism_port: shared.prism_port,
            double_port: shared.double_port,
            client,
        };
        let org = double.control(reqwest::Method::POST, "orgs", Some(json!({})));
        double.token = org["token"].as_str().expect("token").to_owned();
        double.self_id = org["selfUserId"].as_str().expect("selfUserId").to_owned();
        double
    }

    /// The base URL the Okta plugin's `url` parameter gets: Prism, in front of the double.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.prism_port)
    }

    /// This org's API token (`Authorization: SSWS <token>`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The id of the token's owner, a service account (`GET /api/v1/users/me`).
    pub fn self_user_id(&self) -> String {
        self.self_id.clone()
    }

    /// How long the shared double and Prism took to start.
    pub fn ready_after() -> Duration {
        shared().ready_after
    }

    /// Where the double and Prism write their logs (Prism logs every request it rejects).
    pub fn log_path() -> PathBuf {
        shared().double.log.clone()
    }

    /// A new ACTIVE bookmark app; its id ("0oa…").
    pub fn add_app(&self, label: &str) -> String {
        let app = self.control(
            reqwest::Method::POST,
            "apps",
            Some(json!({ "label": label })),
        );
        id(&app)
    }

    /// The app becomes INACTIVE (an `application.lifecycle.deactivate` event).
    pub fn deactivate_app(&self, app_id: &str) {
        self.control(
            reqwest::Method::POST,
            &format!("apps/{}/deactivate", enc(app_id)),
            None,
        );
    }

    /// A new OKTA_GROUP; its id ("00g…").
    pub fn add_group(&self, name: &str) -> String {
        let group = self.control(
            reqwest::Method::POST,
            "groups",
            Some(json!({ "name": name })),
        );
        id(&group)
    }

    /// Assigns the group to the app: its members (now and later) get the app with scope
    /// GROUP, each with an `application.user_membership.add` event unless already assigned.
    pub fn assign_group_to_app(&self, app_id: &str, group_id: &str) {
        self.control(
            reqwest::Method::PUT,
            &format!("apps/{}/groups/{}", enc(app_id), enc(group_id)),
            None,
        );
    }

    /// A user created directly in `status` (STAGED, PROVISIONED, ACTIVE, DEPROVISIONED, …),
    /// with no log event. `profile` needs at least `login`.
    pub fn add_user(&self, profile: Value, status: &str) -> String {
        let user = self.control(
            reqwest::Method::POST,
            "users",
            Some(json!({ "profile": profile, "status": status })),
        );
        id(&user)
    }

    /// An admin person (not the token's owner) assigns the user to the app directly:
    /// `application.user_membership.add` (unless a group already gave the app).
    pub fn assign(&self, app_id: &str, user_id: &str) {
        self.control(
            reqwest::Method::PUT,
            &format!("apps/{}/users/{}", enc(app_id), enc(user_id)),
            None,
        );
    }

    /// The admin removes the direct assignment: `application.user_membership.remove`
    /// (unless a group still gives the app; then the scope becomes GROUP).
    pub fn unassign(&self, app_id: &str, user_id: &str) {
        self.control(
            reqwest::Method::DELETE,
            &format!("apps/{}/users/{}", enc(app_id), enc(user_id)),
            None,
        );
    }

    /// The admin adds the user to the group: `group.user_membership.add`, and
    /// `application.user_membership.add` for each app the group is assigned to that the
    /// user did not have yet.
    pub fn add_to_group(&self, group_id: &str, user_id: &str) {
        self.control(
            reqwest::Method::PUT,
            &format!("groups/{}/users/{}", enc(group_id), enc(user_id)),
            None,
        );
    }

    /// `group.user_membership.remove`, and `application.user_membership.remove` for each
    /// app the user thereby loses.
    pub fn remove_from_group(&self, group_id: &str, user_id: &str) {
        self.control(
            reqwest::Method::DELETE,
            &format!("groups/{}/users/{}", enc(group_id), enc(user_id)),
            None,
        );
    }

    /// The admin changes profile attributes: `user.account.update_profile` with
    /// `debugContext.debugData.changedAttributes` (comma-separated) if anything changed.
    pub fn update_profile_as_admin(&self, user_id: &str, changes: Value) {
        self.control(
            reqwest::Method::POST,
            &format!("users/{}/profile", enc(user_id)),
            Some(changes),
        );
    }

    /// The user (as `GET /api/v1/users/{id}` shows it), by id or login.
    pub fn user(&self, login_or_id: &str) -> Option<Value> {
        let response = self
            .client
            .get(self.control_url(&format!("users/{}", enc(login_or_id))))
            .header("Authorization", format!("SSWS {}", self.token))
            .send()
            .expect("the Okta double's control endpoint");
        match response.status().as_u16() {
            404 => None,
            200 => Some(parse(&response.text().expect("body"))),
            other => panic!("GET /_double/users: {other}"),
        }
    }

    /// Every user of the org except the token's owner and the admin person.
    pub fn users(&self) -> Vec<Value> {
        array(self.control(reqwest::Method::GET, "users", None))
    }

    /// Appends events to the System Log exactly as given (any JSON: for malformed events
    /// and unknown event types). They are ordered by their `published` when it parses,
    /// else by the double's clock.
    pub fn add_log_events(&self, events: Value) {
        self.control(reqwest::Method::POST, "logs", Some(events));
    }

    /// Every event of the org's System Log, in the order they happened.
    pub fn log_events(&self) -> Vec<Value> {
        array(self.control(reqwest::Method::GET, "logs", None))
    }

    /// The next `count` API requests whose path starts with `path_prefix`, after `after`
    /// matching ones, get `status`: 429 with Okta's E0000047 body and
    /// X-Rate-Limit-Limit/Remaining/Reset (Reset = now + 1 s, epoch seconds); 5xx with
    /// Okta's E0000009 body. 501 is refused: Prism answers an upstream 501 with a mock.
    /// `count` 0 ends the failures injected for `path_prefix`.
    pub fn fail(&self, path_prefix: &str, status: u16, count: usize, after: usize) {
        self.control(
            reqwest::Method::POST,
            "fail",
            Some(json!({ "pathPrefix": path_prefix, "status": status, "count": count, "after": after })),
        );
    }

    /// The API requests the double received for this org (so not those Prism refused):
    /// `{method, path, query: {name: value}, body}`.
    pub fn requests(&self) -> Vec<Value> {
        array(self.control(reqwest::Method::GET, "requests", None))
    }

    fn control_url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}/_double/{path}", self.double_port)
    }

    fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let request = self
            .client
            .request(method.clone(), self.control_url(path))
            .header("Authorization", format!("SSWS {}", self.token));
        let text = super::double_process::control(request, &method, path, body);
        parse(&text)
    }
}

impl Drop for OktaDouble {
    fn drop(&mut self) {
        if !self.token.is_empty() {
            let _ = self
                .client
                .delete(self.control_url("org"))
                .header("Authorization", format!("SSWS {}", self.token))
                .send();
        }
    }
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn id(object: &Value) -> String {
    object["id"].as_str().expect("an id").to_owned()
}

fn array(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// Percent-encodes a path segment.
fn enc(segment: &str) -> String {
    let mut out = String::new();
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
