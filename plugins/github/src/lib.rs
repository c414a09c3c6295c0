//! GitHub IAM: an organization's members provisioned over SCIM 2.0.
//!
//! Users live at `<url>/<scim-path>/Users`. GitHub has no inactive state: disabling a user
//! deletes the SCIM identity, which removes the organization membership. The host adds the
//! bearer token to every request; this guest never sees it.

use ilm_plugin_sdk::scim::{self, Dialect, Scim};
use ilm_plugin_sdk::{app_error, commands, fetch, iam, param_str, percent_encode};
use ilm_plugin_sdk::{AppError, AppUser, FetchResult, Field, Lookup, PluginInfo};
use serde_json::Value;

struct Github;

ilm_plugin_sdk::export_plugin!(Github);

const COMMANDS: &[&str] = &["github-list-users"];

/// Page size of `github-list-users` when `count` is not given.
const DEFAULT_LIST_COUNT: u64 = 100;

/// From the instance parameters: `<url>/<scim-path>`, `{org}` filled in.
fn scim() -> Result<Scim, AppError> {
    let params = ilm_plugin_sdk::params();
    let base = param_str(&params, "url").unwrap_or_else(|| "https://api.github.com".into());
    let path =
        param_str(&params, "scim-path").unwrap_or_else(|| "scim/v2/organizations/{org}".into());
    let path = if path.contains("{org}") {
        let org = param_str(&params, "org")
            .ok_or_else(|| app_error("config", "the parameter org is not set"))?;
        path.replace("{org}", &percent_encode(&org))
    } else {
        path
    };
    let base = format!("{}/{}", base.trim_end_matches('/'), path.trim_matches('/'));
    Ok(Scim::new(&base, Dialect::Scim2))
}

impl iam::Guest for Github {
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
        // GitHub has no inactive members: a created one is active.
        scim::app_user(&created, Some(true))
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        let scim = scim()?;
        let mut body = scim.user_body(&profile)?;
        // PUT replaces the whole user and SCIM requires userName: keep the current one
        // when the mapped profile has none.
        if !body.get("userName").is_some_and(scim::non_empty) {
            let current = scim.get_user(&id)?.ok_or_else(|| scim::not_found(&id))?;
            if let Some(name) = current.get("userName") {
                body.insert("userName".into(), name.clone());
            }
        }
        scim::app_user(&scim.replace_user(&id, body)?, None)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        // No inactive state on GitHub: a member that exists is active.
        let user = scim()?.get_user(&id)?.ok_or_else(|| scim::not_found(&id))?;
        scim::app_user(&user, Some(true))
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        let scim = scim()?;
        // Read first so the result can still say who was removed.
        let user = scim.get_user(&id)?.ok_or_else(|| scim::not_found(&id))?;
        scim.delete_user(&id)?;
        ilm_plugin_sdk::info(&format!(
            "removed GitHub SCIM user {id} from the organization"
        ));
        scim::app_user(&user, Some(false))
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        Ok(scim::mapping_fields(Dialect::Scim2))
    }

    fn test_connection() -> Result<(), AppError> {
        scim()?.list_users(1).map(|_| ())
    }
}

impl commands::Guest for Github {
    fn run(name: String, args: String) -> Result<String, AppError> {
        match name.as_str() {
            "github-list-users" => {
                let args = ilm_plugin_sdk::json_object(&args, "the arguments")?;
                let count = ilm_plugin_sdk::arg_u64(&args, "count", DEFAULT_LIST_COUNT)?;
                Ok(Value::Array(scim()?.list_users(count)?).to_string())
            }
            other => Err(app_error("400", format!("github has no command {other:?}"))),
        }
    }
}

impl fetch::Guest for Github {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Err(app_error("unsupported", "github does not fetch"))
    }
}
