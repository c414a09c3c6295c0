//! The Audit page: who changed what, newest first, filtered by actor, target and time like
//! `ilm audit`. Each row names what changed in one short line; the whole change opens on
//! demand. The log names users and shows profile fields, so reading it needs both
//! `users.read` and `profiles.read`.

use super::page::{frame, respond, Refused};
use super::people::encoded;
use super::session::Viewer;
use crate::api::Db;
use crate::store::{AuditEntry, AuditFilter, Permission};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

/// Entries per page.
const PAGE: u32 = 50;

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    since: String,
    /// The id of the last entry of the page before: the next page starts below it.
    #[serde(default)]
    before: Option<i64>,
}

/// A filter's value, or none when left empty.
fn given(value: &str) -> Option<String> {
    Some(value.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `since` as the log compares it: a UTC date or date and time.
fn since(value: &str) -> Result<Option<String>, Refused> {
    let Some(value) = given(value) else {
        return Ok(None);
    };
    let date = chrono::NaiveDate::parse_from_str(&value, "%Y-%m-%d").is_ok();
    let time = chrono::DateTime::parse_from_rfc3339(&value).is_ok() && value.ends_with('Z');
    if date || time {
        Ok(Some(value))
    } else {
        Err(Refused::Page {
            status: StatusCode::BAD_REQUEST,
            title: "Not accepted",
            message: format!(
                "\u{201c}Since\u{201d} must be a UTC date (2026-12-01) or time \
                 (2026-12-01T10:00:00Z), not {value:?}."
            ),
        })
    }
}

pub async fn audit(
    viewer: Viewer,
    State(db): State<Db>,
    Query(search): Query<Search>,
) -> Result<Response, Refused> {
    viewer.require(Permission::UsersRead)?;
    viewer.require(Permission::ProfilesRead)?;
    let filter = AuditFilter {
        // One more than shown tells whether there is a next page.
        limit: PAGE + 1,
        actor: given(&search.actor),
        target: given(&search.target),
        action: None,
        since: since(&search.since)?,
        before: search.before,
    };
    let mut entries = db.run(move |store| store.search_audit_log(&filter)).await?;
    let more = entries.len() > PAGE as usize;
    entries.truncate(PAGE as usize);
    let body = html! {
        form method="get" action="/console/audit" {
            label for="actor" { "Actor (a user id, cli, anonymous, or playbook NAME (incident N))" }
            input id="actor" name="actor" type="text" value=(search.actor);
            label for="target" { "Target (an email, incident N, an instance, list or user)" }
            input id="target" name="target" type="text" value=(search.target);
            label for="since" { "Since (UTC date or time)" }
            input id="since" name="since" type="text" placeholder="2026-12-01" value=(search.since);
            " " button type="submit" { "Filter" }
        }
        @if entries.is_empty() {
            p { "No entry matches." }
        } @else {
            table {
                thead { tr { th { "At" } th { "Actor" } th { "Action" } th { "Target" } th { "Change" } } }
                tbody {
                    @for entry in &entries {
                        tr id={ "entry-" (entry.id) } {
                            td { (entry.at) }
                            td { (entry.actor) @if let Some(key) = entry.api_key { " (key " (key) ")" } }
                            td { (entry.action) }
                            td { (entry.target) }
                            td { (change(entry)) }
                        }
                    }
                }
            }
        }
        @if let (true, Some(last)) = (more, entries.last()) {
            p { a href=(next_page(&search, last.id)) { "Older entries" } }
        }
    };
    Ok(respond(StatusCode::OK, frame(Some(&viewer), "Audit", body)))
}

fn next_page(search: &Search, last: i64) -> String {
    format!(
        "/console/audit?actor={}&target={}&since={}&before={last}",
        encoded(&search.actor),
        encoded(&search.target),
        encoded(&search.since)
    )
}

/// The change in one short line, and the whole of it in a disclosure.
fn change(entry: &AuditEntry) -> Markup {
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap_or_default();
    html! {
        (entry.summary())
        @if !entry.before.is_null() || !entry.after.is_null() {
            details {
                summary { "Whole change" }
                @if !entry.before.is_null() { p { "Before:" } pre { (pretty(&entry.before)) } }
                @if !entry.after.is_null() { p { "After:" } pre { (pretty(&entry.after)) } }
            }
        }
    }
}
