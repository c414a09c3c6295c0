//! One canonical text form for profile values, so a comparison sees only real changes:
//! missing, null, "" and blanks are all empty; `1` and `"1"` are the same; strings are
//! trimmed; booleans read as `True`/`False` (the string form the mapper writes for flags).

use super::Profile;
use serde_json::Value;
use std::borrow::Cow;

/// The canonical text of `value` (`None` = missing).
pub fn text(value: Option<&Value>) -> Cow<'_, str> {
    match value {
        None | Some(Value::Null) => Cow::Borrowed(""),
        Some(Value::String(s)) => Cow::Borrowed(s.trim()),
        Some(Value::Bool(true)) => Cow::Borrowed("True"),
        Some(Value::Bool(false)) => Cow::Borrowed("False"),
        Some(Value::Number(n)) => Cow::Owned(number_text(n)),
        Some(other) => Cow::Owned(other.to_string()),
    }
}

/// Integers print without a fraction whatever their JSON form (`1.0` is `1`).
fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => format!("{}", f as i64),
        _ => n.to_string(),
    }
}

/// The canonical text of `profile[field]`.
pub fn field<'a>(profile: &'a Profile, name: &str) -> Cow<'a, str> {
    text(profile.get(name))
}

/// A JSON value's type as a message names it ("an object").
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
