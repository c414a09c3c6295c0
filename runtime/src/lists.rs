//! The shapes of the lists playbooks read. A list is free text to the store, but a
//! playbook that reads `app-provisioning-settings` compares flags with a real JSON `true`
//! and calls the instance a row names: a string `"true"`, a misspelt key or an instance that
//! does not exist would make provisioning silently do nothing. Setting such a list checks it
//! first and says what is wrong.

use crate::fetch::json_type;
use crate::store::Refusal;
use serde_json::{Map, Value};

/// The list of instance rows the New Hire, Update, Terminate and Rehire playbooks provision.
pub const APP_PROVISIONING_SETTINGS: &str = "app-provisioning-settings";

/// The keys of an `app-provisioning-settings` row and the JSON type each must have.
const ROW_KEYS: &[(&str, Kind)] = &[
    ("instance_name", Kind::Text),
    ("create_user_enabled", Kind::Flag),
    ("create_user_group", Kind::Text),
    ("update_user_enabled", Kind::Flag),
    ("disable_user_enabled", Kind::Flag),
    ("enable_user_enabled", Kind::Flag),
    ("create_user_email_notification_ids", Kind::Text),
    ("enable_user_email_notification_ids", Kind::Text),
    ("disable_user_email_notification_ids", Kind::Text),
];

#[derive(Clone, Copy)]
enum Kind {
    Text,
    Flag,
}

/// Checks `body` as the list `name`. Lists without a known shape only have to parse when
/// they look like JSON (playbooks parse them). `instances` are the configured instance names.
pub fn check(name: &str, body: &str, instances: &[String]) -> Result<(), Refusal> {
    let trimmed = body.trim_start();
    let looks_like_json = trimmed.starts_with('[') || trimmed.starts_with('{');
    if name != APP_PROVISIONING_SETTINGS && !looks_like_json {
        return Ok(());
    }
    let value: Value = serde_json::from_str(body).map_err(|e| {
        Refusal::Invalid(format!(
            "list {name:?} looks like JSON but does not parse: {e}"
        ))
    })?;
    if name == APP_PROVISIONING_SETTINGS {
        check_provisioning_settings(&value, instances)?;
    }
    Ok(())
}

fn check_provisioning_settings(value: &Value, instances: &[String]) -> Result<(), Refusal> {
    let invalid =
        |message: String| Refusal::Invalid(format!("{APP_PROVISIONING_SETTINGS}: {message}"));
    let Value::Array(rows) = value else {
        return Err(invalid(format!(
            "must be a JSON array of instance rows like [{{\"instance_name\": \"ad\", \"create_user_enabled\": true}}], not {}",
            json_type(value)
        )));
    };
    let mut seen: Vec<&str> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let Value::Object(row) = row else {
            return Err(invalid(format!(
                "row {index} must be an object, not {}",
                json_type(row)
            )));
        };
        let instance = check_row(row).map_err(|e| invalid(format!("row {index}: {e}")))?;
        if !instances.iter().any(|known| known == instance) {
            return Err(Refusal::NotFound(format!(
                "{APP_PROVISIONING_SETTINGS}: row {index} names the instance {instance:?}, which does not exist; \
                 configured instances: {} (add it with `ilm instance add`)",
                if instances.is_empty() { "none".to_owned() } else { instances.join(", ") }
            )));
        }
        if seen.contains(&instance) {
            return Err(invalid(format!(
                "row {index}: the instance {instance:?} has a row already; give each instance one row"
            )));
        }
        seen.push(instance);
    }
    Ok(())
}

/// Checks one row's keys and types; returns its instance name.
fn check_row(row: &Map<String, Value>) -> Result<&str, String> {
    for (key, value) in row {
        let Some((_, kind)) = ROW_KEYS.iter().find(|(known, _)| known == key) else {
            let known: Vec<&str> = ROW_KEYS.iter().map(|(k, _)| *k).collect();
            return Err(format!(
                "unknown key {key:?}; the keys are {}",
                known.join(", ")
            ));
        };
        match (kind, value) {
            (Kind::Text, Value::String(_)) | (Kind::Flag, Value::Bool(_)) => {}
            (Kind::Flag, Value::String(text)) => {
                return Err(format!(
                    "{key} is the string {text:?}; write the JSON boolean {} without quotes",
                    text.trim().eq_ignore_ascii_case("true")
                ))
            }
            (Kind::Flag, other) => {
                return Err(format!(
                    "{key} must be true or false, not {}",
                    json_type(other)
                ))
            }
            (Kind::Text, other) => {
                return Err(format!("{key} must be a string, not {}", json_type(other)))
            }
        }
    }
    match row.get("instance_name") {
        Some(Value::String(name)) if !name.trim().is_empty() => Ok(name),
        _ => Err("instance_name is missing; name the instance the row provisions".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instances() -> Vec<String> {
        vec!["ad".to_owned(), "github".to_owned()]
    }

    fn refusal(body: &str) -> String {
        match check(APP_PROVISIONING_SETTINGS, body, &instances()) {
            Err(refusal) => refusal.to_string(),
            Ok(()) => panic!("{body} was accepted"),
        }
    }

    #[test]
    fn a_well_formed_list_is_accepted() {
        let body = r#"[{"instance_name": "ad", "create_user_enabled": true, "create_user_group": "All",
            "create_user_email_notification_ids": "it@acme.test"},
            {"instance_name": "github", "disable_user_enabled": false}]"#;
        check(APP_PROVISIONING_SETTINGS, body, &instances()).expect("valid");
        check(APP_PROVISIONING_SETTINGS, "[]", &instances()).expect("empty is valid");
    }

    #[test]
    fn wrong_shapes_are_refused_with_what_to_write() {
        assert!(refusal(r#"{"instance_name": "ad"}"#).contains("must be a JSON array"));
        assert!(refusal(r#"["ad"]"#).contains("row 0 must be an object, not a string"));
        assert!(refusal("ad").contains("does not parse"));
        let quoted = refusal(r#"[{"instance_name": "ad", "create_user_enabled": "true"}]"#);
        assert!(
            quoted.contains("write the JSON boolean true without quotes"),
            "{quoted}"
        );
        let typo = refusal(r#"[{"instance_name": "ad", "create_user_enable": true}]"#);
        assert!(
            typo.contains("unknown key \"create_user_enable\""),
            "{typo}"
        );
        assert!(typo.contains("create_user_enabled"), "{typo}");
        assert!(refusal(r#"[{"create_user_enabled": true}]"#).contains("instance_name is missing"));
        assert!(
            refusal(r#"[{"instance_name": "ad"}, {"instance_name": "ad"}]"#)
                .contains("row 1: the instance \"ad\" has a row already")
        );
    }

    #[test]
    fn an_unknown_instance_is_refused_naming_those_that_exist() {
        let message = refusal(r#"[{"instance_name": "okta", "create_user_enabled": true}]"#);
        assert!(
            message.contains("\"okta\", which does not exist"),
            "{message}"
        );
        assert!(
            message.contains("configured instances: ad, github"),
            "{message}"
        );
        match check(
            APP_PROVISIONING_SETTINGS,
            r#"[{"instance_name": "x"}]"#,
            &[],
        ) {
            Err(Refusal::NotFound(message)) => {
                assert!(message.contains("configured instances: none"))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn other_lists_only_have_to_parse_when_they_look_like_json() {
        check("deactivation-count", "50", &[]).expect("plain text");
        check("anything", r#"{"a": 1}"#, &[]).expect("JSON");
        assert!(check("anything", "[1,", &[]).is_err());
    }
}
