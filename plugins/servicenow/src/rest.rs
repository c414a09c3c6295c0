//! JSON over the host's `http` import, without any vendor's conventions: send a request,
//! get the status, headers and parsed body back. Kept apart so it can move into a shared
//! guest library.

use ilm_plugin_sdk::http::{self, Request};
use ilm_plugin_sdk::{app_error, AppError};
use serde_json::Value;

/// Longest piece of a body that is not JSON quoted in an error.
const MAX_QUOTED_BODY: usize = 300;

/// One answered request.
pub struct Reply {
    /// `METHOD URL`, for error messages that name what was asked.
    pub request: String,
    pub status: u16,
    headers: Vec<(String, String)>,
    /// The parsed body; `Null` when the body is empty.
    pub body: Value,
    /// The body as text when it is not JSON (an HTML error page, a proxy's answer).
    pub text: Option<String>,
}

impl Reply {
    pub fn success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first header of this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `method url` with an optional JSON body, accepting JSON. An error means no HTTP
/// exchange completed; any status is a [`Reply`].
pub fn send(method: &str, url: &str, body: Option<&Value>) -> Result<Reply, AppError> {
    let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
    if body.is_some() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    ilm_plugin_sdk::debug(&format!("{method} {url}"));
    let response = http::send(&Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    })?;
    let (body, text) = if response.body.iter().all(u8::is_ascii_whitespace) {
        (Value::Null, None)
    } else {
        match serde_json::from_slice(&response.body) {
            Ok(json) => (json, None),
            Err(_) => (Value::Null, Some(quoted(&response.body))),
        }
    };
    Ok(Reply {
        request: format!("{method} {url}"),
        status: response.status,
        headers: response.headers,
        body,
        text,
    })
}

/// A successful reply's JSON body; a 2xx whose body is not JSON is an error that says so.
pub fn json(reply: Reply) -> Result<Value, AppError> {
    match reply.text {
        Some(text) => Err(app_error(
            "502",
            format!(
                "the app answered {} with {} and a body that is not JSON: {text}",
                reply.request, reply.status
            ),
        )),
        None => Ok(reply.body),
    }
}

fn quoted(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MAX_QUOTED_BODY) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
