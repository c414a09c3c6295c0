//! Slack IAM: members of a Slack workspace (or Enterprise Grid organization) provisioned
//! over Slack's SCIM API.
//!
//! Slack speaks SCIM 1.1 at `<url>/scim/v1` (filter values unquoted, errors shaped
//! `{"Errors": {"description", "code"}}`) and SCIM 2.0 at `<url>/scim/v2`; the instance's
//! `scim-version` picks one. Deactivating sets `active` to false (Slack's DELETE does the
//! same, but a PATCH says what it does and is undone the same way); reactivating sets it
//! back. Updates are PATCHes, so attributes the mapper leaves out stay as they are. The
//! host adds the bearer token to every request; this guest never sees it.

use ilm_plugin_sdk::scim::{self, Dialect, Scim};
use ilm_plugin_sdk::{app_error, commands, fetch, iam, param_str};
use ilm_plugin_sdk::{AppError, AppUser, FetchResult, Field, Lookup, PluginInfo};
use serde_json::Value;

struct Slack;

ilm_plugin_sdk::export_plugin!(Slack);

const COMMANDS: &[&str] = &["slack-list-users"];

/// How many users `slack-list-users` lists when `count` is not given.
const DEFAULT_LIST_COUNT: u64 = 100;

/// From the instance parameters: `<url>/<scim-path>` in the chosen SCIM version.
fn scim() -> Result<Scim, AppError> {
    let params = ilm_plugin_sdk::params();
    let version = param_str(&params, "scim-version").unwrap_or_else(|| "1.1".into());
    let dialect = Dialect::parse(&version)?;
    let base = param_str(&params, "url").unwrap_or_else(|| "https://api.slack.com".into());
    let path = param_str(&params, "scim-path").unwrap_or_else(|| {
        match dialect {
            Dialect::Scim11 => "scim/v1",
            Dialect::Scim2 => "scim/v2",
        }
        .into()
    });
    let base = format!("{}/{}", base.trim_end_matches('/'), path.trim_matches('/'));
    Ok(Scim::new(&base, dialect))
}

impl iam::Guest for Slack {
    fn describe() -> PluginInfo {
        ilm_plugin_sdk::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        vec!["id".into(), "userName".into(), "emails".into()]
    }

    fn find_user(by: Lookup) -> Result<Option<AppUser>, AppError> {
        let found = scim()?.lookup(&by)?;
        found.map(|user| scim::app_user(&user, None)).transpose()
    }

    fn create_user(profile: String) -> Result<AppUser, AppError> {
        let scim = scim()?;
        let created = scim.create_user(scim.user_body(&profile)?)?;
        scim::app_user(&created, None)
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        let scim = scim()?;
        let updated = scim.update_user(&id, scim.user_body(&profile)?)?;
        scim::app_user(&updated, None)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        scim::app_user(&scim()?.set_active(&id, true)?, None)
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        scim::app_user(&scim()?.set_active(&id, false)?, None)
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        Ok(scim::mapping_fields(scim()?.dialect()))
    }

    fn test_connection() -> Result<(), AppError> {
        scim()?.list_users(1).map(|_| ())
    }
}

impl commands::Guest for Slack {
    fn run(name: String, args: String) -> Result<String, AppError> {
        match name.as_str() {
            "slack-list-users" => {
                let args = ilm_plugin_sdk::json_object(&args, "the arguments")?;
                let count = ilm_plugin_sdk::arg_u64(&args, "count", DEFAULT_LIST_COUNT)?;
                Ok(Value::Array(scim()?.list_users(count)?).to_string())
            }
            other => Err(app_error("400", format!("slack has no command {other:?}"))),
        }
    }
}

impl fetch::Guest for Slack {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Err(app_error("unsupported", "slack does not fetch"))
    }
}
