//! A whole SCIM plugin from one trait: implement [`ScimPlugin`] (at least
//! [`ScimPlugin::client`]) and call [`export_scim_plugin!`](crate::export_scim_plugin). The
//! macro implements the WIT exports: the IAM primitives through the trait (whose defaults
//! suit an app with an `active` attribute: create with POST, update with PATCH, enable and
//! disable by setting `active`), a `<name>-list-users` command, and no fetch.
//!
//! ```no_run
//! use ilm_plugin_sdk::scim::{Dialect, Scim};
//! use ilm_plugin_sdk::scim_plugin::ScimPlugin;
//! use ilm_plugin_sdk::{app_error, param_str, AppError};
//!
//! struct Acme;
//!
//! impl ScimPlugin for Acme {
//!     const NAME: &'static str = "acme";
//!
//!     fn client() -> Result<Scim, AppError> {
//!         let url = param_str(&ilm_plugin_sdk::params(), "url")
//!             .ok_or_else(|| app_error("config", "the parameter url is not set"))?;
//!         Ok(Scim::new(&format!("{url}/scim/v2"), Dialect::Scim2))
//!     }
//! }
//!
//! ilm_plugin_sdk::export_scim_plugin!(Acme);
//! ```

use crate::scim::{app_user, Scim};
use crate::{AppError, AppUser};

/// How many users the list command lists when its `count` is not given.
pub const DEFAULT_LIST_COUNT: u64 = 100;

/// A plugin whose app speaks SCIM. Every method but [`ScimPlugin::client`] has a default.
pub trait ScimPlugin {
    /// The plugin's name (its crate name): messages name it, and its list command is
    /// `<NAME>-list-users`.
    const NAME: &'static str;

    /// The SCIM client of the instance this call runs for.
    fn client() -> Result<Scim, AppError>;

    /// Creates a user from an outgoing-mapped profile (a JSON object text).
    fn create_user(profile: &str) -> Result<AppUser, AppError> {
        let scim = Self::client()?;
        app_user(&scim.create_user(scim.user_body(profile)?)?, None)
    }

    /// Sets what the mapped profile gives on user `id` and leaves the rest.
    fn update_user(id: &str, profile: &str) -> Result<AppUser, AppError> {
        let scim = Self::client()?;
        app_user(&scim.update_user(id, scim.user_body(profile)?)?, None)
    }

    /// Activates user `id`.
    fn enable_user(id: &str) -> Result<AppUser, AppError> {
        app_user(&Self::client()?.set_active(id, true)?, None)
    }

    /// Deactivates user `id`.
    fn disable_user(id: &str) -> Result<AppUser, AppError> {
        app_user(&Self::client()?.set_active(id, false)?, None)
    }
}

/// The name of a SCIM plugin's list command.
///
/// ```
/// assert_eq!(ilm_plugin_sdk::scim_plugin::list_command("slack"), "slack-list-users");
/// ```
pub fn list_command(plugin: &str) -> String {
    format!("{plugin}-list-users")
}

/// Exports `$ty`, a [`ScimPlugin`](crate::scim_plugin::ScimPlugin), as the plugin (see the
/// [module](crate::scim_plugin)).
#[macro_export]
macro_rules! export_scim_plugin {
    ($ty:ident) => {
        impl $crate::iam::Guest for $ty {
            fn describe() -> $crate::PluginInfo {
                use $crate::scim_plugin::ScimPlugin as _;
                $crate::plugin_info!([$crate::scim_plugin::list_command($ty::NAME)])
            }

            fn identify_attributes() -> Vec<String> {
                $crate::scim::identify_attributes()
            }

            fn find_user(by: $crate::Lookup) -> Result<Option<$crate::AppUser>, $crate::AppError> {
                <$ty as $crate::scim_plugin::ScimPlugin>::client()?.find(&by)
            }

            fn create_user(profile: String) -> Result<$crate::AppUser, $crate::AppError> {
                <$ty as $crate::scim_plugin::ScimPlugin>::create_user(&profile)
            }

            fn update_user(
                id: String,
                profile: String,
            ) -> Result<$crate::AppUser, $crate::AppError> {
                <$ty as $crate::scim_plugin::ScimPlugin>::update_user(&id, &profile)
            }

            fn enable_user(id: String) -> Result<$crate::AppUser, $crate::AppError> {
                <$ty as $crate::scim_plugin::ScimPlugin>::enable_user(&id)
            }

            fn disable_user(id: String) -> Result<$crate::AppUser, $crate::AppError> {
                <$ty as $crate::scim_plugin::ScimPlugin>::disable_user(&id)
            }

            fn get_mapping_fields() -> Result<Vec<$crate::Field>, $crate::AppError> {
                let scim = <$ty as $crate::scim_plugin::ScimPlugin>::client()?;
                Ok($crate::scim::mapping_fields(scim.dialect()))
            }

            fn test_connection() -> Result<(), $crate::AppError> {
                <$ty as $crate::scim_plugin::ScimPlugin>::client()?.test_connection()
            }
        }

        impl $crate::commands::Guest for $ty {
            fn run(name: String, args: String) -> Result<String, $crate::AppError> {
                use $crate::scim_plugin::ScimPlugin as _;
                if name == $crate::scim_plugin::list_command($ty::NAME) {
                    <$ty as $crate::scim_plugin::ScimPlugin>::client()?
                        .list_users_command(&args, $crate::scim_plugin::DEFAULT_LIST_COUNT)
                } else {
                    Err($crate::no_such_command($ty::NAME, &name))
                }
            }
        }

        impl $crate::fetch::Guest for $ty {
            fn fetch(_state: String) -> Result<$crate::FetchResult, $crate::AppError> {
                use $crate::scim_plugin::ScimPlugin as _;
                Err($crate::does_not_fetch($ty::NAME))
            }
        }

        $crate::export_plugin!($ty);
    };
}
