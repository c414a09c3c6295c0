//! JSON columns.

use anyhow::Result;
use serde_json::{Map, Value};

/// Parses a column that holds a JSON object.
pub(super) fn object(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str(text)? {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("expected a JSON object"),
    }
}
