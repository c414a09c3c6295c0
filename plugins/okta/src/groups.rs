//! Okta groups: search, one group, and a group's members, returned as Okta holds them.
//! Listings are bounded by `limit`, so a large org cannot make one command unbounded.

use crate::apps::not_found;
use crate::args;
use crate::client::{encode, Okta};
use ilm_plugin_sdk::AppError;
use serde_json::{Map, Value};

/// Items returned when `limit` is not given.
const DEFAULT_LIMIT: u64 = 200;
/// The most items one command returns.
const MAX_LIMIT: u64 = 10_000;
/// Items asked for per page (Okta serves at most this many group members per page).
const PAGE: u64 = 1000;

/// `okta-list-groups`: groups whose name starts with `query` (all groups without one).
pub fn list(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let limit = args::count(arguments, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let mut url = okta.url(&format!("groups?limit={}", limit.min(PAGE)));
    if let Some(query) = args::text(arguments, "query") {
        url.push_str(&format!("&q={}", encode(&query)));
    }
    collect(okta, &url, limit)
}

/// `okta-get-group`: one group by id.
pub fn get(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let id = args::required(arguments, "group_id")?;
    okta.get_optional(&okta.url(&format!("groups/{}", encode(&id))))?
        .ok_or_else(|| not_found("group", &id))
}

/// `okta-get-group-members`: up to `limit` users of a group.
pub fn members(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let id = args::required(arguments, "group_id")?;
    let limit = args::count(arguments, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let url = okta.url(&format!(
        "groups/{}/users?limit={}",
        encode(&id),
        limit.min(PAGE)
    ));
    collect(okta, &url, limit)
}

fn collect(okta: &Okta, url: &str, limit: u64) -> Result<Value, AppError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    okta.collect(url, Some(limit)).map(Value::Array)
}
