//! A plugin instance seen as an [`iam::App`]: each primitive is one sandboxed call.

use super::bindings::Plugin;
use super::{AppError, Host, InstanceSettings, LoadedPlugin, PluginError};
use crate::iam::{self, AppFailure};
use serde_json::{Map, Value};
use std::sync::Arc;
use wasmtime::Store;

pub struct WasmApp<'h> {
    host: &'h Host,
    plugin: Arc<LoadedPlugin>,
    settings: InstanceSettings,
    /// The command being run, for error messages.
    command: String,
    /// The integration context after the guest last changed it; the caller persists it.
    pub changed_context: Option<String>,
}

type GuestResult<T> = wasmtime::Result<Result<T, AppError>>;

impl<'h> WasmApp<'h> {
    pub fn new(
        host: &'h Host,
        plugin: Arc<LoadedPlugin>,
        settings: InstanceSettings,
        command: &str,
    ) -> Self {
        Self {
            host,
            plugin,
            settings,
            command: command.to_owned(),
            changed_context: None,
        }
    }

    pub fn settings(&self) -> &InstanceSettings {
        &self.settings
    }

    /// One sandboxed call; a plugin failure (trap, deadline, memory) becomes an error.
    fn call<T>(
        &mut self,
        f: impl FnOnce(&Plugin, &mut Store<super::CallState>) -> GuestResult<T>,
    ) -> Result<Result<T, AppError>, PluginError> {
        let out = self
            .host
            .call(&self.plugin, &self.settings, &self.command, f)?;
        if let Some(context) = out.new_context {
            self.settings.context = context.clone();
            self.changed_context = Some(context);
        }
        Ok(out.value)
    }

    fn iam_call<T>(
        &mut self,
        f: impl FnOnce(&Plugin, &mut Store<super::CallState>) -> GuestResult<T>,
    ) -> Result<T, AppFailure> {
        match self.call(f) {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(app_error)) => Err(AppFailure::new(app_error.code, app_error.message)),
            Err(plugin_error) => {
                // A call stopped at its deadline is a timeout, which is worth retrying later.
                let code = match plugin_error.cause {
                    super::FailureCause::Deadline(_) => crate::retries::TIMEOUT,
                    _ => "plugin-error",
                };
                Err(AppFailure::new(code, plugin_error.to_string()))
            }
        }
    }

    /// Runs a plugin-specific command with JSON arguments.
    pub fn run_command(
        &mut self,
        name: &str,
        args: &Value,
    ) -> Result<Result<String, AppError>, PluginError> {
        let args = args.to_string();
        self.call(|p, store| p.ilm_plugin_commands().call_run(store, name, &args))
    }

    /// Pulls records (e.g. an HR report) given the previous fetch state.
    pub fn fetch(
        &mut self,
        state: &str,
    ) -> Result<Result<super::FetchResult, AppError>, PluginError> {
        self.call(|p, store| p.ilm_plugin_fetch().call_fetch(store, state))
    }

    pub fn test_connection(&mut self) -> Result<Result<(), AppError>, PluginError> {
        self.call(|p, store| p.ilm_plugin_iam().call_test_connection(store))
    }

    pub fn mapping_fields(&mut self) -> Result<Result<Vec<super::Field>, AppError>, PluginError> {
        self.call(|p, store| p.ilm_plugin_iam().call_get_mapping_fields(store))
    }
}

fn to_app_user(user: super::AppUser) -> iam::AppUser {
    let details = serde_json::from_str(&user.details).unwrap_or(Value::String(user.details));
    iam::AppUser {
        id: user.id,
        username: user.username,
        email: user.email,
        active: user.active,
        details,
    }
}

impl iam::App for WasmApp<'_> {
    fn brand(&self) -> &str {
        &self.plugin.manifest.brand
    }

    fn instance_name(&self) -> &str {
        &self.settings.name
    }

    fn identify_attributes(&mut self) -> Result<Vec<String>, AppFailure> {
        self.iam_call(|p, store| p.ilm_plugin_iam().call_identify_attributes(store).map(Ok))
    }

    fn find_user(
        &mut self,
        attribute: &str,
        value: &str,
    ) -> Result<Option<iam::AppUser>, AppFailure> {
        let by = super::Lookup {
            attribute: attribute.to_owned(),
            value: value.to_owned(),
        };
        Ok(self
            .iam_call(|p, store| p.ilm_plugin_iam().call_find_user(store, &by))?
            .map(to_app_user))
    }

    fn create_user(&mut self, profile: &Map<String, Value>) -> Result<iam::AppUser, AppFailure> {
        let profile = Value::Object(profile.clone()).to_string();
        self.iam_call(|p, store| p.ilm_plugin_iam().call_create_user(store, &profile))
            .map(to_app_user)
    }

    fn update_user(
        &mut self,
        id: &str,
        profile: &Map<String, Value>,
    ) -> Result<iam::AppUser, AppFailure> {
        let profile = Value::Object(profile.clone()).to_string();
        self.iam_call(|p, store| p.ilm_plugin_iam().call_update_user(store, id, &profile))
            .map(to_app_user)
    }

    fn enable_user(&mut self, id: &str) -> Result<iam::AppUser, AppFailure> {
        self.iam_call(|p, store| p.ilm_plugin_iam().call_enable_user(store, id))
            .map(to_app_user)
    }

    fn disable_user(&mut self, id: &str) -> Result<iam::AppUser, AppFailure> {
        self.iam_call(|p, store| p.ilm_plugin_iam().call_disable_user(store, id))
            .map(to_app_user)
    }
}
