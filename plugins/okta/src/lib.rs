//! Okta IAM: users provisioned through the Okta API (`<url>/api/v1/`), the app and group
//! commands, and the System Log read as an event source. This module only wires the
//! exported interfaces to the modules that do the work. The host adds the
//! `Authorization: SSWS <token>` header to every request; this guest never sees the token.

mod apps;
mod args;
mod client;
mod config;
mod groups;
mod logs;
mod users;

use client::Okta;
use ilm_plugin_sdk::{app_error, commands, fetch, iam, AppError, AppUser, Field};
use ilm_plugin_sdk::{FetchResult, Lookup, PluginInfo};
use serde_json::Value;

struct OktaPlugin;

ilm_plugin_sdk::export_plugin!(OktaPlugin);

/// The commands, as the manifest lists them.
const COMMANDS: &[&str] = &[
    "okta-iam-get-configuration",
    "okta-iam-set-configuration",
    "okta-iam-list-applications",
    "okta-iam-list-user-applications",
    "okta-get-app-user-assignment",
    "okta-get-logs",
    "okta-list-groups",
    "okta-get-group",
    "okta-get-group-members",
];

fn okta() -> Result<Okta, AppError> {
    Okta::from_params(&ilm_plugin_sdk::params())
}

impl iam::Guest for OktaPlugin {
    fn describe() -> PluginInfo {
        ilm_plugin_sdk::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        users::IDENTIFY_ATTRIBUTES
            .iter()
            .map(|a| a.to_string())
            .collect()
    }

    fn find_user(by: Lookup) -> Result<Option<AppUser>, AppError> {
        users::find(&okta()?, &by.attribute, &by.value)
    }

    fn create_user(profile: String) -> Result<AppUser, AppError> {
        let params = ilm_plugin_sdk::params();
        let activate = args::flag(&params, "activate_on_create", true)?;
        users::create(&Okta::from_params(&params)?, &profile, activate)
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        users::update(&okta()?, &id, &profile)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        users::enable(&okta()?, &id)
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        users::disable(&okta()?, &id)
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        users::mapping_fields(&okta()?)
    }

    fn test_connection() -> Result<(), AppError> {
        users::me(&okta()?).map(|_| ())
    }
}

impl commands::Guest for OktaPlugin {
    fn run(name: String, arguments: String) -> Result<String, AppError> {
        let arguments = ilm_plugin_sdk::json_object(&arguments, "the arguments")?;
        let output = match name.as_str() {
            "okta-iam-get-configuration" => Value::Array(config::load()),
            "okta-iam-set-configuration" => {
                let configuration = arguments
                    .get("configuration")
                    .ok_or_else(|| app_error("400", "the argument configuration is required"))?;
                Value::Array(config::save(&okta()?, configuration)?)
            }
            "okta-iam-list-applications" => apps::list(&okta()?, &arguments)?,
            "okta-iam-list-user-applications" => apps::of_user(&okta()?, &arguments)?,
            "okta-get-app-user-assignment" => apps::assignment(&okta()?, &arguments)?,
            "okta-get-logs" => logs::get_logs(&okta()?, &arguments)?,
            "okta-list-groups" => groups::list(&okta()?, &arguments)?,
            "okta-get-group" => groups::get(&okta()?, &arguments)?,
            "okta-get-group-members" => groups::members(&okta()?, &arguments)?,
            other => return Err(app_error("400", format!("okta has no command {other:?}"))),
        };
        Ok(output.to_string())
    }
}

impl fetch::Guest for OktaPlugin {
    fn fetch(state: String) -> Result<FetchResult, AppError> {
        logs::fetch(&state)
    }
}
