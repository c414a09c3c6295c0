//! Slack IAM: members of a Slack workspace (or Enterprise Grid organization) provisioned
//! over Slack's SCIM API.
//!
//! Slack speaks SCIM 1.1 at `<url>/scim/v1` (filter values unquoted, errors shaped
//! `{"Errors": {"description", "code"}}`) and SCIM 2.0 at `<url>/scim/v2`; the instance's
//! `scim-version` picks one. Deactivating sets `active` to false (Slack's DELETE does the
//! same, but a PATCH says what it does and is undone the same way); reactivating sets it
//! back. Updates are PATCHes, so attributes the mapper leaves out stay as they are. The
//! host adds the bearer token to every request; this guest never sees it.

use ilm_plugin_sdk::scim::{Dialect, Scim};
use ilm_plugin_sdk::scim_plugin::ScimPlugin;
use ilm_plugin_sdk::{param_str, rest, AppError};

struct Slack;

impl ScimPlugin for Slack {
    const NAME: &'static str = "slack";

    /// From the instance parameters: `<url>/<scim-path>` in the chosen SCIM version.
    fn client() -> Result<Scim, AppError> {
        let params = ilm_plugin_sdk::params();
        let version = param_str(&params, "scim-version").unwrap_or_else(|| "1.1".into());
        let dialect = Dialect::parse(&version)?;
        let url = param_str(&params, "url").unwrap_or_else(|| "https://api.slack.com".into());
        let path = param_str(&params, "scim-path").unwrap_or_else(|| {
            match dialect {
                Dialect::Scim11 => "scim/v1",
                Dialect::Scim2 => "scim/v2",
            }
            .into()
        });
        Ok(Scim::new(&rest::join(&url, &path), dialect))
    }
}

ilm_plugin_sdk::export_scim_plugin!(Slack);
