//! __NAME__: users of an app with a SCIM 2.0 API, on the ILM plugin SDK.
//!
//! The SDK's `ScimPlugin` implements the IAM primitives (find by id, userName or email;
//! create with POST; update with a PATCH; enable and disable by setting `active`) and the
//! `__NAME__-list-users` command; this file only says where the app is. The host adds the
//! bearer token to every request: the plugin never sees it. To speak another API, implement
//! `ilm_plugin_sdk::iam::Guest` (and `commands::Guest`, `fetch::Guest`) yourself and call
//! `ilm_plugin_sdk::export_plugin!`.

use ilm_plugin_sdk::scim::{Dialect, Scim};
use ilm_plugin_sdk::scim_plugin::ScimPlugin;
use ilm_plugin_sdk::{app_error, param_str, AppError};

struct Plugin;

impl ScimPlugin for Plugin {
    const NAME: &'static str = "__NAME__";

    /// The SCIM client for the instance's `url`.
    fn client() -> Result<Scim, AppError> {
        let url = param_str(&ilm_plugin_sdk::params(), "url")
            .ok_or_else(|| app_error("config", "the instance has no url parameter: set it"))?;
        Ok(Scim::new(&url, Dialect::Scim2))
    }
}

ilm_plugin_sdk::export_scim_plugin!(Plugin);
