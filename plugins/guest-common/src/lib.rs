//! What every guest plugin shares: the bindings of the `ilm:plugin` WIT world (generated
//! once here, so the plugins share one set of types) and a few small helpers.
//!
//! A plugin crate implements the three export traits and registers its type with
//! `guest_common::export!(MyPlugin with_types_in guest_common);`.

wit_bindgen::generate!({
    path: "../../wit",
    world: "plugin",
    // The plugin crates call the export macro; they do not depend on wit-bindgen.
    pub_export_macro: true,
    runtime_path: "::guest_common::__wit_bindgen::rt",
});

// The generated code names the runtime through this path, in this crate and in the
// plugin crates alike.
extern crate self as guest_common;
#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use exports::ilm::plugin::{commands, fetch, iam};
pub use ilm::plugin::types::{AppError, AppUser, FetchResult, Field, Lookup, PluginInfo};
pub use ilm::plugin::{http, instance, ldap, log};

use serde_json::{Map, Value};

/// The WIT package version the plugins are built against (the manifests' `wit`).
pub const WIT_VERSION: &str = "0.1.0";

/// An app error with a code (HTTP status or vendor code) and a message for a person.
pub fn app_error(code: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError {
        code: code.into(),
        message: message.into(),
    }
}

/// The instance's non-secret parameters; an unreadable text counts as none.
pub fn params() -> Map<String, Value> {
    match serde_json::from_str(&instance::params()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A string parameter, `None` when unset or empty.
pub fn param_str(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a command's or an operation's JSON object argument.
pub fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, AppError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(app_error("400", format!("{what} must be a JSON object"))),
        Err(e) => Err(app_error("400", format!("{what} is not valid JSON: {e}"))),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for path segments and
/// query values).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Escapes a value for a double-quoted string in a SCIM-style filter (`userName eq "…"`).
pub fn filter_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Writes a debug line to the host's log.
pub fn debug(message: &str) {
    log::write(log::Level::Debug, message);
}

/// Writes an info line to the host's log.
pub fn info(message: &str) {
    log::write(log::Level::Info, message);
}

/// The calling plugin's `describe()` answer: its crate name and version (which the
/// manifest must repeat) and its command names.
#[macro_export]
macro_rules! plugin_info {
    ($commands:expr) => {
        $crate::PluginInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            commands: $commands.iter().map(|c| c.to_string()).collect(),
        }
    };
}
