//! Write plugins for the ILM runtime in Rust.
//!
//! A plugin is a WebAssembly component that implements the `ilm:plugin` WIT world: the
//! primitive user operations of one app (`iam`), its own commands (`commands`) and,
//! optionally, a record source (`fetch`). The host runs the IAM algorithm (lookup order,
//! create-becomes-update, skips, results) and grants the plugin outbound HTTP to its
//! allow-listed hosts, logging, and its instance's parameters; secrets never enter the
//! plugin, because the host adds credentials to each request itself.
//!
//! This crate owns the bindings of that world (its version is the WIT version it binds,
//! see [`WIT_VERSION`]) and adds what most plugins need:
//!
//! * [`rest`]: JSON requests over the host's HTTP, with errors that name the request;
//! * [`paging`]: following `Link: rel="next"` pages and collecting them up to a limit;
//! * [`scim`]: a SCIM 2.0 and SCIM 1.1 user client and the shaping of mapped profiles;
//! * [`scim_plugin`]: a whole SCIM plugin from one trait and one macro;
//! * [`time`]: RFC 3339 times without a clock (a guest has none);
//! * small helpers at the root: parameters, JSON arguments, encoding, logging.
//!
//! # A plugin by hand
//!
//! (A SCIM app needs less: see [`scim_plugin`].)
//!
//! ```no_run
//! use ilm_plugin_sdk::{app_error, commands, fetch, iam, scim};
//! use ilm_plugin_sdk::{AppError, AppUser, FetchResult, Field, Lookup, PluginInfo};
//!
//! struct Acme;
//! ilm_plugin_sdk::export_plugin!(Acme);
//!
//! fn client() -> Result<scim::Scim, AppError> {
//!     let params = ilm_plugin_sdk::params();
//!     let url = ilm_plugin_sdk::param_str(&params, "url")
//!         .ok_or_else(|| app_error("config", "the parameter url is not set"))?;
//!     Ok(scim::Scim::new(&format!("{url}/scim/v2"), scim::Dialect::Scim2))
//! }
//!
//! impl iam::Guest for Acme {
//!     fn describe() -> PluginInfo { ilm_plugin_sdk::plugin_info!(["acme-list-users"]) }
//!     fn identify_attributes() -> Vec<String> { vec!["id".into(), "userName".into()] }
//!     fn find_user(by: Lookup) -> Result<Option<AppUser>, AppError> {
//!         let scim = client()?;
//!         scim.lookup(&by)?.map(|user| scim::app_user(&user, None)).transpose()
//!     }
//!     fn create_user(profile: String) -> Result<AppUser, AppError> {
//!         let scim = client()?;
//!         scim::app_user(&scim.create_user(scim.user_body(&profile)?)?, None)
//!     }
//!     fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
//!         let scim = client()?;
//!         scim::app_user(&scim.update_user(&id, scim.user_body(&profile)?)?, None)
//!     }
//!     fn enable_user(id: String) -> Result<AppUser, AppError> {
//!         scim::app_user(&client()?.set_active(&id, true)?, None)
//!     }
//!     fn disable_user(id: String) -> Result<AppUser, AppError> {
//!         scim::app_user(&client()?.set_active(&id, false)?, None)
//!     }
//!     fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
//!         Ok(scim::mapping_fields(scim::Dialect::Scim2))
//!     }
//!     fn test_connection() -> Result<(), AppError> { client()?.test_connection() }
//! }
//!
//! impl commands::Guest for Acme {
//!     fn run(name: String, args: String) -> Result<String, AppError> {
//!         match name.as_str() {
//!             "acme-list-users" => client()?.list_users_command(&args, 100),
//!             other => Err(ilm_plugin_sdk::no_such_command("acme", other)),
//!         }
//!     }
//! }
//!
//! impl fetch::Guest for Acme {
//!     fn fetch(_state: String) -> Result<FetchResult, AppError> {
//!         Err(ilm_plugin_sdk::does_not_fetch("acme"))
//!     }
//! }
//! ```
//!
//! Build it for `wasm32-unknown-unknown` as a `cdylib`; the linked `.wasm` is the
//! component. Its manifest (`plugin.toml`) repeats the crate's name and version and names
//! `wit = "0.1.0"`.

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
    // Plugin crates call the export macro; they do not depend on wit-bindgen.
    pub_export_macro: true,
    runtime_path: "::ilm_plugin_sdk::__wit_bindgen::rt",
});

// The generated code names the runtime through this path, in this crate and in the
// plugin crates alike.
extern crate self as ilm_plugin_sdk;
#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub mod paging;
pub mod rest;
pub mod scim;
pub mod scim_plugin;
pub mod time;

pub use exports::ilm::plugin::{commands, fetch, iam};
pub use ilm::plugin::types::{AppError, AppUser, FetchResult, Field, Lookup, PluginInfo};
pub use ilm::plugin::{http, instance, ldap, log};

use serde_json::{Map, Value};
use std::ops::RangeInclusive;

/// The WIT package version this SDK binds; a plugin's manifest names it as `wit`.
///
/// ```
/// assert_eq!(ilm_plugin_sdk::WIT_VERSION, env!("CARGO_PKG_VERSION"));
/// ```
pub const WIT_VERSION: &str = "0.1.0";

/// Exports `$ty` as the plugin: it must implement [`iam::Guest`], [`commands::Guest`] and
/// [`fetch::Guest`] (`plugins/servicenow/src/lib.rs` in the runtime's repository is a whole
/// example). The call, once those are implemented:
///
/// ```text
/// struct Acme;
/// ilm_plugin_sdk::export_plugin!(Acme);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($ty:ident) => {
        $crate::export!($ty with_types_in $crate);
    };
}

/// An app error with a code (HTTP status or vendor code) and a message for a person.
///
/// ```
/// let e = ilm_plugin_sdk::app_error("409", "the user already exists");
/// assert_eq!((e.code.as_str(), e.message.as_str()), ("409", "the user already exists"));
/// ```
pub fn app_error(code: impl Into<String>, message: impl Into<String>) -> AppError {
    AppError {
        code: code.into(),
        message: message.into(),
    }
}

/// The error for a command the plugin does not have (code "400").
///
/// ```
/// let e = ilm_plugin_sdk::no_such_command("acme", "acme-explode");
/// assert_eq!(e.message, "acme has no command \"acme-explode\"");
/// ```
pub fn no_such_command(plugin: &str, command: &str) -> AppError {
    app_error("400", format!("{plugin} has no command {command:?}"))
}

/// The error of `fetch` for a plugin that is no record source (code "unsupported").
///
/// ```
/// assert_eq!(ilm_plugin_sdk::does_not_fetch("acme").message, "acme does not fetch");
/// ```
pub fn does_not_fetch(plugin: &str) -> AppError {
    app_error("unsupported", format!("{plugin} does not fetch"))
}

/// The instance's non-secret parameters; an unreadable text counts as none.
///
/// ```no_run
/// let params = ilm_plugin_sdk::params();
/// let org = ilm_plugin_sdk::param_str(&params, "org");
/// ```
pub fn params() -> Map<String, Value> {
    match serde_json::from_str(&instance::params()) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// A string parameter, `None` when unset or empty (a number counts as its text).
///
/// ```
/// let params = serde_json::json!({"org": "acme", "empty": "", "port": 8443});
/// let params = params.as_object().unwrap();
/// assert_eq!(ilm_plugin_sdk::param_str(params, "org").as_deref(), Some("acme"));
/// assert_eq!(ilm_plugin_sdk::param_str(params, "port").as_deref(), Some("8443"));
/// assert_eq!(ilm_plugin_sdk::param_str(params, "empty"), None);
/// ```
pub fn param_str(params: &Map<String, Value>, name: &str) -> Option<String> {
    match params.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses a command's or an operation's JSON object argument; `what` names it in the
/// error (code "400").
///
/// ```
/// let args = ilm_plugin_sdk::json_object(r#"{"count": 5}"#, "the arguments").unwrap();
/// assert_eq!(args["count"], 5);
/// let err = ilm_plugin_sdk::json_object("[1]", "the arguments").unwrap_err();
/// assert_eq!(err.message, "the arguments must be a JSON object");
/// ```
pub fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, AppError> {
    match serde_json::from_str(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(app_error("400", format!("{what} must be a JSON object"))),
        Err(e) => Err(app_error("400", format!("{what} is not valid JSON: {e}"))),
    }
}

/// A non-negative whole-number argument (a JSON number or its text); `default` when
/// absent, null or blank. The error (code "400") names the argument.
///
/// ```
/// let args = serde_json::json!({"count": "25", "bad": -1});
/// let args = args.as_object().unwrap();
/// assert_eq!(ilm_plugin_sdk::arg_u64(args, "count", 100).unwrap(), 25);
/// assert_eq!(ilm_plugin_sdk::arg_u64(args, "limit", 100).unwrap(), 100);
/// let err = ilm_plugin_sdk::arg_u64(args, "bad", 100).unwrap_err();
/// assert_eq!(err.message, "bad must be a non-negative integer, not -1");
/// ```
pub fn arg_u64(args: &Map<String, Value>, name: &str, default: u64) -> Result<u64, AppError> {
    arg_u64_in(args, name, default, 0..=u64::MAX)
}

/// Like [`arg_u64`], and the number must lie in `range` (a page size, a limit the app
/// enforces); the error names the range.
///
/// ```
/// let args = serde_json::json!({"limit": " 7 ", "page": 0, "bad": true});
/// let args = args.as_object().unwrap();
/// assert_eq!(ilm_plugin_sdk::arg_u64_in(args, "limit", 50, 1..=100).unwrap(), 7);
/// assert_eq!(ilm_plugin_sdk::arg_u64_in(args, "offset", 0, 0..=100).unwrap(), 0);
/// let err = ilm_plugin_sdk::arg_u64_in(args, "page", 1, 1..=100).unwrap_err();
/// assert_eq!(err.message, "page must be a whole number from 1 to 100, not 0");
/// assert!(ilm_plugin_sdk::arg_u64_in(args, "bad", 1, 1..=100).is_err());
/// ```
pub fn arg_u64_in(
    args: &Map<String, Value>,
    name: &str,
    default: u64,
    range: RangeInclusive<u64>,
) -> Result<u64, AppError> {
    let bad = |value: &dyn std::fmt::Display| {
        let expected = if range == (0..=u64::MAX) {
            "a non-negative integer".to_owned()
        } else {
            format!("a whole number from {} to {}", range.start(), range.end())
        };
        app_error("400", format!("{name} must be {expected}, not {value}"))
    };
    let number = match args.get(name) {
        None | Some(Value::Null) => return Ok(default),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(default),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad(n))?,
        Some(Value::String(s)) => s.trim().parse().map_err(|_| bad(s))?,
        Some(other) => return Err(bad(other)),
    };
    if range.contains(&number) {
        Ok(number)
    } else {
        Err(bad(&number))
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (for path segments and
/// query values).
///
/// ```
/// assert_eq!(ilm_plugin_sdk::percent_encode("a b/é"), "a%20b%2F%C3%A9");
/// ```
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
///
/// ```
/// assert_eq!(ilm_plugin_sdk::filter_quote(r#"a"b\c"#), r#"a\"b\\c"#);
/// ```
pub fn filter_quote(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Writes a debug line to the host's log.
///
/// ```no_run
/// ilm_plugin_sdk::debug("GET https://api.example.test/Users");
/// ```
pub fn debug(message: &str) {
    log::write(log::Level::Debug, message);
}

/// Writes an info line to the host's log.
///
/// ```no_run
/// ilm_plugin_sdk::info("removed user 42 from the organization");
/// ```
pub fn info(message: &str) {
    log::write(log::Level::Info, message);
}

/// Writes a warning to the host's log.
///
/// ```no_run
/// ilm_plugin_sdk::warn("countryCode has no SCIM 2.0 attribute; not sent");
/// ```
pub fn warn(message: &str) {
    log::write(log::Level::Warn, message);
}

/// The calling plugin's `describe()` answer: its crate name and version (which the
/// manifest must repeat) and its command names.
///
/// ```
/// const COMMANDS: &[&str] = &["acme-list-users"];
/// let info = ilm_plugin_sdk::plugin_info!(COMMANDS);
/// assert_eq!(info.name, "ilm-plugin-sdk"); // the calling crate's name
/// assert_eq!(info.commands, vec!["acme-list-users".to_owned()]);
/// ```
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
