//! ServiceNow encoded queries (`sysparm_query`): conditions joined by `^`, e.g.
//! `user_name=jdoe^active=true`.

use ilm_plugin_sdk::{app_error, AppError};

/// The condition `field=value`. ServiceNow has no escape for `^` in a value (it would start
/// a new condition) and ignores conditions on fields it does not know, so both are refused
/// here rather than sent as a query that matches other users.
pub fn equals(field: &str, value: &str) -> Result<String, AppError> {
    let field_ok = field.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && field
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !field_ok {
        return Err(app_error(
            "400",
            format!("{field:?} is not a ServiceNow field name (lowercase letters, digits and _)"),
        ));
    }
    if value.contains('^') || value.contains(['\n', '\r']) {
        return Err(app_error(
            "400",
            format!(
                "cannot look a ServiceNow user up by {field} {value:?}: an encoded query cannot hold ^ or a line break in a value; look the user up by another attribute"
            ),
        ));
    }
    Ok(format!("{field}={value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_is_field_equals_value() {
        assert_eq!(
            equals("email", "a+b@x.test").ok().as_deref(),
            Some("email=a+b@x.test")
        );
    }

    #[test]
    fn a_caret_or_a_bad_field_is_refused() {
        let caret = equals("user_name", "a^ORuser_name=admin").err();
        assert!(caret.is_some_and(|e| e.code == "400" && e.message.contains("^")));
        assert!(equals("user name", "x").is_err());
        assert!(equals("", "x").is_err());
        assert!(equals("Email", "x").is_err());
    }
}
