//! A SCIM user client over the host's HTTP, in two dialects, and the shaping of mapped
//! profiles into SCIM users.
//!
//! * [`Dialect::Scim2`] (RFC 7643/7644): `application/scim+json`, schema
//!   `urn:ietf:params:scim:schemas:core:2.0:User`, quoted filter values, updates as a
//!   `PatchOp`.
//! * [`Dialect::Scim11`] (SCIM 1.1, as Slack speaks it): `application/json`, schema
//!   `urn:scim:schemas:core:1.0`, filter values unquoted (`userName eq jdoe`), updates as a
//!   partial user, errors shaped `{"Errors": {"description": …, "code": …}}`.
//!
//! Errors of either dialect become an [`AppError`] with the HTTP status as code and the
//! app's own words followed by the request (see [`crate::rest::Reply::error`]).
//!
//! ```no_run
//! use ilm_plugin_sdk::scim::{self, Dialect, Scim};
//!
//! # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
//! let slack = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
//! // GET …/Users?filter=userName%20eq%20jdoe
//! if let Some(user) = slack.find_user("userName", "jdoe")? {
//!     let user = scim::app_user(&user, None)?;
//!     slack.set_active(&user.id, false)?; // PATCH {"active": false}
//! }
//! # Ok(()) }
//! ```

use crate::paging::{self, Page};
use crate::rest::{self, Reply};
use crate::{app_error, percent_encode as encode, AppError, AppUser, Field, Lookup};
use serde_json::{json, Map, Value};

const CORE_SCHEMA_2: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_SCHEMA_2: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_SCHEMA_11: &str = "urn:scim:schemas:core:1.0";
const ENTERPRISE_SCHEMA_11: &str = "urn:scim:schemas:extension:enterprise:1.0";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The attributes SCIM 2.0's enterprise extension has (RFC 7643 §4.3); SCIM 1.1's has
/// more, which a SCIM 2.0 server refuses.
const ENTERPRISE_ATTRIBUTES: &[&str] = &[
    "employeeNumber",
    "costCenter",
    "organization",
    "division",
    "department",
    "manager",
];
/// Users asked for per page when listing.
const PAGE_SIZE: u64 = 100;

/// Which SCIM version the app speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SCIM 2.0 (RFC 7643, RFC 7644).
    Scim2,
    /// SCIM 1.1, with unquoted filter values as Slack takes them.
    Scim11,
}

impl Dialect {
    /// The dialect a version text names: `"2.0"`/`"2"` or `"1.1"`/`"1"`.
    ///
    /// ```
    /// use ilm_plugin_sdk::scim::Dialect;
    /// assert_eq!(Dialect::parse("1.1").unwrap(), Dialect::Scim11);
    /// assert!(Dialect::parse("3").unwrap_err().message.contains("1.1 or 2.0"));
    /// ```
    pub fn parse(version: &str) -> Result<Self, AppError> {
        match version.trim() {
            "2.0" | "2" => Ok(Self::Scim2),
            "1.1" | "1" => Ok(Self::Scim11),
            other => Err(app_error(
                "config",
                format!("SCIM version {other:?} is not supported: set 1.1 or 2.0"),
            )),
        }
    }

    /// The core user schema URN.
    ///
    /// ```
    /// use ilm_plugin_sdk::scim::Dialect;
    /// assert_eq!(Dialect::Scim11.core_schema(), "urn:scim:schemas:core:1.0");
    /// ```
    pub fn core_schema(self) -> &'static str {
        match self {
            Self::Scim2 => CORE_SCHEMA_2,
            Self::Scim11 => CORE_SCHEMA_11,
        }
    }

    /// The enterprise user extension's URN.
    ///
    /// ```
    /// use ilm_plugin_sdk::scim::Dialect;
    /// assert_eq!(Dialect::Scim11.enterprise_schema(), "urn:scim:schemas:extension:enterprise:1.0");
    /// ```
    pub fn enterprise_schema(self) -> &'static str {
        match self {
            Self::Scim2 => ENTERPRISE_SCHEMA_2,
            Self::Scim11 => ENTERPRISE_SCHEMA_11,
        }
    }

    /// The media type of requests and answers.
    ///
    /// ```
    /// use ilm_plugin_sdk::scim::Dialect;
    /// assert_eq!(Dialect::Scim2.media_type(), "application/scim+json");
    /// ```
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Scim2 => "application/scim+json",
            Self::Scim11 => rest::JSON,
        }
    }

    /// An equality filter. SCIM 2.0 quotes the value; SCIM 1.1 leaves it bare as Slack
    /// expects, quoting only a value a bare word cannot hold (spaces, quotes).
    ///
    /// ```
    /// use ilm_plugin_sdk::scim::Dialect;
    /// assert_eq!(Dialect::Scim2.filter("userName", "jdoe"), r#"userName eq "jdoe""#);
    /// assert_eq!(Dialect::Scim11.filter("userName", "jdoe"), "userName eq jdoe");
    /// assert_eq!(Dialect::Scim11.filter("displayName", "Jane Doe"), r#"displayName eq "Jane Doe""#);
    /// ```
    pub fn filter(self, attribute: &str, value: &str) -> String {
        let bare = !value.is_empty()
            && !value
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '"' | '\\' | '(' | ')'));
        match self {
            Self::Scim11 if bare => format!("{attribute} eq {value}"),
            _ => format!("{attribute} eq \"{}\"", crate::filter_quote(value)),
        }
    }
}

/// The users endpoint of one SCIM service.
#[derive(Debug, Clone)]
pub struct Scim {
    users_url: String,
    dialect: Dialect,
}

impl Scim {
    /// The service whose base URL is `base` (users at `<base>/Users`).
    ///
    /// ```
    /// use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// let scim = Scim::new("https://api.slack.com/scim/v1/", Dialect::Scim11);
    /// assert_eq!(scim.users_url(), "https://api.slack.com/scim/v1/Users");
    /// ```
    pub fn new(base: &str, dialect: Dialect) -> Self {
        Self {
            users_url: format!("{}/Users", base.trim().trim_end_matches('/')),
            dialect,
        }
    }

    /// The dialect this client speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// `<base>/Users`.
    pub fn users_url(&self) -> &str {
        &self.users_url
    }

    fn user_url(&self, id: &str) -> String {
        format!("{}/{}", self.users_url, encode(id))
    }

    fn send(&self, method: &str, url: &str, body: Option<&Value>) -> Result<Reply, AppError> {
        rest::send(method, url, body, self.dialect.media_type())
    }

    /// The user with this id; `None` on 404.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let user = scim.get_user("U012AB3CD")?; // GET …/Users/U012AB3CD
    /// # Ok(()) }
    /// ```
    pub fn get_user(&self, id: &str) -> Result<Option<Value>, AppError> {
        let reply = self.send("GET", &self.user_url(id), None)?;
        if reply.status == 404 {
            return Ok(None);
        }
        reply.json().map(Some)
    }

    /// The first user whose `attribute` equals `value`. The profile names `email` and
    /// `username` are taken as `emails` and `userName`.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let user = scim.find_user("emails", "jdoe@acme.test")?; // …?filter=emails eq jdoe@acme.test
    /// # Ok(()) }
    /// ```
    pub fn find_user(&self, attribute: &str, value: &str) -> Result<Option<Value>, AppError> {
        let attribute = match attribute {
            "email" => "emails",
            "username" => "userName",
            other => other,
        };
        let filter = self.dialect.filter(attribute, value);
        let url = format!("{}?filter={}", self.users_url, encode(&filter));
        let list = self.send("GET", &url, None)?.json()?;
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

    /// The user the host asks for: by id with `GET /Users/{id}`, else by filter.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let by = ilm_plugin_sdk::Lookup { attribute: "userName".into(), value: "jdoe".into() };
    /// let user = scim.lookup(&by)?;
    /// # Ok(()) }
    /// ```
    pub fn lookup(&self, by: &Lookup) -> Result<Option<Value>, AppError> {
        if by.attribute == "id" {
            self.get_user(&by.value)
        } else {
            self.find_user(&by.attribute, &by.value)
        }
    }

    /// [`Scim::lookup`] as the host's answer: the app user, or `None`.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let by = ilm_plugin_sdk::Lookup { attribute: "id".into(), value: "U012AB3CD".into() };
    /// let user = scim.find(&by)?.map(|user| user.active);
    /// # Ok(()) }
    /// ```
    pub fn find(&self, by: &Lookup) -> Result<Option<AppUser>, AppError> {
        let found = self.lookup(by)?;
        found.map(|user| app_user(&user, None)).transpose()
    }

    /// Up to `count` users, read page by page (`startIndex`, `count`) until the service
    /// has no more.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let first_250 = scim.list_users(250)?; // startIndex=1&count=100, 101, 201
    /// # Ok(()) }
    /// ```
    pub fn list_users(&self, count: u64) -> Result<Vec<Value>, AppError> {
        let limit = usize::try_from(count).unwrap_or(usize::MAX);
        let page_url = |start: u64| {
            format!(
                "{}?startIndex={start}&count={}",
                self.users_url,
                count.min(PAGE_SIZE)
            )
        };
        let mut start = 1;
        paging::collect(&page_url(start), Some(limit), |url| {
            let list = self.send("GET", url, None)?.json()?;
            let items = match list.get("Resources") {
                Some(Value::Array(users)) => users.clone(),
                _ => Vec::new(),
            };
            start += items.len() as u64;
            let total = list.get("totalResults").and_then(Value::as_u64);
            let more = total.is_some_and(|total| start <= total);
            Ok(Page {
                items,
                next: more.then(|| page_url(start)),
            })
        })
    }

    /// Checks that the service answers a listing with the instance's credentials.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// scim.test_connection()?;
    /// # Ok(()) }
    /// ```
    pub fn test_connection(&self) -> Result<(), AppError> {
        self.list_users(1).map(|_| ())
    }

    /// The answer of a plugin's list command: `args` (a JSON object text) may give
    /// `count` (else `default_count`); the users come back as a JSON array text.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let json = scim.list_users_command(r#"{"count": 5}"#, 100)?;
    /// # Ok(()) }
    /// ```
    pub fn list_users_command(&self, args: &str, default_count: u64) -> Result<String, AppError> {
        let args = crate::json_object(args, "the arguments")?;
        let count = crate::arg_u64(&args, "count", default_count)?;
        Ok(Value::Array(self.list_users(count)?).to_string())
    }

    /// Creates a user from `body` (an `id` in it is dropped: the app assigns ids).
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let body = scim.user_body(r#"{"userName": "jdoe", "emails": "jdoe@acme.test"}"#)?;
    /// let created = scim.create_user(body)?;
    /// # Ok(()) }
    /// ```
    pub fn create_user(&self, mut body: Map<String, Value>) -> Result<Value, AppError> {
        body.remove("id");
        let reply = self.send("POST", &self.users_url, Some(&Value::Object(body)))?;
        match reply.json()? {
            Value::Null => Err(app_error(
                "502",
                format!(
                    "the app created the user but returned no user (it answered {})",
                    reply.request()
                ),
            )),
            user => Ok(user),
        }
    }

    /// Replaces user `id` with `body` (`PUT`); returns the user as the app now has it.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let body = scim.user_body(r#"{"userName": "jane.doe"}"#)?;
    /// let user = scim.replace_user("U012AB3CD", body)?;
    /// # Ok(()) }
    /// ```
    pub fn replace_user(&self, id: &str, mut body: Map<String, Value>) -> Result<Value, AppError> {
        body.insert("id".into(), Value::String(id.to_owned()));
        let reply = self.send("PUT", &self.user_url(id), Some(&Value::Object(body)))?;
        self.user_or_read_back(id, &reply)
    }

    /// Sets the attributes in `changes` on user `id` and leaves the others (`PATCH`: a
    /// partial user in SCIM 1.1, a `replace` operation in SCIM 2.0); returns the user as
    /// the app now has it.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let changes = scim.user_body(r#"{"title": "Staff Engineer"}"#)?;
    /// let user = scim.update_user("U012AB3CD", changes)?;
    /// # Ok(()) }
    /// ```
    pub fn update_user(
        &self,
        id: &str,
        mut changes: Map<String, Value>,
    ) -> Result<Value, AppError> {
        changes.remove("id");
        let body = match self.dialect {
            Dialect::Scim11 => Value::Object(changes),
            Dialect::Scim2 => {
                changes.remove("schemas");
                json!({
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "value": changes}],
                })
            }
        };
        let reply = self.send("PATCH", &self.user_url(id), Some(&body))?;
        self.user_or_read_back(id, &reply)
    }

    /// Activates or deactivates user `id` by setting `active`.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let user = scim.set_active("U012AB3CD", false)?; // PATCH {"active": false}
    /// # Ok(()) }
    /// ```
    pub fn set_active(&self, id: &str, active: bool) -> Result<Value, AppError> {
        let mut changes = Map::new();
        if self.dialect == Dialect::Scim11 {
            changes.insert("schemas".into(), json!([CORE_SCHEMA_11]));
        }
        changes.insert("active".into(), Value::Bool(active));
        self.update_user(id, changes)
    }

    /// Deletes user `id`. What that means is the app's: GitHub removes the organization
    /// membership, Slack deactivates.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// scim.delete_user("U012AB3CD")?;
    /// # Ok(()) }
    /// ```
    pub fn delete_user(&self, id: &str) -> Result<(), AppError> {
        self.send("DELETE", &self.user_url(id), None)?
            .json()
            .map(|_| ())
    }

    /// The user a write answered with; a 204 has none, so it is read back.
    fn user_or_read_back(&self, id: &str, reply: &Reply) -> Result<Value, AppError> {
        match reply.json()? {
            Value::Null => self.get_user(id)?.ok_or_else(|| not_found(id)),
            user => Ok(user),
        }
    }

    /// The request body for a mapped profile (a JSON object text), shaped for this
    /// dialect by [`shape_user`]. Dropped enterprise attributes are logged as warnings.
    ///
    /// ```no_run
    /// # use ilm_plugin_sdk::scim::{Dialect, Scim};
    /// # fn main() -> Result<(), ilm_plugin_sdk::AppError> {
    /// # let scim = Scim::new("https://api.slack.com/scim/v1", Dialect::Scim11);
    /// let body = scim.user_body(r#"{"userName": "jdoe", "emails": "jdoe@acme.test"}"#)?;
    /// assert_eq!(body["emails"][0]["value"], "jdoe@acme.test");
    /// # Ok(()) }
    /// ```
    pub fn user_body(&self, profile: &str) -> Result<Map<String, Value>, AppError> {
        let mut user = crate::json_object(profile, "the mapped profile")?;
        for dropped in shape_user(&mut user, self.dialect) {
            crate::warn(&format!(
                "{ENTERPRISE_SCHEMA_11}.{dropped} has no SCIM 2.0 attribute; not sent"
            ));
        }
        Ok(user)
    }
}

/// The attributes a SCIM app finds users by, in the host's order of preference.
///
/// ```
/// assert_eq!(ilm_plugin_sdk::scim::identify_attributes(), ["id", "userName", "emails"]);
/// ```
pub fn identify_attributes() -> Vec<String> {
    vec!["id".into(), "userName".into(), "emails".into()]
}

/// The error for a user id the app does not have (code "404").
///
/// ```
/// assert_eq!(ilm_plugin_sdk::scim::not_found("U1").code, "404");
/// ```
pub fn not_found(id: &str) -> AppError {
    app_error("404", format!("the app has no SCIM user with id {id:?}"))
}

/// The app user of a SCIM user; `active` overrides what the app says (an app that omits
/// `active`, as GitHub does, counts as active).
///
/// ```
/// use serde_json::json;
/// let user = json!({"id": "U1", "userName": "jdoe", "active": false,
///     "emails": [{"value": "a@x.test"}, {"value": "j@x.test", "primary": true}]});
/// let app = ilm_plugin_sdk::scim::app_user(&user, None).unwrap();
/// assert_eq!((app.id.as_str(), app.email.as_str(), app.active), ("U1", "j@x.test", false));
/// ```
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

/// Whether a mapped value says something (not null, not blank text).
///
/// ```
/// use ilm_plugin_sdk::scim::non_empty;
/// assert!(non_empty(&serde_json::json!("jdoe")) && !non_empty(&serde_json::json!("  ")));
/// ```
pub fn non_empty(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        _ => true,
    }
}

/// The SCIM user attributes offered for mapping, with the dialect's enterprise extension.
///
/// ```
/// use ilm_plugin_sdk::scim::{mapping_fields, Dialect};
/// let fields = mapping_fields(Dialect::Scim2);
/// assert!(fields.iter().any(|f| f.name == "userName"));
/// ```
pub fn mapping_fields(dialect: Dialect) -> Vec<Field> {
    let fields = [
        ("userName", "the login of the user (required)"),
        ("externalId", "the identity provider's id of the user"),
        ("name", "object: givenName, familyName, formatted"),
        ("displayName", "display name"),
        ("emails", "list of {value, type, primary}"),
        ("title", "job title"),
        ("userType", "user type, e.g. Employee"),
        ("phoneNumbers", "list of {value, type}"),
        ("active", "whether the account is active"),
        (
            dialect.enterprise_schema(),
            "object: employeeNumber, costCenter, organization, division, department, manager",
        ),
    ];
    fields
        .iter()
        .map(|(name, description)| Field {
            name: name.to_string(),
            description: description.to_string(),
        })
        .collect()
}

/// Makes a mapped profile a SCIM user of `dialect`: nulls dropped, the enterprise
/// extension under the dialect's name, multi-valued attributes as lists, and `schemas`
/// naming every schema used. Returns the SCIM 1.1 enterprise attributes it dropped
/// because SCIM 2.0 has no such attribute.
///
/// ```
/// use ilm_plugin_sdk::scim::{shape_user, Dialect};
/// use serde_json::json;
/// let mut user = json!({"userName": "jdoe", "emails": "jdoe@acme.test", "title": null})
///     .as_object().cloned().unwrap();
/// shape_user(&mut user, Dialect::Scim11);
/// assert_eq!(serde_json::Value::Object(user), json!({
///     "userName": "jdoe",
///     "emails": [{"value": "jdoe@acme.test", "primary": true}],
///     "schemas": ["urn:scim:schemas:core:1.0"],
/// }));
/// ```
pub fn shape_user(user: &mut Map<String, Value>, dialect: Dialect) -> Vec<String> {
    // Unset mapped fields arrive as null; a SCIM server may refuse null in a list.
    user.retain(|_, value| !value.is_null());
    let dropped = match dialect {
        Dialect::Scim2 => translate_enterprise_to_2(user),
        Dialect::Scim11 => {
            translate_enterprise_to_11(user);
            Vec::new()
        }
    };
    for key in ["emails", "phoneNumbers"] {
        if let Some(value) = user.remove(key) {
            user.insert(key.to_owned(), as_multi_valued(value));
        }
    }
    let mut schemas: Vec<Value> = match user.remove("schemas") {
        Some(Value::Array(list)) => list,
        Some(Value::String(one)) => vec![Value::String(one)],
        _ => vec![Value::String(dialect.core_schema().to_owned())],
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

/// Moves a SCIM 1.1 enterprise extension to its SCIM 2.0 name (SCIM 2.0 servers refuse
/// the old one), keeping the attributes SCIM 2.0 defines; returns the names it dropped.
fn translate_enterprise_to_2(user: &mut Map<String, Value>) -> Vec<String> {
    let Some(Value::Object(legacy)) = user.remove(ENTERPRISE_SCHEMA_11) else {
        return Vec::new();
    };
    let mut enterprise = match user.remove(ENTERPRISE_SCHEMA_2) {
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
        user.insert(ENTERPRISE_SCHEMA_2.to_owned(), Value::Object(enterprise));
    }
    dropped
}

/// Moves a SCIM 2.0 enterprise extension to its SCIM 1.1 name (a superset, so nothing
/// is dropped); attributes already under the 1.1 name win.
fn translate_enterprise_to_11(user: &mut Map<String, Value>) {
    let Some(Value::Object(modern)) = user.remove(ENTERPRISE_SCHEMA_2) else {
        return;
    };
    let mut enterprise = match user.remove(ENTERPRISE_SCHEMA_11) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for (key, value) in modern {
        if !value.is_null() {
            enterprise.entry(key).or_insert(value);
        }
    }
    if !enterprise.is_empty() {
        user.insert(ENTERPRISE_SCHEMA_11.to_owned(), Value::Object(enterprise));
    }
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

    #[test]
    fn a_profile_becomes_a_scim_2_user_with_its_schemas() {
        let profile = json!({
            "userName": "jdoe",
            "emails": "jdoe@acme.test",
            "title": null,
            ENTERPRISE_SCHEMA_11: {"employeeNumber": "7", "countryCode": "US"},
        });
        let mut body = profile.as_object().cloned().expect("an object");
        assert_eq!(
            shape_user(&mut body, Dialect::Scim2),
            vec!["countryCode".to_owned()]
        );
        assert_eq!(
            Value::Object(body),
            json!({
                "userName": "jdoe",
                "emails": [{"value": "jdoe@acme.test", "primary": true}],
                ENTERPRISE_SCHEMA_2: {"employeeNumber": "7"},
                "schemas": [CORE_SCHEMA_2, ENTERPRISE_SCHEMA_2],
            })
        );
    }

    #[test]
    fn a_scim_11_user_keeps_every_enterprise_attribute_under_the_old_name() {
        let profile = json!({
            "userName": "jdoe",
            "phoneNumbers": ["+1 555"],
            ENTERPRISE_SCHEMA_2: {"department": "R&D"},
            ENTERPRISE_SCHEMA_11: {"countryCode": "US", "department": "Eng"},
        });
        let mut body = profile.as_object().cloned().expect("an object");
        assert!(shape_user(&mut body, Dialect::Scim11).is_empty());
        assert_eq!(
            Value::Object(body),
            json!({
                "userName": "jdoe",
                "phoneNumbers": [{"value": "+1 555"}],
                ENTERPRISE_SCHEMA_11: {"countryCode": "US", "department": "Eng"},
                "schemas": [CORE_SCHEMA_11, ENTERPRISE_SCHEMA_11],
            })
        );
    }

    #[test]
    fn given_schemas_are_kept() {
        let mut body = Map::new();
        body.insert("schemas".into(), json!(["x"]));
        shape_user(&mut body, Dialect::Scim2);
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
    fn scim_11_filters_are_bare_unless_a_bare_word_cannot_hold_the_value() {
        assert_eq!(
            Dialect::Scim11.filter("emails", "j.doe+x@acme.test"),
            "emails eq j.doe+x@acme.test"
        );
        assert_eq!(
            Dialect::Scim11.filter("userName", r#"a"b"#),
            r#"userName eq "a\"b""#
        );
        assert_eq!(Dialect::Scim11.filter("userName", ""), r#"userName eq """#);
        assert_eq!(
            Dialect::Scim2.filter("userName", r#"a"b\c"#),
            r#"userName eq "a\"b\\c""#
        );
    }
}
