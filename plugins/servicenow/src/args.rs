//! Reading whole-number command arguments and parameters, which arrive as JSON numbers or
//! as text.

use ilm_plugin_sdk::{app_error, AppError};
use serde_json::{Map, Value};

/// `name` from `args` as a whole number in `min..=max`; `default` when absent or empty.
pub fn count(
    args: &Map<String, Value>,
    name: &str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, AppError> {
    let value = match args.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(text)) if text.trim().is_empty() => return Ok(default),
        Some(Value::String(text)) => text.trim().parse().ok(),
        Some(Value::Number(n)) => n.as_u64(),
        Some(_) => None,
    };
    match value {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(app_error(
            "400",
            format!(
                "{name} must be a whole number from {min} to {max}, not {}",
                args.get(name).map(Value::to_string).unwrap_or_default()
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn args(value: Value) -> Map<String, Value> {
        json!({ "n": value })
            .as_object()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn numbers_and_texts_in_range_are_read_and_others_refused() {
        assert_eq!(count(&args(json!(5)), "n", 1, 1, 10).ok(), Some(5));
        assert_eq!(count(&args(json!(" 7 ")), "n", 1, 1, 10).ok(), Some(7));
        assert_eq!(count(&args(json!("")), "n", 3, 1, 10).ok(), Some(3));
        assert_eq!(count(&Map::new(), "n", 3, 1, 10).ok(), Some(3));
        assert!(count(&args(json!(0)), "n", 1, 1, 10).is_err());
        assert!(count(&args(json!("-1")), "n", 1, 0, 10).is_err());
        assert!(count(&args(json!(true)), "n", 1, 0, 10)
            .is_err_and(|e| e.message.contains("n must be a whole number from 0 to 10")));
    }
}
