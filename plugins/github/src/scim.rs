//! A small SCIM 2.0 client over the host's `http` import, and the shaping of SCIM users.

use guest_common::http::{self, Request, Response};
use guest_common::{app_error, param_str, AppError, AppUser};
use guest_common::{filter_quote as quote, percent_encode as encode};
use serde_json::{Map, Value};

const CORE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The SCIM 1.1 name of the enterprise extension, which the spec's outgoing mapper uses.
const LEGACY_ENTERPRISE_SCHEMA: &str = "urn:scim:schemas:extension:enterprise:1.0";
/// The attributes SCIM 2.0's enterprise extension has (RFC 7643 §4.3).
const ENTERPRISE_ATTRIBUTES: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];
const CONTENT_TYPE: &str = "application/scim+json";
/// Longest error text taken from a response body that is not a SCIM error.
const MAX_ERROR_TEXT: usize = 300;

/// The SCIM user attributes offered for mapping.
pub const USER_FIELDS: &[(&str, &str)] = &[
    (
        "userName",
        "login of the SCIM identity; GitHub links it to the member (required)",
    ),
    ("externalId", "the identity provider's id of the user"),
    ("name", "object: givenName, familyName, formatted"),
    ("displayName", "display name"),
    ("emails", "list of {value, type, primary}"),
    ("title", "job title"),
    ("userType", "user type, e.g. Employee"),
    ("phoneNumbers", "list of {value, type}"),
    (
        "active",
        "whether the identity is active (GitHub removes instead of deactivating)",
    ),
    (
        ENTERPRISE_SCHEMA,
        "object: employeeNumber, costCenter, organization, division, department, manager",
    ),
];

/// The users endpoint of one instance.
pub struct Scim {
    users_url: String,
}

impl Scim {
    /// From the instance parameters: `<url>/<scim-path>/Users`, `{org}` filled in.
    pub fn from_params() -> Result<Self, AppError> {
        let params = guest_common::params();
        let base = param_str(&params, "url").unwrap_or_else(|| "https://api.github.com".into());
        let path =
            param_str(&params, "scim-path").unwrap_or_else(|| "scim/v2/organizations/{org}".into());
        let path = if path.contains("{org}") {
            let org = param_str(&params, "org")
                .ok_or_else(|| app_error("config", "the parameter org is not set"))?;
            path.replace("{org}", &encode(&org))
        } else {
            path
        };
        Ok(Self {
            users_url: format!(
                "{}/{}/Users",
                base.trim_end_matches('/'),
                path.trim_matches('/')
            ),
        })
    }

    fn user_url(&self, id: &str) -> String {
        format!("{}/{}", self.users_url, encode(id))
    }

    /// The user with this id; `None` on 404.
    pub fn get_user(&self, id: &str) -> Result<Option<Value>, AppError> {
        let answered = send("GET", &self.user_url(id), None)?;
        if answered.response.status == 404 {
            return Ok(None);
        }
        json_body(answered).map(Some)
    }

    /// The first user whose `attribute` equals `value`.
    pub fn find_user(&self, attribute: &str, value: &str) -> Result<Option<Value>, AppError> {
        // GitHub documents filters on `emails` (and scim2-server accepts `emails eq`,
        // `emails.value eq` alike); the host may also ask by the profile name `email`.
        let attribute = match attribute {
            "email" => "emails",
            "username" => "userName",
            other => other,
        };
        let filter = format!("{attribute} eq \"{}\"", quote(value));
        let url = format!("{}?filter={}", self.users_url, encode(&filter));
        let list = json_body(send("GET", &url, None)?)?;
        let total = list
            .get("totalResults")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        let first = list
            .get("Resources")
            .and_then(Value::as_array)
            .and_then(|users| users.first());
        Ok(match first {
            Some(user) if total > 0 => Some(user.clone()),
            _ => None,
        })
    }

    /// Up to `count` users, as SCIM returns them.
    pub fn list_users(&self, count: u64) -> Result<Vec<Value>, AppError> {
        let url = format!("{}?startIndex=1&count={count}", self.users_url);
        let list = json_body(send("GET", &url, None)?)?;
        Ok(match list.get("Resources") {
            Some(Value::Array(users)) => users.clone(),
            _ => Vec::new(),
        })
    }

    pub fn create_user(&self, body: Map<String, Value>) -> Result<Value, AppError> {
        let answered = send("POST", &self.users_url, Some(&Value::Object(body)))?;
        match json_body(answered)? {
            Value::Null => Err(app_error(
                "502",
                "the app created the user but returned no user",
            )),
            user => Ok(user),
        }
    }

    pub fn replace_user(&self, id: &str, body: Map<String, Value>) -> Result<Value, AppError> {
        let answered = send("PUT", &self.user_url(id), Some(&Value::Object(body)))?;
        match json_body(answered)? {
            // A 204 has no body: read the user back.
            Value::Null => self.get_user(id)?.ok_or_else(|| not_found(id)),
            user => Ok(user),
        }
    }

    pub fn delete_user(&self, id: &str) -> Result<(), AppError> {
        json_body(send("DELETE", &self.user_url(id), None)?).map(|_| ())
    }
}

pub fn not_found(id: &str) -> AppError {
    app_error("404", format!("no GitHub SCIM user with id {id:?}"))
}

/// A response with the request it answers, so an error can name the URL a person checks.
struct Answered {
    request: String,
    response: Response,
}

fn send(method: &str, url: &str, body: Option<&Value>) -> Result<Answered, AppError> {
    let mut headers = vec![("Accept".to_owned(), CONTENT_TYPE.to_owned())];
    if body.is_some() {
        headers.push(("Content-Type".to_owned(), CONTENT_TYPE.to_owned()));
    }
    guest_common::debug(&format!("{method} {url}"));
    let response = http::send(&Request {
        method: method.to_owned(),
        url: url.to_owned(),
        headers,
        body: body.map(|b| b.to_string().into_bytes()),
    })?;
    Ok(Answered {
        request: format!("{method} {url}"),
        response,
    })
}

/// The JSON body of a 2xx response (`Null` when it has none, e.g. 204); any other status
/// is an app error with the status as its code, naming the request.
fn json_body(answered: Answered) -> Result<Value, AppError> {
    let response = answered.response;
    if !(200..300).contains(&response.status) {
        return Err(http_error(&response, &answered.request));
    }
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        app_error(
            "502",
            format!(
                "the app answered {} with a body that is not JSON: {e}",
                response.status
            ),
        )
    })
}

/// SCIM errors carry `detail`; GitHub's own errors `message`; else the body text. The
/// request follows, so a wrong URL or path shows.
fn http_error(response: &Response, request: &str) -> AppError {
    let parsed: Option<Value> = serde_json::from_slice(&response.body).ok();
    let from_json = parsed.as_ref().and_then(|body| {
        ["detail", "message"]
            .iter()
            .find_map(|key| body.get(*key).and_then(Value::as_str))
            .map(str::to_owned)
    });
    let message = from_json.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(&response.body);
        let text = text.trim();
        match text.char_indices().nth(MAX_ERROR_TEXT) {
            Some((cut, _)) => format!("{}…", &text[..cut]),
            None => text.to_owned(),
        }
    });
    let message = if message.is_empty() {
        format!("HTTP status {}", response.status)
    } else {
        message
    };
    app_error(
        response.status.to_string(),
        format!("{message} (the app answered {request})"),
    )
}

/// The app user of a SCIM user; `active` overrides what the app says.
pub fn app_user(user: &Value, active: Option<bool>) -> Result<AppUser, AppError> {
    let id = match user.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        _ => return Err(app_error("502", "the app returned a user without an id")),
    };
    let text = |key: &str| user.get(key).and_then(Value::as_str).unwrap_or_default();
    let active = active.unwrap_or_else(|| match user.get("active") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        // GitHub omits `active`; its members are active.
        _ => true,
    });
    Ok(AppUser {
        id,
        username: text("userName").to_owned(),
        email: primary_email(user.get("emails")).unwrap_or_default(),
        active,
        details: user.to_string(),
    })
}

/// The primary email's value, else the first one's.
fn primary_email(emails: Option<&Value>) -> Option<String> {
    let emails = emails?.as_array()?;
    let chosen = emails
        .iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| emails.first())?;
    match chosen {
        Value::Object(email) => email.get("value")?.as_str().map(str::to_owned),
        Value::String(email) => Some(email.clone()),
        _ => None,
    }
}

pub fn non_empty(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

/// The request body for a mapped profile (see [`shape_user`]).
pub fn user_body(profile: &str) -> Result<Map<String, Value>, AppError> {
    let mut user = guest_common::json_object(profile, "the mapped profile")?;
    for dropped in shape_user(&mut user) {
        guest_common::log::write(
            guest_common::log::Level::Warn,
            &format!("{LEGACY_ENTERPRISE_SCHEMA}.{dropped} has no SCIM 2.0 attribute; not sent"),
        );
    }
    Ok(user)
}

/// Makes a mapped profile a SCIM user: `schemas` naming every schema it uses, its
/// multi-valued attributes as lists. Returns the legacy enterprise attributes it dropped.
fn shape_user(user: &mut Map<String, Value>) -> Vec<String> {
    // Unset mapped fields arrive as null; a SCIM server may refuse null in a list.
    user.retain(|_, value| !value.is_null());
    let dropped = translate_legacy_enterprise(user);
    for key in ["emails", "phoneNumbers"] {
        if let Some(value) = user.remove(key) {
            user.insert(key.to_owned(), as_multi_valued(value));
        }
    }
    let mut schemas: Vec<Value> = match user.remove("schemas") {
        Some(Value::Array(list)) => list,
        Some(Value::String(one)) => vec![Value::String(one)],
        _ => vec![Value::String(CORE_SCHEMA.to_owned())],
    };
    for key in user.keys() {
        let listed = schemas.iter().any(|s| s.as_str() == Some(key.as_str()));
        if key.starts_with("urn:") && !listed {
            schemas.push(Value::String(key.clone()));
        }
    }
    user.insert("schemas".into(), Value::Array(schemas));
    dropped
}

/// Moves the SCIM 1.1 enterprise extension of the spec's mapper to its SCIM 2.0 name
/// (SCIM 2.0 servers refuse the old one), keeping the attributes SCIM 2.0 defines.
/// Returns the names of the attributes it dropped.
fn translate_legacy_enterprise(user: &mut Map<String, Value>) -> Vec<String> {
    let Some(Value::Object(legacy)) = user.remove(LEGACY_ENTERPRISE_SCHEMA) else {
        return Vec::new();
    };
    let mut enterprise = match user.remove(ENTERPRISE_SCHEMA) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut dropped = Vec::new();
    for (key, value) in legacy {
        if value.is_null() {
            continue;
        }
        if ENTERPRISE_ATTRIBUTES.contains(&key.as_str()) {
            enterprise.entry(key).or_insert(value);
        } else {
            dropped.push(key);
        }
    }
    if !enterprise.is_empty() {
        user.insert(ENTERPRISE_SCHEMA.to_owned(), Value::Object(enterprise));
    }
    dropped
}

/// A multi-valued SCIM attribute as a list of objects: a lone value becomes a one-item
/// list, a plain string `{value}`, and a lone value is primary.
fn as_multi_valued(value: Value) -> Value {
    let lone = !value.is_array();
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    };
    let items = items
        .into_iter()
        .filter(|item| !item.is_null())
        .map(|item| match item {
            Value::String(text) => {
                let mut entry = Map::new();
                entry.insert("value".into(), Value::String(text));
                if lone {
                    entry.insert("primary".into(), Value::Bool(true));
                }
                Value::Object(entry)
            }
            other => other,
        })
        .collect();
    Value::Array(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_becomes_a_scim_user_with_its_schemas() {
        let profile = json!({
            "userName": "jdoe",
            "emails": "jdoe@acme.test",
            "title": null,
            LEGACY_ENTERPRISE_SCHEMA: {"employeeNumber": "7", "countryCode": "US"},
        });
        let mut body = profile.as_object().cloned().expect("an object");
        assert_eq!(shape_user(&mut body), vec!["countryCode".to_owned()]);
        assert_eq!(
            Value::Object(body),
            json!({
                "userName": "jdoe",
                "emails": [{"value": "jdoe@acme.test", "primary": true}],
                ENTERPRISE_SCHEMA: {"employeeNumber": "7"},
                "schemas": [CORE_SCHEMA, ENTERPRISE_SCHEMA],
            })
        );
    }

    #[test]
    fn given_schemas_are_kept() {
        let mut body = Map::new();
        body.insert("schemas".into(), json!(["x"]));
        shape_user(&mut body);
        assert_eq!(body["schemas"], json!(["x"]));
    }

    #[test]
    fn the_primary_email_wins_else_the_first() {
        let emails = json!([{"value": "a@x"}, {"value": "b@x", "primary": true}]);
        assert_eq!(primary_email(Some(&emails)).as_deref(), Some("b@x"));
        assert_eq!(
            primary_email(Some(&json!([{"value": "a@x"}]))).as_deref(),
            Some("a@x")
        );
        assert_eq!(primary_email(Some(&json!("a@x"))), None);
    }

    #[test]
    fn filters_and_paths_are_encoded() {
        assert_eq!(quote(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(encode("userName eq \"a b\""), "userName%20eq%20%22a%20b%22");
        assert_eq!(encode("é/"), "%C3%A9%2F");
    }
}
