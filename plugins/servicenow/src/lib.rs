//! ServiceNow IAM: users in the `sys_user` table over the Table API (`<url>/api/now/`).
//! Deactivating sets `active` to false (the account stays); activating sets it back and
//! unlocks. This module wires the exported interfaces to the modules that do the work. The
//! host signs every request with HTTP Basic; this guest never sees the password.

mod query;
mod table;
mod users;

use ilm_plugin_sdk::{app_error, commands, fetch, iam, AppError, AppUser, Field};
use ilm_plugin_sdk::{FetchResult, Lookup, PluginInfo};
use serde_json::{json, Map, Value};
use table::Table;

struct ServiceNow;

ilm_plugin_sdk::export!(ServiceNow with_types_in ilm_plugin_sdk);

/// The commands, as the manifest lists them.
const COMMANDS: &[&str] = &["servicenow-list-users"];

/// Users a listing returns when the command does not say.
const DEFAULT_LIST_LIMIT: u64 = 50;

fn table() -> Result<Table, AppError> {
    Table::from_params(&ilm_plugin_sdk::params())
}

/// Records per Table API request when reading many (the `page_size` parameter).
fn page_size(params: &Map<String, Value>) -> Result<u64, AppError> {
    ilm_plugin_sdk::arg_u64_in(params, "page_size", 100, 1..=table::MAX_PAGE)
}

impl iam::Guest for ServiceNow {
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
        users::find(&table()?, &by.attribute, &by.value)
    }

    fn create_user(profile: String) -> Result<AppUser, AppError> {
        users::create(&table()?, &profile)
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        users::update(&table()?, &id, &profile)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        users::set_active(&table()?, &id, true)
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        users::set_active(&table()?, &id, false)
    }

    /// The columns of `sys_user` from the data dictionary, as "label (type)".
    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        let params = ilm_plugin_sdk::params();
        let columns = Table::from_params(&params)?.query_all(
            "sys_dictionary",
            "name=sys_user^elementISNOTEMPTY",
            Some("element,column_label,internal_type"),
            page_size(&params)?,
        )?;
        let text = |column: &Value, key: &str| {
            column
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        Ok(columns
            .iter()
            .map(|column| Field {
                name: text(column, "element"),
                description: format!(
                    "{} ({})",
                    text(column, "column_label"),
                    text(column, "internal_type")
                ),
            })
            .filter(|field| !field.name.is_empty())
            .collect())
    }

    fn test_connection() -> Result<(), AppError> {
        table()?
            .query(users::USERS, "", Some("sys_id"), 1, 0)
            .map(|_| ())
    }
}

impl commands::Guest for ServiceNow {
    fn run(name: String, args: String) -> Result<String, AppError> {
        match name.as_str() {
            "servicenow-list-users" => {
                list_users(&ilm_plugin_sdk::json_object(&args, "the arguments")?)
            }
            other => Err(app_error(
                "400",
                format!("servicenow has no command {other:?}"),
            )),
        }
    }
}

/// `limit` users matching `query` from `offset` on, read a page at a time; with the
/// number of matches and where the next listing starts (null at the end).
fn list_users(args: &Map<String, Value>) -> Result<String, AppError> {
    let params = ilm_plugin_sdk::params();
    let table = Table::from_params(&params)?;
    let page_size = page_size(&params)?;
    let limit =
        ilm_plugin_sdk::arg_u64_in(args, "limit", DEFAULT_LIST_LIMIT, 1..=u64::from(u32::MAX))?;
    let start = ilm_plugin_sdk::arg_u64_in(args, "offset", 0, 0..=u64::from(u32::MAX))?;
    let query = match args.get("query") {
        None | Some(Value::Null) => "",
        Some(Value::String(query)) => query.as_str(),
        Some(other) => {
            return Err(app_error(
                "400",
                format!("query must be an encoded query text, e.g. active=true, not {other}"),
            ))
        }
    };
    let mut listed = Vec::new();
    let mut total = None;
    while (listed.len() as u64) < limit {
        let want = page_size.min(limit - listed.len() as u64);
        let page = table.query(users::USERS, query, None, want, start + listed.len() as u64)?;
        total = page.total.or(total);
        let short = (page.records.len() as u64) < want;
        listed.extend(page.records);
        let read_all = total.is_some_and(|t| start + listed.len() as u64 >= t);
        if short || read_all {
            break;
        }
    }
    let end = start + listed.len() as u64;
    let more = match total {
        Some(total) => end < total,
        None => listed.len() as u64 == limit,
    };
    Ok(json!({
        "users": listed,
        "total": total,
        "next_offset": if more { Some(end) } else { None },
    })
    .to_string())
}

impl fetch::Guest for ServiceNow {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Err(app_error("unsupported", "servicenow does not fetch"))
    }
}
