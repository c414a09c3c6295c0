//! The vendor action result: one per command invocation, in the field names
//! playbooks and the XSOAR context use.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct VendorResult {
    pub brand: String,
    pub instance_name: String,
    pub action: String,
    pub success: bool,
    pub active: Option<bool>,
    pub id: String,
    pub username: String,
    pub email: String,
    pub error_code: Option<String>,
    pub error_message: String,
    pub details: Value,
    pub skipped: bool,
    pub reason: String,
    /// The failure is also an error entry (a code the plugin's manifest lists, such as a
    /// rate limit): callers stop instead of carrying on with `success=false` alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub error_entry: bool,
    /// The failure is transient by a code the plugin's manifest lists (a busy or failing
    /// app that answers with its own code, not the HTTP status): `ilm run` retries.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub transient: bool,
}

impl VendorResult {
    pub fn new(brand: &str, instance_name: &str, action: &str, email: String) -> Self {
        Self {
            brand: brand.to_owned(),
            instance_name: instance_name.to_owned(),
            action: action.to_owned(),
            success: true,
            active: None,
            id: String::new(),
            username: String::new(),
            email,
            error_code: None,
            error_message: String::new(),
            details: Value::Null,
            skipped: false,
            reason: String::new(),
            error_entry: false,
            transient: false,
        }
    }

    pub fn failure(mut self, code: impl Into<String>, message: impl Into<String>) -> Self {
        self.success = false;
        self.error_code = Some(code.into());
        self.error_message = message.into();
        self
    }

    pub fn skip(mut self, reason: &str) -> Self {
        self.skipped = true;
        self.reason = reason.to_owned();
        self
    }

    pub fn with_code(mut self, code: &str) -> Self {
        self.error_code = Some(code.to_owned());
        self
    }
}
