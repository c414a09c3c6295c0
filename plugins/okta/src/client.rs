//! The Okta API over the host's `http` import: request building under `<url>/api/v1/`,
//! Okta's error bodies turned into app errors a person can act on, and paging through
//! `Link: <…>; rel="next"` headers. Every non-2xx answer becomes an `AppError`; nothing
//! here retries, because the host already retries 429 and 5xx within the call's deadline.

use ilm_plugin_sdk::paging::{self, next_link, Page};
use ilm_plugin_sdk::rest::{self, kind_of, path_of, snippet, Reply, JSON};
use ilm_plugin_sdk::{app_error, param_str, AppError};
pub use ilm_plugin_sdk::{filter_quote as quote, percent_encode as encode};
use serde_json::{Map, Value};

/// One Okta org's API.
pub struct Okta {
    /// `https://<org>/api/v1/`, always with the trailing slash.
    base: String,
}

impl Okta {
    /// From the instance parameter `url` (the org URL, e.g. https://acme.okta.com).
    pub fn from_params(params: &Map<String, Value>) -> Result<Self, AppError> {
        let url = param_str(params, "url")
            .ok_or_else(|| app_error("config", "the Okta org URL (url) is not set"))?;
        Ok(Self {
            base: api_base(&url),
        })
    }

    /// The absolute URL of an API path such as `users/me` (no leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }

    /// Whether `url` lies under this org's API (a stored URL from before a change of the
    /// `url` parameter does not).
    pub fn owns(&self, url: &str) -> bool {
        url.starts_with(&self.base)
    }

    /// The JSON body of a 2xx answer (`Null` when it has none); otherwise the app error.
    pub fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Value, AppError> {
        rest::send(method, url, body, JSON)?.json_or_else(error_of)
    }

    pub fn get(&self, url: &str) -> Result<Value, AppError> {
        self.call("GET", url, None)
    }

    pub fn post(&self, url: &str, body: Option<&Value>) -> Result<Value, AppError> {
        self.call("POST", url, body)
    }

    /// GET that answers `None` on 404, for lookups where absence is an answer.
    pub fn get_optional(&self, url: &str) -> Result<Option<Value>, AppError> {
        let reply = rest::send("GET", url, None, JSON)?;
        if reply.status == 404 {
            return Ok(None);
        }
        reply.json_or_else(error_of).map(Some)
    }

    /// One page of a listing: a JSON array and the `next` link.
    pub fn page(&self, url: &str) -> Result<Page, AppError> {
        let reply = rest::send("GET", url, None, JSON)?;
        let items = match reply.json_or_else(error_of)? {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            other => {
                return Err(app_error(
                    "502",
                    format!(
                        "Okta answered {} with {} instead of a list",
                        path_of(url),
                        kind_of(&other)
                    ),
                ))
            }
        };
        Ok(Page {
            items,
            next: next_link(&reply.headers),
        })
    }

    /// Follows `next` links from `url` until the listing ends, a page is empty, or `limit`
    /// items are collected (the list is then cut to `limit`).
    pub fn collect(&self, url: &str, limit: Option<usize>) -> Result<Vec<Value>, AppError> {
        paging::collect(url, limit, |url| self.page(url))
    }
}

/// `https://<org>/api/v1/` from the org URL, also when the URL already ends in `/api/v1`.
pub fn api_base(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix("/api/v1").unwrap_or(url);
    format!("{url}/api/v1/")
}

/// The app error of a non-2xx reply.
pub fn error_of(reply: &Reply) -> AppError {
    let reset = reply.header("x-rate-limit-reset");
    let (code, message) = describe_error(reply.status, reset, &reply.body, path_of(&reply.url));
    app_error(code, message)
}

/// The code and message of an Okta error answer. Okta's JSON errors carry `errorCode`,
/// `errorSummary` and `errorCauses`; the statuses a person can fix (a bad token, a token
/// whose admin lacks a permission, the rate limit) say what to do.
pub fn describe_error(
    status: u16,
    reset: Option<&str>,
    body: &[u8],
    path: &str,
) -> (String, String) {
    let okta = serde_json::from_slice::<Value>(body)
        .ok()
        .filter(|v| v.get("errorCode").is_some() || v.get("errorSummary").is_some());
    let code = okta
        .as_ref()
        .and_then(|v| v.get("errorCode"))
        .and_then(Value::as_str)
        .filter(|c| !c.is_empty());
    let said = okta.as_ref().map(okta_message);
    match status {
        401 => (
            code.unwrap_or("401").to_owned(),
            with_detail(
                "Okta refused the API token (HTTP 401): it is wrong, expired or revoked; set a valid token on the instance",
                said.as_deref(),
            ),
        ),
        403 if code == Some("E0000006") => (
            "E0000006".to_owned(),
            with_detail(
                &format!(
                    "the API token's admin lacks the permission for {path} (HTTP 403): give that admin a role that allows it"
                ),
                said.as_deref(),
            ),
        ),
        429 => {
            let when = match reset.map(str::trim).filter(|r| !r.is_empty()) {
                Some(epoch) => match epoch.parse::<i64>() {
                    Ok(seconds) => format!(
                        "X-Rate-Limit-Reset: {epoch}, i.e. {}",
                        ilm_plugin_sdk::time::format_rfc3339(seconds)
                    ),
                    Err(_) => format!("X-Rate-Limit-Reset: {epoch}"),
                },
                None => "Okta sent no X-Rate-Limit-Reset".to_owned(),
            };
            (
                "E0000047".to_owned(),
                with_detail(
                    &format!("Okta's rate limit for {path} is used up even after retrying ({when})"),
                    said.as_deref(),
                ),
            )
        }
        // A server failure is not about the request: say where it happened.
        500..=599 if said.as_deref().is_some_and(|s| !s.is_empty()) => (
            code.map_or_else(|| status.to_string(), str::to_owned),
            format!(
                "Okta answered HTTP {status} for {path}: {}",
                said.unwrap_or_default()
            ),
        ),
        _ => match (code, said) {
            (Some(code), Some(said)) => (code.to_owned(), said),
            (None, Some(said)) if !said.is_empty() => (status.to_string(), said),
            _ => {
                let text = snippet(body);
                let message = if text.is_empty() {
                    format!("Okta answered HTTP {status} for {path} with no body")
                } else {
                    format!("Okta answered HTTP {status} for {path}: {text}")
                };
                (status.to_string(), message)
            }
        },
    }
}

/// `errorSummary` followed by the numbered causes: "Bad request. 1. login: taken 2. …".
pub fn okta_message(error: &Value) -> String {
    let mut message = error
        .get("errorSummary")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim()
        .to_owned();
    let causes = error
        .get("errorCauses")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|cause| cause.get("errorSummary").and_then(Value::as_str))
        .map(str::trim)
        .filter(|cause| !cause.is_empty());
    for (n, cause) in causes.enumerate() {
        if !message.is_empty() {
            message.push(' ');
        }
        message.push_str(&format!("{}. {cause}", n + 1));
    }
    message
}

fn with_detail(message: &str, said: Option<&str>) -> String {
    match said {
        Some(said) if !said.is_empty() => format!("{message}. Okta said: {said}"),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn okta_errors_carry_code_summary_and_numbered_causes() {
        let body = json!({
            "errorCode": "E0000001",
            "errorSummary": "Api validation failed: login",
            "errorCauses": [
                {"errorSummary": "login: An object with this field already exists"},
                {"errorSummary": "email: Does not match required pattern"},
            ],
        })
        .to_string();
        let (code, message) = describe_error(400, None, body.as_bytes(), "/api/v1/users");
        assert_eq!(code, "E0000001");
        assert_eq!(
            message,
            "Api validation failed: login 1. login: An object with this field already exists 2. email: Does not match required pattern"
        );
    }

    #[test]
    fn a_bad_token_and_a_missing_permission_say_what_to_fix() {
        let body = br#"{"errorCode":"E0000011","errorSummary":"Invalid token provided"}"#;
        let (code, message) = describe_error(401, None, body, "/api/v1/users/me");
        assert_eq!(code, "E0000011");
        assert!(message.contains("wrong, expired or revoked"), "{message}");
        assert!(message.contains("Invalid token provided"), "{message}");

        let body = br#"{"errorCode":"E0000006","errorSummary":"You do not have permission to perform the requested action"}"#;
        let (code, message) = describe_error(403, None, body, "/api/v1/apps");
        assert_eq!(code, "E0000006");
        assert!(
            message.contains("lacks the permission for /api/v1/apps"),
            "{message}"
        );
    }

    #[test]
    fn the_rate_limit_names_its_reset() {
        let body = br#"{"errorCode":"E0000047","errorSummary":"API call exceeded rate limit due to too many requests."}"#;
        let (code, message) = describe_error(429, Some("1609459200"), body, "/api/v1/logs");
        assert_eq!(code, "E0000047");
        assert!(
            message.contains("X-Rate-Limit-Reset: 1609459200, i.e. 2021-01-01T00:00:00Z"),
            "{message}"
        );
        let (code, message) = describe_error(429, None, b"", "/api/v1/logs");
        assert_eq!(code, "E0000047");
        assert!(message.contains("no X-Rate-Limit-Reset"), "{message}");
    }

    #[test]
    fn a_body_that_is_not_okta_json_is_quoted_with_the_path() {
        let (code, message) =
            describe_error(502, None, b"<html>\n  Bad gateway </html>", "/api/v1/users");
        assert_eq!(code, "502");
        assert_eq!(
            message,
            "Okta answered HTTP 502 for /api/v1/users: <html> Bad gateway </html>"
        );
        let body = br#"{"errorCode":"E0000009","errorSummary":"Internal Server Error"}"#;
        let (code, message) = describe_error(503, None, body, "/api/v1/users/me");
        assert_eq!(code, "E0000009");
        assert_eq!(
            message,
            "Okta answered HTTP 503 for /api/v1/users/me: Internal Server Error"
        );
        let (code, message) = describe_error(500, None, b"", "/api/v1/users");
        assert_eq!(
            (code.as_str(), message.as_str()),
            (
                "500",
                "Okta answered HTTP 500 for /api/v1/users with no body"
            )
        );
        let long = "x".repeat(500);
        let (_, message) = describe_error(500, None, long.as_bytes(), "/p");
        assert!(message.ends_with('…') && message.len() < 300, "{message}");
    }

    #[test]
    fn urls_are_built_under_the_api_base() {
        assert_eq!(
            api_base("https://acme.okta.com"),
            "https://acme.okta.com/api/v1/"
        );
        assert_eq!(
            api_base("https://acme.okta.com/"),
            "https://acme.okta.com/api/v1/"
        );
        assert_eq!(
            api_base("https://acme.okta.com/api/v1/"),
            "https://acme.okta.com/api/v1/"
        );
    }

    #[test]
    fn values_are_encoded_and_quoted() {
        assert_eq!(
            encode("profile.login eq \"a b\""),
            "profile.login%20eq%20%22a%20b%22"
        );
        assert_eq!(encode("é+&"), "%C3%A9%2B%26");
        assert_eq!(quote(r#"a"b\c"#), r#"a\"b\\c"#);
    }
}
