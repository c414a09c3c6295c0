//! GitHub IAM: an organization's members provisioned over SCIM 2.0.
//!
//! Users live at `<url>/<scim-path>/Users`. GitHub has no inactive state: disabling a user
//! deletes the SCIM identity, which removes the organization membership. The host adds the
//! bearer token to every request; this guest never sees it.

mod scim;

use guest_common::{app_error, commands, fetch, iam, AppError, AppUser, Field};
use guest_common::{FetchResult, Lookup, PluginInfo};
use scim::Scim;
use serde_json::Value;

struct Github;

guest_common::export!(Github with_types_in guest_common);

const COMMANDS: &[&str] = &["github-list-users"];

/// Page size of `github-list-users` when `count` is not given.
const DEFAULT_LIST_COUNT: u64 = 100;

impl iam::Guest for Github {
    fn describe() -> PluginInfo {
        guest_common::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        vec!["id".into(), "userName".into(), "emails".into()]
    }

    fn find_user(by: Lookup) -> Result<Option<AppUser>, AppError> {
        let scim = Scim::from_params()?;
        let found = if by.attribute == "id" {
            scim.get_user(&by.value)?
        } else {
            scim.find_user(&by.attribute, &by.value)?
        };
        found.map(|user| scim::app_user(&user, None)).transpose()
    }

    fn create_user(profile: String) -> Result<AppUser, AppError> {
        let scim = Scim::from_params()?;
        let mut body = scim::user_body(&profile)?;
        // The app assigns ids.
        body.remove("id");
        let created = scim.create_user(body)?;
        // GitHub has no inactive members: a created one is active.
        scim::app_user(&created, Some(true))
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        let scim = Scim::from_params()?;
        let mut body = scim::user_body(&profile)?;
        // PUT replaces the whole user and SCIM requires userName: keep the current one
        // when the mapped profile has none.
        if !body.get("userName").is_some_and(scim::non_empty) {
            let current = scim.get_user(&id)?.ok_or_else(|| scim::not_found(&id))?;
            if let Some(name) = current.get("userName") {
                body.insert("userName".into(), name.clone());
            }
        }
        body.insert("id".into(), Value::String(id.clone()));
        let updated = scim.replace_user(&id, body)?;
        scim::app_user(&updated, None)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        // No inactive state on GitHub: a member that exists is active.
        let scim = Scim::from_params()?;
        let user = scim.get_user(&id)?.ok_or_else(|| scim::not_found(&id))?;
        scim::app_user(&user, Some(true))
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        let scim = Scim::from_params()?;
        // Read first so the result can still say who was removed.
        let user = scim.get_user(&id)?.ok_or_else(|| scim::not_found(&id))?;
        scim.delete_user(&id)?;
        guest_common::info(&format!(
            "removed GitHub SCIM user {id} from the organization"
        ));
        scim::app_user(&user, Some(false))
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        Ok(scim::USER_FIELDS
            .iter()
            .map(|(name, description)| Field {
                name: name.to_string(),
                description: description.to_string(),
            })
            .collect())
    }

    fn test_connection() -> Result<(), AppError> {
        Scim::from_params()?.list_users(1).map(|_| ())
    }
}

impl commands::Guest for Github {
    fn run(name: String, args: String) -> Result<String, AppError> {
        match name.as_str() {
            "github-list-users" => {
                let args = guest_common::json_object(&args, "the arguments")?;
                let count = match args.get("count") {
                    None | Some(Value::Null) => DEFAULT_LIST_COUNT,
                    Some(Value::Number(n)) => n.as_u64().ok_or_else(|| bad_count(n))?,
                    Some(Value::String(s)) if s.trim().is_empty() => DEFAULT_LIST_COUNT,
                    Some(Value::String(s)) => s.trim().parse().map_err(|_| bad_count(s))?,
                    Some(other) => return Err(bad_count(other)),
                };
                let users = Scim::from_params()?.list_users(count)?;
                Ok(Value::Array(users).to_string())
            }
            other => Err(app_error("400", format!("github has no command {other:?}"))),
        }
    }
}

fn bad_count(value: impl std::fmt::Display) -> AppError {
    app_error(
        "400",
        format!("count must be a non-negative integer, not {value}"),
    )
}

impl fetch::Guest for Github {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Err(app_error("unsupported", "github does not fetch"))
    }
}
