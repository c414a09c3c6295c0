//! Workday IAM: the HR report (a Workday RaaS report with JSON output) that drives every
//! joiner, mover and leaver. The guest only fetches: the host classifies the rows against
//! the stored profiles (`ilm fetch`), so the same classifier serves fetches and dry runs.
//! The host adds the Basic credentials; this guest never sees them.

use ilm_plugin_sdk::{app_error, commands, fetch, http, iam, AppError, AppUser, Field};
use ilm_plugin_sdk::{FetchResult, Lookup, PluginInfo};
use serde_json::Value;

struct Workday;

ilm_plugin_sdk::export_plugin!(Workday);

const COMMANDS: &[&str] = &["workday-iam-get-full-report"];

/// GETs the report and returns its body, checked to be a JSON object with a `Report_Entry`
/// array (the host checks again: it does not trust a plugin).
fn report() -> Result<String, AppError> {
    let params = ilm_plugin_sdk::params();
    let url = ilm_plugin_sdk::param_str(&params, "url")
        .ok_or_else(|| app_error("config", "the report URL (url) is not set"))?;
    let response = http::send(&http::Request {
        method: "GET".into(),
        url,
        headers: vec![("Accept".into(), "application/json".into())],
        body: None,
    })?;
    let body = String::from_utf8(response.body)
        .map_err(|_| app_error("report", "the report is not UTF-8 text"))?;
    match response.status {
        200 => {}
        204 => return Ok("{\"Report_Entry\": []}".into()),
        401 | 403 => {
            return Err(app_error(
                response.status.to_string(),
                "Workday refused the credentials (check username and password)",
            ))
        }
        status => {
            return Err(app_error(
                status.to_string(),
                format!("Workday answered HTTP {status}: {}", snippet(&body)),
            ))
        }
    }
    match serde_json::from_str::<Value>(&body) {
        Ok(Value::Object(report)) if report.get("Report_Entry").is_some_and(Value::is_array) => {
            Ok(body)
        }
        // A 200 answer that is not a report (`{"Error": "Session expired"}`) must never be
        // read as a report without rows: everyone would look like a leaver.
        Ok(Value::Object(_)) => Err(app_error(
            "report",
            format!(
                "Workday answered without a Report_Entry array: {}",
                snippet(&body)
            ),
        )),
        Ok(_) => Err(app_error(
            "report",
            "the report is JSON but not an object with Report_Entry",
        )),
        Err(e) => Err(app_error(
            "report",
            format!(
                "the report is not JSON ({e}); is the URL's format=json set? It starts: {}",
                snippet(&body)
            ),
        )),
    }
}

/// The start of a body, for error messages.
fn snippet(body: &str) -> String {
    body.chars().take(120).collect()
}

fn not_an_iam_app<T>() -> Result<T, AppError> {
    Err(app_error(
        "unsupported",
        "Workday is the HR source, not a provisioning target",
    ))
}

impl fetch::Guest for Workday {
    /// The whole report as one record; the fetch state lives in the host.
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Ok(FetchResult {
            records: vec![report()?],
            next_state: String::new(),
        })
    }
}

impl commands::Guest for Workday {
    fn run(name: String, _args: String) -> Result<String, AppError> {
        match name.as_str() {
            "workday-iam-get-full-report" => report(),
            other => Err(app_error("400", format!("unknown command {other}"))),
        }
    }
}

impl iam::Guest for Workday {
    fn describe() -> PluginInfo {
        ilm_plugin_sdk::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        Vec::new()
    }

    fn find_user(_by: Lookup) -> Result<Option<AppUser>, AppError> {
        not_an_iam_app()
    }

    fn create_user(_profile: String) -> Result<AppUser, AppError> {
        not_an_iam_app()
    }

    fn update_user(_id: String, _profile: String) -> Result<AppUser, AppError> {
        not_an_iam_app()
    }

    fn enable_user(_id: String) -> Result<AppUser, AppError> {
        not_an_iam_app()
    }

    fn disable_user(_id: String) -> Result<AppUser, AppError> {
        not_an_iam_app()
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        Ok(Vec::new())
    }

    /// Fetches the report once.
    fn test_connection() -> Result<(), AppError> {
        report().map(|_| ())
    }
}
