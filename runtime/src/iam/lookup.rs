//! Which attribute and value identify a user in an app.

use serde_json::{Map, Value};

/// The start of the error when no identifying attribute has a value.
pub const MISSING_ATTRIBUTES: &str =
    "the user profile must contain at least one attribute that is mapped into one of:";

/// The first (attribute, value) the profile fills, in the app's order. `id` comes from the
/// raw profile (ids are not in outgoing maps); other attributes from the mapped profile.
/// `old` (raw and mapped `olduserdata`) wins when given, so a renamed user is found by the
/// old name.
pub fn lookup_value(
    attributes: &[String],
    raw: &Value,
    mapped: &Map<String, Value>,
    old: Option<(&Value, &Map<String, Value>)>,
) -> Option<(String, String)> {
    attributes.iter().find_map(|attribute| {
        let from = |raw: &Value, mapped: &Map<String, Value>| {
            if attribute == "id" {
                raw.get("id").and_then(scalar)
            } else {
                mapped.get(attribute).and_then(scalar_or_primary)
            }
        };
        old.and_then(|(raw_old, mapped_old)| from(raw_old, mapped_old))
            .or_else(|| from(raw, mapped))
            .map(|value| (attribute.clone(), value))
    })
}

fn scalar(value: &Value) -> Option<String> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    (!text.is_empty()).then_some(text)
}

/// A scalar, or from a list of SCIM-style `{value, primary}` objects the primary one's
/// value (else the first).
fn scalar_or_primary(value: &Value) -> Option<String> {
    match value {
        Value::Array(items) => {
            let primary = items
                .iter()
                .find(|item| item.get("primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| items.first())?;
            match primary {
                Value::Object(obj) => obj.get("value").and_then(scalar),
                other => scalar(other),
            }
        }
        other => scalar(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn first_filled_attribute_wins_in_order() {
        let mapped = obj(
            json!({"userName": "", "emails": [{"value": "a@x.com"}, {"value": "b@x.com", "primary": true}]}),
        );
        let found = lookup_value(
            &attrs(&["id", "userName", "emails"]),
            &json!({}),
            &mapped,
            None,
        );
        assert_eq!(found, Some(("emails".into(), "b@x.com".into())));
    }

    #[test]
    fn id_comes_from_the_raw_profile() {
        let mapped = obj(json!({"id": "mapped", "userName": "u"}));
        let found = lookup_value(
            &attrs(&["id", "userName"]),
            &json!({"id": 42}),
            &mapped,
            None,
        );
        assert_eq!(found, Some(("id".into(), "42".into())));
    }

    #[test]
    fn old_data_wins_for_renames() {
        let mapped = obj(json!({"userName": "new@x.com"}));
        let old_mapped = obj(json!({"userName": "old@x.com"}));
        let old_raw = json!({"username": "old@x.com"});
        let found = lookup_value(
            &attrs(&["userName"]),
            &json!({}),
            &mapped,
            Some((&old_raw, &old_mapped)),
        );
        assert_eq!(found, Some(("userName".into(), "old@x.com".into())));
    }

    #[test]
    fn nothing_filled_is_none() {
        assert_eq!(
            lookup_value(&attrs(&["id", "email"]), &json!({}), &Map::new(), None),
            None
        );
    }
}
