//! Typed reading of command arguments and instance parameters. Both arrive as JSON
//! objects whose values may be typed (`50`, `true`) or text (`"50"`, `"true"`): the host
//! types parameters by the manifest, while command arguments are JSON only when they
//! parse as JSON (so `query=true` arrives as a boolean and `user_id=123` as a number).
//! A count or flag of the wrong kind is an error naming the argument, never a silent
//! default.

use ilm_plugin_sdk::{app_error, AppError};
use serde_json::{Map, Value};

/// A text value; numbers and booleans count as their text. `None` when absent, null,
/// blank, a list or an object.
pub fn text(map: &Map<String, Value>, name: &str) -> Option<String> {
    match map.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A required text value.
pub fn required(map: &Map<String, Value>, name: &str) -> Result<String, AppError> {
    text(map, name).ok_or_else(|| app_error("400", format!("the argument {name} is required")))
}

/// A whole number in `1..=max`, `default` when absent or blank.
pub fn count(
    map: &Map<String, Value>,
    name: &str,
    default: u64,
    max: u64,
) -> Result<u64, AppError> {
    bounded(map, name, default, 1, max)
}

/// A whole number in `min..=max`, `default` when absent or blank.
pub fn bounded(
    map: &Map<String, Value>,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, AppError> {
    let bad = |shown: &dyn std::fmt::Display| {
        app_error(
            "400",
            format!("{name} must be a whole number from {min} to {max}, not {shown}"),
        )
    };
    let value = match map.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::String(s)) => s.trim().parse::<u64>().map_err(|_| bad(s))?,
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(n))?,
        Some(other) => return Err(bad(other)),
    };
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(bad(&value))
    }
}

/// A boolean, `default` when absent or blank.
pub fn flag(map: &Map<String, Value>, name: &str, default: bool) -> Result<bool, AppError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" => Ok(default),
            "true" | "yes" | "1" => Ok(true),
            "false" | "no" | "0" => Ok(false),
            _ => Err(app_error(
                "400",
                format!("{name} must be true or false, not {s:?}"),
            )),
        },
        Some(other) => Err(app_error(
            "400",
            format!("{name} must be true or false, not {other}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn text_takes_numbers_and_skips_blanks() {
        let m = map(json!({"a": " x ", "b": 123, "c": "  ", "d": null, "e": true, "f": [1]}));
        assert_eq!(text(&m, "a").as_deref(), Some("x"));
        assert_eq!(text(&m, "b").as_deref(), Some("123"));
        assert_eq!(text(&m, "c"), None);
        assert_eq!(text(&m, "d"), None);
        assert_eq!(text(&m, "e").as_deref(), Some("true"));
        assert_eq!(text(&m, "f"), None);
        assert!(required(&m, "c")
            .unwrap_err()
            .message
            .contains("c is required"));
    }

    #[test]
    fn counts_are_bounded_and_typed() {
        let m = map(json!({"n": 5, "s": "7", "big": 201, "neg": -1, "word": "many", "blank": ""}));
        assert_eq!(count(&m, "n", 50, 200).ok(), Some(5));
        assert_eq!(count(&m, "s", 50, 200).ok(), Some(7));
        assert_eq!(count(&m, "absent", 50, 200).ok(), Some(50));
        assert_eq!(count(&m, "blank", 50, 200).ok(), Some(50));
        let err = count(&m, "big", 50, 200).unwrap_err();
        assert_eq!(
            err.message,
            "big must be a whole number from 1 to 200, not 201"
        );
        assert!(count(&m, "neg", 50, 200).is_err());
        assert!(count(&m, "word", 50, 200).is_err());
        assert_eq!(
            bounded(
                &json!({"p": 0}).as_object().cloned().unwrap_or_default(),
                "p",
                0,
                0,
                9
            )
            .ok(),
            Some(0)
        );
    }

    #[test]
    fn flags_read_booleans_and_their_text() {
        let m = map(json!({"t": true, "f": "false", "y": "Yes", "x": "maybe", "n": 1}));
        assert_eq!(flag(&m, "t", false).ok(), Some(true));
        assert_eq!(flag(&m, "f", true).ok(), Some(false));
        assert_eq!(flag(&m, "y", false).ok(), Some(true));
        assert_eq!(flag(&m, "absent", true).ok(), Some(true));
        assert!(flag(&m, "x", true).is_err());
        assert!(flag(&m, "n", true).is_err());
    }
}
