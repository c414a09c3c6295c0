//! ServiceNow users: `sys_user` records as app users, found by sys_id, user_name or email;
//! created, changed, activated and deactivated. ServiceNow returns every field as text, so
//! `active` is the text "true" or "false".

use crate::query;
use crate::table::Table;
use ilm_plugin_sdk::{app_error, AppError, AppUser};
use serde_json::{Map, Value};

/// The table of users.
pub const USERS: &str = "sys_user";

/// The lookup attributes, in order: the app id (sys_id, from the profile's `id`), then the
/// mapped profile's `user_name` (unique in ServiceNow), then its `email`.
pub const IDENTIFY_ATTRIBUTES: &[&str] = &["id", "user_name", "email"];

/// How many matches a lookup reads: enough to tell one from several.
const LOOKUP_LIMIT: u64 = 10;

/// The user whose `attribute` is `value`; `None` when there is none. Several users with
/// that value are an error: picking one could change the wrong person.
pub fn find(table: &Table, attribute: &str, value: &str) -> Result<Option<AppUser>, AppError> {
    if attribute == "id" || attribute == "sys_id" {
        return table.get(USERS, value)?.map(|u| app_user(&u)).transpose();
    }
    let condition = query::equals(attribute, value)?;
    let page = table.query(USERS, &condition, None, LOOKUP_LIMIT, 0)?;
    // ServiceNow compares case-insensitively, and drops a condition it cannot apply
    // instead of failing: keep only the records that really hold the value.
    let matches: Vec<&Value> = page
        .records
        .iter()
        .filter(|record| field_text(record, attribute).eq_ignore_ascii_case(value))
        .collect();
    match matches.as_slice() {
        [] => Ok(None),
        [one] => app_user(one).map(Some),
        several => Err(app_error(
            "409",
            format!(
                "{} ServiceNow users have {attribute} {value:?} (sys_ids {}): make it unique in ServiceNow, or map a unique user_name",
                several.len(),
                several.iter().map(|u| field_text(u, "sys_id")).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// A user without a `user_name` is refused before any request: ServiceNow would store it,
/// and a nameless account can never be found or deprovisioned by name.
pub fn create(table: &Table, profile: &str) -> Result<AppUser, AppError> {
    let fields = body(profile)?;
    let named = fields
        .get("user_name")
        .and_then(Value::as_str)
        .is_some_and(|name| !name.trim().is_empty());
    if !named {
        return Err(app_error(
            "400",
            "a new sys_user needs a user_name: the instance's outgoing map gave none \
             (map the profile's username or email to user_name)",
        ));
    }
    let created = table.insert(USERS, &fields)?;
    app_user(&created)
}

/// Sends the mapped fields the profile has; an empty change reads the user back instead.
pub fn update(table: &Table, sys_id: &str, profile: &str) -> Result<AppUser, AppError> {
    let changes = body(profile)?;
    if changes.is_empty() {
        let user = table.get(USERS, sys_id)?.ok_or_else(|| not_found(sys_id))?;
        return app_user(&user);
    }
    app_user(&table.patch(USERS, sys_id, &changes)?)
}

/// `active` true or false (activating also unlocks); the answer must show the change, as a
/// business rule can keep the old value without failing the request.
pub fn set_active(table: &Table, sys_id: &str, active: bool) -> Result<AppUser, AppError> {
    let mut change = Map::new();
    change.insert("active".into(), Value::String(active.to_string()));
    if active {
        change.insert("locked_out".into(), Value::String("false".into()));
    }
    let user = app_user(&table.patch(USERS, sys_id, &change)?)?;
    if user.active != active {
        return Err(app_error(
            "409",
            format!(
                "ServiceNow accepted active={active} for sys_user {sys_id} but kept it {}: a business rule or ACL on sys_user refuses the change",
                user.active
            ),
        ));
    }
    Ok(user)
}

fn not_found(sys_id: &str) -> AppError {
    app_error("404", format!("ServiceNow has no sys_user {sys_id:?}"))
}

/// The app user of a `sys_user` record.
pub fn app_user(record: &Value) -> Result<AppUser, AppError> {
    let id = field_text(record, "sys_id");
    if id.is_empty() {
        return Err(app_error(
            "502",
            format!("ServiceNow returned a user without a sys_id: {record}"),
        ));
    }
    let active = match record.get("active") {
        Some(Value::String(text)) => text == "true",
        Some(Value::Bool(active)) => *active,
        _ => {
            return Err(app_error(
                "502",
                format!("ServiceNow returned sys_user {id} without its active field; the integration user must be able to read it"),
            ))
        }
    };
    Ok(AppUser {
        username: field_text(record, "user_name"),
        email: field_text(record, "email"),
        id,
        active,
        details: record.to_string(),
    })
}

/// A field as text: ServiceNow sends text, or `{link, value}` for references.
fn field_text(record: &Value, field: &str) -> String {
    match record.get(field) {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Object(reference)) => reference
            .get("value")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

/// The request body of a mapped profile: its fields without the unset ones (so an update
/// never blanks a field the profile does not have) and without `sys_id`, which ServiceNow
/// assigns. ServiceNow fields hold text, numbers or booleans; a list or object is refused.
fn body(profile: &str) -> Result<Map<String, Value>, AppError> {
    let mut fields = ilm_plugin_sdk::json_object(profile, "the mapped profile")?;
    fields.retain(|key, value| !value.is_null() && key != "sys_id");
    if let Some((key, _)) = fields.iter().find(|(_, v)| v.is_array() || v.is_object()) {
        return Err(app_error(
            "400",
            format!("the mapper gave ServiceNow field {key:?} a list or object; sys_user fields take text: fix the servicenow mapper's outgoing function"),
        ));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn active_is_the_text_true() {
        let user = |active: Value| {
            app_user(
                &json!({"sys_id": "6816f79cc0a8016401c5a33be04be441", "user_name": "jdoe", "active": active}),
            )
        };
        assert!(user(json!("true")).is_ok_and(|u| u.active));
        assert!(user(json!("false")).is_ok_and(|u| !u.active));
        assert!(user(json!(true)).is_ok_and(|u| u.active));
        assert!(user(json!(null)).is_err());
    }

    #[test]
    fn a_body_leaves_out_unset_fields_and_the_sys_id() {
        let fields = body(r#"{"user_name": "jdoe", "title": null, "sys_id": "x"}"#);
        assert_eq!(
            fields.ok().map(Value::Object),
            Some(json!({"user_name": "jdoe"}))
        );
        assert!(body(r#"{"email": ["a@x"]}"#).is_err_and(|e| e.message.contains("\"email\"")));
    }

    #[test]
    fn references_are_read_by_their_value() {
        let record = json!({"department": {"link": "https://x/api/now/table/cmn_department/1", "value": "1"}});
        assert_eq!(field_text(&record, "department"), "1");
        assert_eq!(field_text(&record, "missing"), "");
    }
}
