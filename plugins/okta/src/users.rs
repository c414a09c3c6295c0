//! Okta users: the IAM primitives the host's algorithm calls. A user is found by id,
//! login or email (a login or email must match exactly one user), created staged and then
//! activated, updated with a partial profile, activated and deactivated through Okta's
//! lifecycle operations. Every operation answers with the user as Okta holds it afterwards.

use crate::client::{encode, quote, Okta};
use ilm_plugin_sdk::{app_error, AppError, AppUser, Field};
use serde_json::{json, Map, Value};

/// The attributes a user is looked up by, in order: the Okta id from the stored profile,
/// then the mapped `login`, then the mapped `email`.
pub const IDENTIFY_ATTRIBUTES: &[&str] = &["id", "login", "email"];

/// Okta's status of a deactivated user; every other status counts as active.
const DEPROVISIONED: &str = "DEPROVISIONED";

/// The user found by `attribute` (`id`, `login` or `email`) = `value`; `None` when there is
/// none.
pub fn find(okta: &Okta, attribute: &str, value: &str) -> Result<Option<AppUser>, AppError> {
    if attribute == "id" {
        let user = okta.get_optional(&okta.url(&format!("users/{}", encode(value))))?;
        return user.as_ref().map(app_user).transpose();
    }
    let filter = lookup_filter(attribute, value)?;
    let url = okta.url(&format!("users?filter={}", encode(&filter)));
    let found = okta.get(&url)?;
    match single_match(&found, attribute, value)? {
        Some(user) => app_user(user).map(Some),
        None => Ok(None),
    }
}

/// The filter that finds a user by login or email, e.g. `profile.login eq "jdoe@acme.com"`.
pub fn lookup_filter(attribute: &str, value: &str) -> Result<String, AppError> {
    let property = match attribute {
        "login" => "profile.login",
        "email" => "profile.email",
        other => {
            return Err(app_error(
                "400",
                format!("Okta users cannot be looked up by {other:?}; use id, login or email"),
            ))
        }
    };
    Ok(format!("{property} eq \"{}\"", quote(value)))
}

/// The one user of a lookup answer: zero is `None`, several is an error, because updating
/// or disabling a guessed user would touch the wrong person.
pub fn single_match<'a>(
    found: &'a Value,
    attribute: &str,
    value: &str,
) -> Result<Option<&'a Value>, AppError> {
    let users = match found {
        Value::Array(users) => users.as_slice(),
        Value::Null => &[],
        _ => {
            return Err(app_error(
                "502",
                "Okta answered a user lookup with something other than a list",
            ))
        }
    };
    match users {
        [] => Ok(None),
        [user] => Ok(Some(user)),
        several => Err(app_error(
            "409",
            format!(
                "{} Okta users have {attribute} {value:?}; expected at most one",
                several.len()
            ),
        )),
    }
}

/// Creates the user staged and, when `activate` is set, activates it without sending
/// Okta's activation email (the org's own onboarding tells the person).
pub fn create(okta: &Okta, profile: &str, activate: bool) -> Result<AppUser, AppError> {
    let body = profile_body(profile)?;
    let created = okta.post(&okta.url("users?activate=false&provider=true"), Some(&body))?;
    let user = app_user(&created)?;
    if !activate {
        return Ok(user);
    }
    lifecycle(okta, &user.id, "activate?sendEmail=false").map_err(|e| {
        app_error(
            e.code,
            format!(
                "created Okta user {} staged, but activating it failed: {}",
                user.id, e.message
            ),
        )
    })
}

/// Updates only the profile attributes the mapped profile has (Okta's partial update).
pub fn update(okta: &Okta, id: &str, profile: &str) -> Result<AppUser, AppError> {
    let body = profile_body(profile)?;
    let updated = okta.post(&okta.url(&format!("users/{}", encode(id))), Some(&body))?;
    app_user(&updated)
}

/// Activates the user without Okta's activation email.
pub fn enable(okta: &Okta, id: &str) -> Result<AppUser, AppError> {
    lifecycle(okta, id, "activate?sendEmail=false")
}

/// Deactivates the user (status DEPROVISIONED).
pub fn disable(okta: &Okta, id: &str) -> Result<AppUser, AppError> {
    lifecycle(okta, id, "deactivate")
}

/// Runs a lifecycle operation, then reads the user back: the operation's own answer is
/// not the user, and the caller wants the final status.
fn lifecycle(okta: &Okta, id: &str, operation: &str) -> Result<AppUser, AppError> {
    let user_url = okta.url(&format!("users/{}", encode(id)));
    okta.post(&format!("{user_url}/lifecycle/{operation}"), None)?;
    app_user(&okta.get(&user_url)?)
}

/// The user the token acts as (`users/me`).
pub fn me(okta: &Okta) -> Result<Value, AppError> {
    okta.get(&okta.url("users/me"))
}

/// The app user of an Okta user object.
pub fn app_user(user: &Value) -> Result<AppUser, AppError> {
    let id = match user.get("id") {
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        _ => return Err(app_error("502", "Okta returned a user without an id")),
    };
    let profile = |key: &str| {
        user.get("profile")
            .and_then(|p| p.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let status = user
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(AppUser {
        id,
        username: profile("login"),
        email: profile("email"),
        active: status != DEPROVISIONED,
        details: user.to_string(),
    })
}

/// `{"profile": <mapped profile>}` without null attributes: a null in Okta's partial
/// update would erase the attribute, while an unset profile field means "leave it".
pub fn profile_body(profile: &str) -> Result<Value, AppError> {
    let mut profile = ilm_plugin_sdk::json_object(profile, "the mapped profile")?;
    profile.retain(|_, value| !value.is_null());
    Ok(json!({ "profile": Value::Object(profile) }))
}

/// The user profile attributes of the org's default user schema: the base ones, then the
/// custom ones, each with its title.
pub fn mapping_fields(okta: &Okta) -> Result<Vec<Field>, AppError> {
    let schema = okta.get(&okta.url("meta/schemas/user/default"))?;
    Ok(schema_fields(&schema)
        .into_iter()
        .map(|(name, description)| Field { name, description })
        .collect())
}

/// (name, title) of every property under `definitions.base` and `definitions.custom`.
pub fn schema_fields(schema: &Value) -> Vec<(String, String)> {
    ["base", "custom"]
        .iter()
        .filter_map(|part| {
            schema
                .get("definitions")?
                .get(part)?
                .get("properties")?
                .as_object()
        })
        .flat_map(Map::iter)
        .map(|(name, property)| {
            let title = property
                .get("title")
                .and_then(Value::as_str)
                .unwrap_or_default();
            (name.clone(), title.to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_filter_on_the_profile_and_escape_quotes() {
        assert_eq!(
            lookup_filter("login", "jdoe@acme.com").ok().as_deref(),
            Some("profile.login eq \"jdoe@acme.com\"")
        );
        assert_eq!(
            lookup_filter("email", r#"a"b\c"#).ok().as_deref(),
            Some(r#"profile.email eq "a\"b\\c""#)
        );
        assert!(lookup_filter("userName", "x").is_err());
    }

    #[test]
    fn a_lookup_must_match_at_most_one_user() {
        let none = json!([]);
        assert!(matches!(single_match(&none, "login", "a"), Ok(None)));
        let one = json!([{"id": "00u1"}]);
        assert_eq!(
            single_match(&one, "login", "a").ok().flatten(),
            Some(&json!({"id": "00u1"}))
        );
        let two = json!([{"id": "00u1"}, {"id": "00u2"}]);
        let err = single_match(&two, "email", "a@x").unwrap_err();
        assert_eq!(err.code, "409");
        assert!(
            err.message.starts_with("2 Okta users have email"),
            "{}",
            err.message
        );
        assert!(single_match(&json!({}), "email", "a@x").is_err());
    }

    #[test]
    fn only_deprovisioned_users_are_inactive() {
        let user = json!({
            "id": "00u1", "status": "SUSPENDED",
            "profile": {"login": "jdoe@acme.com", "email": "j@acme.com"},
        });
        let app = app_user(&user).expect("a user");
        assert_eq!(
            (
                app.id.as_str(),
                app.username.as_str(),
                app.email.as_str(),
                app.active
            ),
            ("00u1", "jdoe@acme.com", "j@acme.com", true)
        );
        assert_eq!(serde_json::from_str::<Value>(&app.details).ok(), Some(user));
        let gone = json!({"id": "00u1", "status": "DEPROVISIONED"});
        assert!(!app_user(&gone).expect("a user").active);
        assert!(app_user(&json!({"status": "ACTIVE"})).is_err());
    }

    #[test]
    fn the_profile_body_leaves_unset_attributes_alone() {
        let body = profile_body(r#"{"login": "a@x", "title": null}"#).expect("a body");
        assert_eq!(body, json!({"profile": {"login": "a@x"}}));
        assert!(profile_body("[1]").is_err());
    }

    #[test]
    fn schema_fields_list_base_then_custom() {
        let schema = json!({"definitions": {
            "custom": {"properties": {"costCode": {"title": "Cost code"}}},
            "base": {"properties": {"login": {"title": "Username"}, "email": {}}},
        }});
        assert_eq!(
            schema_fields(&schema),
            vec![
                ("email".to_owned(), String::new()),
                ("login".to_owned(), "Username".to_owned()),
                ("costCode".to_owned(), "Cost code".to_owned()),
            ]
        );
        assert!(schema_fields(&json!({})).is_empty());
    }
}
