//! The IAM configuration: which Okta app each ilm instance provisions, kept in the
//! instance's integration context under `IAMConfiguration` as a list of
//! `{ApplicationID, Name, Label, Logo, Instance}`. Invariant: one instance is connected to
//! one app and one app to one instance, and every app ID names an existing Okta app when
//! it is saved. Other context keys are left as they are.

use crate::client::{encode, Okta};
use ilm_plugin_sdk::{app_error, instance, AppError};
use serde_json::{json, Map, Value};

/// The context key of the configuration.
pub const KEY: &str = "IAMConfiguration";

/// One instance ↔ app connection as asked for, before the app is resolved.
#[derive(Debug, PartialEq)]
pub struct Connection {
    pub app_id: String,
    pub instance: String,
}

/// The instance's integration context as an object (an unreadable context counts as
/// empty, so a damaged one can be overwritten by saving a configuration).
fn context() -> Map<String, Value> {
    match serde_json::from_str(&instance::get_context()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// The saved configuration rows (none when unset).
pub fn load() -> Vec<Value> {
    rows_of(context().get(KEY))
}

/// The app IDs of the saved configuration, in order.
pub fn app_ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .filter_map(|row| row.get("ApplicationID").and_then(Value::as_str))
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// The rows of a stored configuration: a list, or the JSON text of one (as older tools
/// stored it). Anything else is no configuration.
pub fn rows_of(stored: Option<&Value>) -> Vec<Value> {
    match stored {
        Some(Value::Array(rows)) => rows.clone(),
        Some(Value::String(text)) => match serde_json::from_str(text) {
            Ok(Value::Array(rows)) => rows,
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Resolves every connection's app in Okta and saves the configuration; returns the
/// saved rows. Nothing is saved when any app is unknown.
pub fn save(okta: &Okta, argument: &Value) -> Result<Vec<Value>, AppError> {
    let connections = connections(argument)?;
    let mut rows = Vec::with_capacity(connections.len());
    for connection in &connections {
        let url = okta.url(&format!("apps/{}", encode(&connection.app_id)));
        let app = okta.get_optional(&url)?.ok_or_else(|| {
            app_error(
                "404",
                format!(
                    "no Okta app with ID {:?} (for instance {:?}); okta-iam-list-applications lists the apps",
                    connection.app_id, connection.instance
                ),
            )
        })?;
        rows.push(row(&app, connection));
    }
    let mut context = context();
    context.insert(KEY.to_owned(), Value::Array(rows.clone()));
    instance::set_context(&Value::Object(context).to_string())
        .map_err(|e| app_error("context", format!("could not save the configuration: {e}")))?;
    Ok(rows)
}

/// The connections of the `configuration` argument: a JSON list of objects (or the text
/// of one), each with `ApplicationID` and `Instance`. Refuses an instance or an app that
/// appears twice, naming them.
pub fn connections(argument: &Value) -> Result<Vec<Connection>, AppError> {
    let parsed;
    let list = match argument {
        Value::Array(list) => list,
        Value::String(text) => {
            parsed = serde_json::from_str::<Value>(text)
                .map_err(|e| app_error("400", format!("configuration is not valid JSON: {e}")))?;
            match &parsed {
                Value::Array(list) => list,
                _ => return Err(not_a_list()),
            }
        }
        _ => return Err(not_a_list()),
    };
    let mut connections: Vec<Connection> = Vec::with_capacity(list.len());
    for (n, row) in list.iter().enumerate() {
        let field = |name: &str| {
            row.get(name)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| {
                    app_error("400", format!("configuration row {} has no {name}", n + 1))
                })
        };
        let connection = Connection {
            app_id: field("ApplicationID")?,
            instance: field("Instance")?,
        };
        if let Some(other) = connections
            .iter()
            .find(|c| c.instance == connection.instance)
        {
            return Err(app_error(
                "400",
                format!(
                    "instance {:?} is connected to two apps ({} and {}); an instance provisions one app",
                    connection.instance, other.app_id, connection.app_id
                ),
            ));
        }
        if let Some(other) = connections.iter().find(|c| c.app_id == connection.app_id) {
            return Err(app_error(
                "400",
                format!(
                    "app {} is connected to two instances ({:?} and {:?}); an app is provisioned by one instance",
                    connection.app_id, other.instance, connection.instance
                ),
            ));
        }
        connections.push(connection);
    }
    Ok(connections)
}

fn not_a_list() -> AppError {
    app_error(
        "400",
        "configuration must be a JSON list of {\"ApplicationID\": …, \"Instance\": …} objects",
    )
}

/// The saved row of a resolved app.
pub fn row(app: &Value, connection: &Connection) -> Value {
    let text = |key: &str| app.get(key).and_then(Value::as_str).unwrap_or_default();
    let logo = app
        .pointer("/_links/logo/0/href")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({
        "ApplicationID": connection.app_id,
        "Name": text("name"),
        "Label": text("label"),
        "Logo": logo,
        "Instance": connection.instance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_come_from_a_list_or_its_text() {
        let expected = vec![Connection {
            app_id: "0oa1".into(),
            instance: "Slack".into(),
        }];
        let list = json!([{"ApplicationID": "0oa1", "Instance": "Slack", "Name": "x"}]);
        assert_eq!(connections(&list).ok(), Some(expected));
        let text = json!(r#"[{"ApplicationID": " 0oa1 ", "Instance": "Slack"}]"#);
        assert_eq!(connections(&text).map(|c| c.len()).ok(), Some(1));
        assert_eq!(connections(&json!([])).map(|c| c.len()).ok(), Some(0));
        assert!(connections(&json!({"ApplicationID": "0oa1"})).is_err());
        assert!(connections(&json!("not json")).is_err());
    }

    #[test]
    fn every_row_needs_an_app_and_an_instance() {
        let err = connections(
            &json!([{"ApplicationID": "0oa1", "Instance": "A"}, {"ApplicationID": "0oa2"}]),
        )
        .unwrap_err();
        assert_eq!(err.message, "configuration row 2 has no Instance");
        assert!(connections(&json!([{"ApplicationID": "", "Instance": "A"}])).is_err());
    }

    #[test]
    fn one_instance_one_app() {
        let err = connections(&json!([
            {"ApplicationID": "0oa1", "Instance": "A"},
            {"ApplicationID": "0oa2", "Instance": "A"},
        ]))
        .unwrap_err();
        assert!(
            err.message
                .contains("instance \"A\" is connected to two apps (0oa1 and 0oa2)"),
            "{}",
            err.message
        );
        let err = connections(&json!([
            {"ApplicationID": "0oa1", "Instance": "A"},
            {"ApplicationID": "0oa1", "Instance": "B"},
        ]))
        .unwrap_err();
        assert!(
            err.message
                .contains("app 0oa1 is connected to two instances (\"A\" and \"B\")"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_row_takes_name_label_and_the_first_logo() {
        let app = json!({
            "id": "0oa1", "name": "slack", "label": "Slack",
            "_links": {"logo": [{"name": "medium", "href": "https://logo/1.png"}, {"href": "x"}]},
        });
        let connection = Connection {
            app_id: "0oa1".into(),
            instance: "Slack IAM".into(),
        };
        assert_eq!(
            row(&app, &connection),
            json!({"ApplicationID": "0oa1", "Name": "slack", "Label": "Slack",
                   "Logo": "https://logo/1.png", "Instance": "Slack IAM"})
        );
        assert_eq!(row(&json!({}), &connection)["Logo"], json!(""));
    }

    #[test]
    fn stored_rows_are_a_list_or_its_text() {
        let rows = json!([{"ApplicationID": "0oa1"}, {"ApplicationID": " "}, {"x": 1}]);
        assert_eq!(rows_of(Some(&rows)).len(), 3);
        assert_eq!(app_ids(&rows_of(Some(&rows))), vec!["0oa1".to_owned()]);
        let text = Value::String(rows.to_string());
        assert_eq!(rows_of(Some(&text)).len(), 3);
        assert!(rows_of(None).is_empty());
        assert!(rows_of(Some(&json!({}))).is_empty());
    }
}
