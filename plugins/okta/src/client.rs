//! The Okta API over the host's `http` import: request building under `<url>/api/v1/`,
//! Okta's error bodies turned into app errors a person can act on, and paging through
//! `Link: <…>; rel="next"` headers. Every non-2xx answer becomes an `AppError`; nothing
//! here retries, because the host already retries 429 and 5xx within the call's deadline.

use guest_common::http::{self, Request, Response};
use guest_common::{app_error, param_str, AppError};
pub use guest_common::{filter_quote as quote, percent_encode as encode};
use serde_json::{Map, Value};

const JSON: &str = "application/json";
/// Longest piece of a non-JSON error body quoted in a message.
const MAX_SNIPPET: usize = 200;
/// Pages followed at most by one listing, so a server that keeps answering `next`
/// cannot hold the call until its deadline.
const MAX_PAGES: usize = 1000;

/// One Okta org's API.
pub struct Okta {
    /// `https://<org>/api/v1/`, always with the trailing slash.
    base: String,
}

/// One page of a listing: its items and the URL of the next page, if any.
pub struct Page {
    pub items: Vec<Value>,
    pub next: Option<String>,
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

    /// Sends a request and returns the raw response, whatever its status.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Response, AppError> {
        guest_common::debug(&format!("{method} {}", path_of(url)));
        http::send(&Request {
            method: method.to_owned(),
            url: url.to_owned(),
            headers: vec![
                ("Accept".to_owned(), JSON.to_owned()),
                ("Content-Type".to_owned(), JSON.to_owned()),
            ],
            body: body.map(|b| b.to_string().into_bytes()),
        })
    }

    /// The JSON body of a 2xx answer (`Null` when it has none); otherwise the app error.
    pub fn call(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Value, AppError> {
        let response = self.send(method, url, body)?;
        json_body(&response, url)
    }

    pub fn get(&self, url: &str) -> Result<Value, AppError> {
        self.call("GET", url, None)
    }

    pub fn post(&self, url: &str, body: Option<&Value>) -> Result<Value, AppError> {
        self.call("POST", url, body)
    }

    /// GET that answers `None` on 404, for lookups where absence is an answer.
    pub fn get_optional(&self, url: &str) -> Result<Option<Value>, AppError> {
        let response = self.send("GET", url, None)?;
        if response.status == 404 {
            return Ok(None);
        }
        json_body(&response, url).map(Some)
    }

    /// One page of a listing: a JSON array and the `next` link.
    pub fn page(&self, url: &str) -> Result<Page, AppError> {
        let response = self.send("GET", url, None)?;
        let items = match json_body(&response, url)? {
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
            next: next_link(&response.headers),
        })
    }

    /// Follows `next` links from `url` until the listing ends, a page is empty, or `limit`
    /// items are collected (the list is then cut to `limit`).
    pub fn collect(&self, url: &str, limit: Option<usize>) -> Result<Vec<Value>, AppError> {
        let mut items = Vec::new();
        let mut url = url.to_owned();
        for _ in 0..MAX_PAGES {
            let page = self.page(&url)?;
            let empty = page.items.is_empty();
            items.extend(page.items);
            if let Some(limit) = limit {
                if items.len() >= limit {
                    items.truncate(limit);
                    break;
                }
            }
            match page.next {
                Some(next) if !empty => url = next,
                _ => break,
            }
        }
        Ok(items)
    }
}

/// `https://<org>/api/v1/` from the org URL, also when the URL already ends in `/api/v1`.
pub fn api_base(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix("/api/v1").unwrap_or(url);
    format!("{url}/api/v1/")
}

/// The JSON body of a 2xx response (`Null` when empty); else [`error_of`].
fn json_body(response: &Response, url: &str) -> Result<Value, AppError> {
    if !(200..300).contains(&response.status) {
        return Err(error_of(response, url));
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        app_error(
            "502",
            format!(
                "Okta answered {} with HTTP {} but a body that is not JSON ({e}): {}",
                path_of(url),
                response.status,
                snippet(&response.body)
            ),
        )
    })
}

/// The app error of a non-2xx response.
pub fn error_of(response: &Response, url: &str) -> AppError {
    let reset = header(&response.headers, "x-rate-limit-reset");
    let (code, message) = describe_error(response.status, reset, &response.body, &path_of(url));
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
                        crate::time::format_rfc3339(seconds)
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

/// The first value of a header, by case-insensitive name.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The URL of the `rel="next"` link among all `Link` headers. A header may hold several
/// comma-separated links and a response may carry several `Link` headers (Okta sends
/// `self` and `next` separately); `rel` may list several space-separated relations.
pub fn next_link(headers: &[(String, String)]) -> Option<String> {
    headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("link"))
        .flat_map(|(_, value)| parse_links(value))
        .find(|(_, rels)| rels.iter().any(|rel| rel.eq_ignore_ascii_case("next")))
        .map(|(url, _)| url)
}

/// The links of one `Link` header value (RFC 8288): `<url>; rel="a b"; x=y, <url2>; …`.
/// A comma inside `<…>` or inside a quoted parameter does not end a link; text that is
/// not a link is skipped.
pub fn parse_links(value: &str) -> Vec<(String, Vec<String>)> {
    let mut links = Vec::new();
    let mut rest = value;
    while let Some(open) = rest.find('<') {
        let after_open = &rest[open + 1..];
        let Some(close) = after_open.find('>') else {
            break;
        };
        let url = after_open[..close].trim();
        let after_url = &after_open[close + 1..];
        let (params, tail) = split_unquoted(after_url, ',').unwrap_or((after_url, ""));
        let mut rels = Vec::new();
        let mut params = params;
        loop {
            let (param, more) = split_unquoted(params, ';').unwrap_or((params, ""));
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("rel") {
                    let value = value.trim().trim_matches('"');
                    rels.extend(value.split_whitespace().map(str::to_owned));
                }
            }
            if more.is_empty() {
                break;
            }
            params = more;
        }
        if !url.is_empty() {
            links.push((url.to_owned(), rels));
        }
        rest = tail;
    }
    links
}

/// Splits at the first `separator` outside a quoted string: (before, after). `None` when
/// there is none.
fn split_unquoted(text: &str, separator: char) -> Option<(&str, &str)> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == separator && !quoted => {
                return Some((&text[..i], &text[i + c.len_utf8()..]));
            }
            _ => {}
        }
    }
    None
}

/// The path of a URL, without scheme, host and query: what an error message names
/// (the query can be long and carry filter values).
pub fn path_of(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = without_scheme
        .find('/')
        .map_or("/", |slash| &without_scheme[slash..]);
    path.split(['?', '#']).next().unwrap_or(path).to_owned()
}

/// The start of a body, on one line, for error messages.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match text.char_indices().nth(MAX_SNIPPET) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_next_link_is_found_in_separate_headers() {
        let h = headers(&[
            (
                "link",
                "<https://o.test/api/v1/users?limit=2>; rel=\"self\"",
            ),
            (
                "Link",
                "<https://o.test/api/v1/users?after=x&limit=2>; rel=\"next\"",
            ),
        ]);
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://o.test/api/v1/users?after=x&limit=2")
        );
    }

    #[test]
    fn the_next_link_is_found_among_several_in_one_header() {
        let h = headers(&[(
            "Link",
            "<https://o.test/a?x=1,2>; rel=\"self\", <https://o.test/b>; title=\"a, b; c\"; rel=\"prev next\"",
        )]);
        assert_eq!(next_link(&h).as_deref(), Some("https://o.test/b"));
        let links = parse_links("<https://o.test/a?x=1,2>; rel=self, junk, <u>;rel=next");
        assert_eq!(
            links,
            vec![
                ("https://o.test/a?x=1,2".to_owned(), vec!["self".to_owned()]),
                ("u".to_owned(), vec!["next".to_owned()]),
            ]
        );
    }

    #[test]
    fn no_next_link_is_none() {
        assert_eq!(next_link(&headers(&[("Link", "<u>; rel=\"self\"")])), None);
        assert_eq!(next_link(&headers(&[("Content-Type", "x")])), None);
        assert_eq!(
            next_link(&headers(&[("Link", "<unterminated; rel=next")])),
            None
        );
        assert_eq!(next_link(&headers(&[("Link", "")])), None);
    }

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
        assert_eq!(
            path_of("https://acme.okta.com/api/v1/users?filter=x"),
            "/api/v1/users"
        );
        assert_eq!(path_of("https://acme.okta.com"), "/");
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
