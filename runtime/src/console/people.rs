//! The People pages: a search over the stored profiles, and one person's story: their
//! profile, and every incident about them and every app's answer to what their playbooks
//! asked of it, in one timeline. Reading them needs both `profiles.read` and
//! `incidents.read`, as the profile and the incidents each do on their own.

use super::page::{frame, respond, Refused};
use super::pages::{or_dash, text};
use super::session::Viewer;
use crate::api::Db;
use crate::store::{
    AccountEvent, Incident, IncidentFilter, PageRequest, Permission, ProfileFilter, Refusal,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;

/// Incidents shown for one person at most; a person with more is told how many more.
const INCIDENTS_SHOWN: u32 = PageRequest::MAX_SIZE;

/// Profile fields never shown, whatever an HR report put there.
const SECRET_WORDS: [&str; 3] = ["password", "secret", "token"];

fn require(viewer: &Viewer) -> Result<(), Refused> {
    viewer.require(Permission::ProfilesRead)?;
    viewer.require(Permission::IncidentsRead)
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: u32,
}

pub async fn people(
    viewer: Viewer,
    State(db): State<Db>,
    Query(search): Query<Search>,
) -> Result<Response, Refused> {
    require(&viewer)?;
    let q = search.q.trim().to_owned();
    let filter = ProfileFilter {
        containing: (!q.is_empty()).then(|| q.clone()),
        ..ProfileFilter::default()
    };
    let page = PageRequest::new(search.page, PageRequest::DEFAULT_SIZE)?;
    let found = db
        .run(move |store| store.search_profiles(&filter, page))
        .await?;
    let shown_to = u64::from(found.page) * u64::from(found.size) + found.data.len() as u64;
    let body = html! {
        form method="get" action="/console/people" {
            label for="q" { "Email or name contains" }
            input id="q" name="q" type="search" value=(q);
            " " button type="submit" { "Search" }
        }
        p { (found.total) @if found.total == 1 { " person matches." } @else { " people match." } }
        @if !found.data.is_empty() {
            table {
                thead { tr { th { "Email" } th { "Name" } th { "Employee id" } th { "Updated" } } }
                tbody {
                    @for profile in &found.data {
                        tr {
                            td { a href=(person_href(&profile.email)) { (profile.email) } }
                            td { (profile.fields.get("displayname").map(text).unwrap_or_default()) }
                            td { (profile.fields.get("employeeid").map(text).unwrap_or_default()) }
                            td { (profile.updated_at) }
                        }
                    }
                }
            }
        }
        @if shown_to < found.total {
            p { a href={ "/console/people?q=" (encoded(&q)) "&page=" (found.page + 1) } { "Next page" } }
        }
    };
    Ok(respond(
        StatusCode::OK,
        frame(Some(&viewer), "People", body),
    ))
}

pub(super) fn person_href(email: &str) -> String {
    format!("/console/people/{}", encoded(email))
}

/// `text` made safe for a URL's path segment or query value.
pub(super) fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// One line of a person's timeline.
enum Event<'a> {
    Incident(&'a Incident),
    Account(&'a AccountEvent),
}

impl Event<'_> {
    fn at(&self) -> &str {
        match self {
            Event::Incident(incident) => &incident.created_at,
            Event::Account(account) => &account.at,
        }
    }
}

pub async fn person(
    viewer: Viewer,
    State(db): State<Db>,
    Path(email): Path<String>,
) -> Result<Response, Refused> {
    require(&viewer)?;
    let wanted = email.clone();
    let (profile, incidents, accounts) = db
        .run(move |store| {
            let profile = store.profile(&wanted)?;
            let filter = IncidentFilter {
                email: Some(wanted.clone()),
                ..IncidentFilter::default()
            };
            let incidents =
                store.search_incidents(&filter, PageRequest::new(0, INCIDENTS_SHOWN)?)?;
            let accounts = store.account_events(&wanted)?;
            if profile.is_none() && incidents.total == 0 && accounts.is_empty() {
                return Err(Refusal::NotFound(format!(
                    "there is no profile and no incident for {wanted}"
                ))
                .into());
            }
            Ok((profile, incidents, accounts))
        })
        .await?;
    let mut timeline: Vec<Event> = incidents
        .data
        .iter()
        .map(Event::Incident)
        .chain(accounts.iter().map(Event::Account))
        .collect();
    // Newest first. Stamps come with and without milliseconds, so they sort as times.
    timeline.sort_by_key(|event| std::cmp::Reverse(instant(event.at())));
    let hidden = incidents.total - incidents.data.len() as u64;
    let body = html! {
        h2 { "Profile" }
        @match &profile {
            None => p { "No stored profile (the HR source has not listed this email)." },
            Some(profile) => {
                table {
                    tbody {
                        @for (key, value) in profile.fields.iter().filter(|(k, _)| !is_secret(k)) {
                            tr { th scope="row" { (key) } td { pre { (text(value)) } } }
                        }
                    }
                }
                p { "Stored " (profile.created_at) ", updated " (profile.updated_at) "." }
            }
        }
        h2 { "Timeline" }
        @if hidden > 0 {
            p { "The " (hidden) " oldest incidents are not shown; "
                a href={ "/console/incidents?email=" (encoded(&email)) } { "see them all" } "." }
        }
        @if timeline.is_empty() {
            p { "Nothing has happened to this person yet." }
        } @else {
            ol.timeline {
                @for event in &timeline {
                    li { (timeline_line(event)) }
                }
            }
        }
    };
    Ok(respond(StatusCode::OK, frame(Some(&viewer), &email, body)))
}

/// A stored UTC stamp as a time; one that is not sorts oldest.
fn instant(at: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    chrono::DateTime::parse_from_rfc3339(at).ok()
}

fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

fn timeline_line(event: &Event) -> Markup {
    match event {
        Event::Incident(incident) => html! {
            time { (incident.created_at) } " · "
            a href={ "/console/incidents/" (incident.id) } { "Incident " (incident.id) }
            ": " (incident.kind) ", " strong { (incident.status.as_str()) }
            @if let Some(closed) = &incident.closed_at { " (closed " (closed) ")" }
        },
        Event::Account(account) => html! {
            time { (account.at) } " · "
            "Account in " strong { (account.instance) } ": " (account.action) " "
            @if account.success { "done" } @else { "failed" }
            "; id " (or_dash(Some(account.id.as_str()).filter(|id| !id.is_empty())))
            @if !account.username.is_empty() { ", user name " (account.username) }
            @match account.active {
                Some(true) => { ", active" }
                Some(false) => { ", inactive" }
                None => {}
            }
            @if !account.error.is_empty() { " — " (account.error) }
            " (" a href={ "/console/incidents/" (account.incident) } { "incident " (account.incident) } ")"
        },
    }
}
