//! JSON over the host's HTTP import: a request with a JSON body, its [`Reply`] with the
//! status, and the decoding of a reply into JSON or into an [`AppError`] that names the
//! request, so a person reading it sees which URL answered what.
//!
//! ```no_run
//! use ilm_plugin_sdk::rest::{self, JSON};
//!
//! # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
//! let reply = rest::send("GET", "https://api.example.test/users/42", None, JSON)?;
//! if reply.status == 404 {
//!     return Ok(()); // absence is an answer
//! }
//! let user = reply.json()?; // any other non-2xx status is an error naming the request
//! # Ok(()) }
//! ```

use crate::http::{self, Request};
use crate::{app_error, AppError};
use serde_json::Value;

/// The media type of plain JSON.
pub const JSON: &str = "application/json";

/// Longest piece of a body quoted in an error message.
const MAX_SNIPPET: usize = 200;

/// An HTTP answer together with the request it answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The request's method, e.g. `GET`.
    pub method: String,
    /// The request's absolute URL.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The response headers, as the server sent them.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

/// Sends `body` (if any) as JSON of `media_type` and asks for the same type back.
///
/// An error means no HTTP exchange completed (the host refused the URL, the app was
/// unreachable, timed out, or answered too much); an HTTP error status is a normal
/// [`Reply`]. The request line (without its query, which may carry personal data) goes
/// to the host's debug log.
///
/// ```no_run
/// use serde_json::json;
/// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
/// let body = json!({"userName": "jdoe"});
/// let reply = ilm_plugin_sdk::rest::send(
///     "POST",
///     "https://api.example.test/scim/v2/Users",
///     Some(&body),
///     "application/scim+json",
/// )?;
/// let created = reply.json()?;
/// # Ok(()) }
/// ```
pub fn send(
    method: &str,
    url: &str,
    body: Option<&Value>,
    media_type: &str,
) -> Result<Reply, AppError> {
    let mut headers = vec![("Accept".to_owned(), media_type.to_owned())];
    if body.is_some() {
        headers.push(("Content-Type".to_owned(), media_type.to_owned()));
    }
    crate::debug(&format!("{method} {}", without_query(url)));
    let response = http::send(&Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    })?;
    Ok(Reply {
        method: method.to_owned(),
        url: url.to_owned(),
        status: response.status,
        headers: response.headers,
        body: response.body,
    })
}

impl Reply {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of a header, by case-insensitive name.
    ///
    /// ```
    /// # use ilm_plugin_sdk::rest::Reply;
    /// let reply = Reply { method: "GET".into(), url: "https://x.test/".into(), status: 200,
    ///     headers: vec![("X-Rate-Limit-Reset".into(), "1700000000".into())], body: vec![] };
    /// assert_eq!(reply.header("x-rate-limit-reset"), Some("1700000000"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `METHOD URL`, the request this reply answers, for messages.
    pub fn request(&self) -> String {
        format!("{} {}", self.method, self.url)
    }

    /// The JSON body of a 2xx reply (`Null` when it has none, e.g. 204); any other
    /// status is [`Reply::error`].
    ///
    /// ```
    /// # use ilm_plugin_sdk::rest::Reply;
    /// let reply = |status: u16, body: &str| Reply { method: "GET".into(),
    ///     url: "https://x.test/Users?filter=a".into(), status, headers: vec![],
    ///     body: body.as_bytes().to_vec() };
    /// assert_eq!(reply(200, r#"{"id": "1"}"#).json().unwrap()["id"], "1");
    /// assert!(reply(204, "").json().unwrap().is_null());
    /// let err = reply(200, "<html>").json().unwrap_err();
    /// assert_eq!(err.code, "502");
    /// assert!(err.message.starts_with(
    ///     "the app answered GET https://x.test/Users with HTTP 200 but a body that is not JSON"));
    /// assert_eq!(reply(404, r#"{"detail": "no such user"}"#).json().unwrap_err().code, "404");
    /// ```
    pub fn json(&self) -> Result<Value, AppError> {
        self.json_or_else(Reply::error)
    }

    /// Like [`Reply::json`], with the app's own error shaping for non-2xx replies.
    ///
    /// ```
    /// # use ilm_plugin_sdk::{app_error, rest::Reply};
    /// let reply = Reply { method: "GET".into(), url: "https://x.test/".into(), status: 401,
    ///     headers: vec![], body: vec![] };
    /// let err = reply
    ///     .json_or_else(|r| app_error(r.status.to_string(), "set a valid token on the instance"))
    ///     .unwrap_err();
    /// assert_eq!(err.message, "set a valid token on the instance");
    /// ```
    pub fn json_or_else(
        &self,
        on_error: impl FnOnce(&Reply) -> AppError,
    ) -> Result<Value, AppError> {
        if !self.is_success() {
            return Err(on_error(self));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            app_error(
                "502",
                format!(
                    "the app answered {} {} with HTTP {} but a body that is not JSON ({e}): {}",
                    self.method,
                    without_query(&self.url),
                    self.status,
                    snippet(&self.body)
                ),
            )
        })
    }

    /// The error of a non-2xx reply: the status as code, and the app's own words (see
    /// [`error_text`]) followed by the request, so a wrong URL or path shows.
    ///
    /// ```
    /// # use ilm_plugin_sdk::rest::Reply;
    /// let reply = Reply { method: "GET".into(), url: "https://x.test/v2/Users/7".into(),
    ///     status: 404, headers: vec![], body: br#"{"detail": "User not found"}"#.to_vec() };
    /// let err = reply.error();
    /// assert_eq!(err.code, "404");
    /// assert_eq!(err.message, "User not found (the app answered GET https://x.test/v2/Users/7)");
    /// ```
    pub fn error(&self) -> AppError {
        let said = error_text(&self.body);
        let said = if said.is_empty() {
            format!("HTTP status {}", self.status)
        } else {
            said
        };
        app_error(
            self.status.to_string(),
            format!("{said} (the app answered {})", self.request()),
        )
    }
}

/// What an error body says: the first text under `detail`, `message` or `description`,
/// at the top or inside an `Errors` or `error` object (or the first of a list of them),
/// as SCIM 2.0, SCIM 1.1, Slack and most JSON APIs put it; else the start of the body.
///
/// ```
/// use ilm_plugin_sdk::rest::error_text;
/// assert_eq!(error_text(br#"{"detail": "User not found"}"#), "User not found");
/// assert_eq!(error_text(br#"{"Errors": {"description": "bad_email", "code": 400}}"#), "bad_email");
/// assert_eq!(error_text(br#"{"Errors": [{"description": "taken", "code": 409}]}"#), "taken");
/// assert_eq!(error_text(b"<html>Bad  gateway</html>"), "<html>Bad gateway</html>");
/// ```
pub fn error_text(body: &[u8]) -> String {
    const KEYS: [&str; 3] = ["detail", "message", "description"];
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let said = parsed.as_ref().and_then(|body| {
        let nested =
            ["Errors", "errors", "error"]
                .iter()
                .filter_map(|key| match body.get(*key)? {
                    Value::Array(list) => list.first(),
                    other => Some(other),
                });
        std::iter::once(body)
            .chain(nested)
            .find_map(|place| KEYS.iter().find_map(|key| place.get(*key)?.as_str()))
            .map(|text| text.trim().to_owned())
    });
    said.unwrap_or_else(|| snippet(body))
}

/// The start of a body on one line (whitespace collapsed), cut with `…`, for messages.
///
/// ```
/// assert_eq!(ilm_plugin_sdk::rest::snippet(b"a\n  b"), "a b");
/// assert!(ilm_plugin_sdk::rest::snippet("x".repeat(500).as_bytes()).ends_with('…'));
/// ```
pub fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(MAX_SNIPPET) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// `base` and `path` joined by exactly one slash, without a trailing one.
///
/// ```
/// use ilm_plugin_sdk::rest::join;
/// assert_eq!(join("https://api.slack.com/", "/scim/v1/"), "https://api.slack.com/scim/v1");
/// ```
pub fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim().trim_end_matches('/'),
        path.trim_matches('/')
    )
}

/// The URL without its query and fragment, which can be long and carry filter values.
///
/// ```
/// use ilm_plugin_sdk::rest::without_query;
/// assert_eq!(without_query("https://x.test/Users?filter=a#f"), "https://x.test/Users");
/// ```
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

/// The path of a URL, without scheme, host and query.
///
/// ```
/// use ilm_plugin_sdk::rest::path_of;
/// assert_eq!(path_of("https://acme.okta.com/api/v1/users?filter=x"), "/api/v1/users");
/// assert_eq!(path_of("https://acme.okta.com"), "/");
/// ```
pub fn path_of(url: &str) -> &str {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme
        .find('/')
        .map_or("/", |slash| &without_scheme[slash..]);
    without_query(path)
}

/// What kind of JSON value this is, in words, for messages such as "answered with a
/// string instead of a list".
///
/// ```
/// assert_eq!(ilm_plugin_sdk::rest::kind_of(&serde_json::json!([])), "a list");
/// ```
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
