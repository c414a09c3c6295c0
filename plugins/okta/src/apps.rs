//! Okta applications: listing the org's apps, a user's apps and one user's assignment to
//! one app. Results are the short rows people read (`ID`, `Name`, `Label`, …), except an
//! assignment's app profile, which is returned whole.

use crate::args;
use crate::client::{encode, quote, Okta};
use ilm_plugin_sdk::{app_error, AppError};
use serde_json::{json, Map, Value};

/// Apps per page of `okta-iam-list-applications` when `limit` is not given.
const DEFAULT_LIMIT: u64 = 50;
/// The largest page Okta's apps listing serves.
const MAX_LIMIT: u64 = 200;
/// Highest page index accepted: deeper paging is better done with a narrower query.
const MAX_PAGE_INDEX: u64 = 1000;

/// `okta-iam-list-applications`: page `page` (0-based) of `limit` apps matching `query`.
pub fn list(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let limit = args::count(arguments, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let page_index = args::bounded(arguments, "page", 0, 0, MAX_PAGE_INDEX)?;
    let mut url = okta.url(&format!("apps?limit={limit}"));
    if let Some(query) = args::text(arguments, "query") {
        url.push_str(&format!("&q={}", encode(&query)));
    }
    // Okta pages with opaque `after` cursors: page n is reached by following n links.
    let mut page = okta.page(&url)?;
    for _ in 0..page_index {
        match page.next.take() {
            Some(next) if !page.items.is_empty() => page = okta.page(&next)?,
            _ => return Ok(json!([])),
        }
    }
    Ok(Value::Array(
        page.items.iter().map(|app| summary(app, "Logo")).collect(),
    ))
}

/// `okta-iam-list-user-applications`: every app assigned to `user_id`.
pub fn of_user(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let user_id = args::required(arguments, "user_id")?;
    let filter = format!("user.id eq \"{}\"", quote(&user_id));
    let url = okta.url(&format!(
        "apps?limit={MAX_LIMIT}&filter={}",
        encode(&filter)
    ));
    let apps = okta.collect(&url, None)?;
    Ok(Value::Array(
        apps.iter().map(|app| summary(app, "Status")).collect(),
    ))
}

/// `okta-get-app-user-assignment`: whether `user_id` is assigned to `application_id`, with
/// the user's profile in the app when it is, and the app's status (`ACTIVE`, `INACTIVE`,
/// or `DELETED` when Okta no longer has it), so a flow can refuse to provision into an app
/// an administrator switched off.
pub fn assignment(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let user_id = args::required(arguments, "user_id")?;
    let app_id = args::required(arguments, "application_id")?;
    let url = okta.url(&format!(
        "apps/{}/users/{}",
        encode(&app_id),
        encode(&user_id)
    ));
    let found = okta.get_optional(&url)?;
    let app = okta.get_optional(&okta.url(&format!("apps/{}", encode(&app_id))))?;
    let status = match &app {
        Some(app) => app
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("ACTIVE"),
        None => "DELETED",
    };
    Ok(assignment_row(&user_id, &app_id, found.as_ref(), status))
}

/// The assignment row: Okta answers 404 for a user not assigned to the app.
pub fn assignment_row(
    user_id: &str,
    app_id: &str,
    app_user: Option<&Value>,
    app_status: &str,
) -> Value {
    json!({
        "UserID": user_id,
        "AppID": app_id,
        "IsAssigned": app_user.is_some(),
        "ProfileInApp": app_user.and_then(|u| u.get("profile")).cloned().unwrap_or(Value::Null),
        "AppStatus": app_status,
    })
}

/// `{ID, Name, Label}` of an app plus `Logo` (its first logo link) or `Status`.
pub fn summary(app: &Value, extra: &str) -> Value {
    let text = |pointer: &str| {
        app.pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let extra_value = match extra {
        "Logo" => text("/_links/logo/0/href"),
        _ => text("/status"),
    };
    json!({
        "ID": text("/id"),
        "Name": text("/name"),
        "Label": text("/label"),
        extra: extra_value,
    })
}

/// The error of a required lookup that found nothing.
pub fn not_found(what: &str, id: &str) -> AppError {
    app_error("404", format!("no Okta {what} with ID {id:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_rows_carry_a_logo_or_a_status() {
        let app = json!({
            "id": "0oa1", "name": "slack", "label": "Slack", "status": "ACTIVE",
            "_links": {"logo": [{"href": "https://logo/1.png"}]},
        });
        assert_eq!(
            summary(&app, "Logo"),
            json!({"ID": "0oa1", "Name": "slack", "Label": "Slack", "Logo": "https://logo/1.png"})
        );
        assert_eq!(
            summary(&app, "Status"),
            json!({"ID": "0oa1", "Name": "slack", "Label": "Slack", "Status": "ACTIVE"})
        );
        assert_eq!(summary(&json!({}), "Logo")["Logo"], json!(""));
    }

    #[test]
    fn an_assignment_is_present_or_not() {
        let app_user = json!({"id": "00u1", "profile": {"email": "j@acme.com"}});
        assert_eq!(
            assignment_row("00u1", "0oa1", Some(&app_user), "ACTIVE"),
            json!({"UserID": "00u1", "AppID": "0oa1", "IsAssigned": true,
                   "ProfileInApp": {"email": "j@acme.com"}, "AppStatus": "ACTIVE"})
        );
        assert_eq!(
            assignment_row("00u1", "0oa1", None, "INACTIVE"),
            json!({"UserID": "00u1", "AppID": "0oa1", "IsAssigned": false, "ProfileInApp": null,
                   "AppStatus": "INACTIVE"})
        );
    }
}
