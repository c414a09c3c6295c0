//! GitHub IAM: an organization's members provisioned over SCIM 2.0.
//!
//! Users live at `<url>/<scim-path>/Users`. GitHub has no inactive state: disabling a user
//! deletes the SCIM identity, which removes the organization membership. The host adds the
//! bearer token to every request; this guest never sees it.

use ilm_plugin_sdk::scim::{self, Dialect, Scim};
use ilm_plugin_sdk::scim_plugin::ScimPlugin;
use ilm_plugin_sdk::{app_error, param_str, percent_encode, rest, AppError, AppUser};

struct Github;

impl ScimPlugin for Github {
    const NAME: &'static str = "github";

    /// From the instance parameters: `<url>/<scim-path>`, `{org}` filled in.
    fn client() -> Result<Scim, AppError> {
        let params = ilm_plugin_sdk::params();
        let url = param_str(&params, "url").unwrap_or_else(|| "https://api.github.com".into());
        let path =
            param_str(&params, "scim-path").unwrap_or_else(|| "scim/v2/organizations/{org}".into());
        let path = if path.contains("{org}") {
            let org = param_str(&params, "org")
                .ok_or_else(|| app_error("config", "the parameter org is not set"))?;
            path.replace("{org}", &percent_encode(&org))
        } else {
            path
        };
        Ok(Scim::new(&rest::join(&url, &path), Dialect::Scim2))
    }

    fn create_user(profile: &str) -> Result<AppUser, AppError> {
        let scim = Self::client()?;
        let created = scim.create_user(scim.user_body(profile)?)?;
        // GitHub has no inactive members: a created one is active.
        scim::app_user(&created, Some(true))
    }

    fn update_user(id: &str, profile: &str) -> Result<AppUser, AppError> {
        let scim = Self::client()?;
        let mut body = scim.user_body(profile)?;
        // PUT replaces the whole user and SCIM requires userName: keep the current one
        // when the mapped profile has none.
        if !body.get("userName").is_some_and(scim::non_empty) {
            let current = scim.get_user(id)?.ok_or_else(|| scim::not_found(id))?;
            if let Some(name) = current.get("userName") {
                body.insert("userName".into(), name.clone());
            }
        }
        scim::app_user(&scim.replace_user(id, body)?, None)
    }

    fn enable_user(id: &str) -> Result<AppUser, AppError> {
        // No inactive state on GitHub: a member that exists is active.
        let user = Self::client()?
            .get_user(id)?
            .ok_or_else(|| scim::not_found(id))?;
        scim::app_user(&user, Some(true))
    }

    fn disable_user(id: &str) -> Result<AppUser, AppError> {
        let scim = Self::client()?;
        // Read first so the result can still say who was removed.
        let user = scim.get_user(id)?.ok_or_else(|| scim::not_found(id))?;
        scim.delete_user(id)?;
        ilm_plugin_sdk::info(&format!(
            "removed GitHub SCIM user {id} from the organization"
        ));
        scim::app_user(&user, Some(false))
    }
}

ilm_plugin_sdk::export_scim_plugin!(Github);
