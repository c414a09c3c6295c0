//! The console's pages. maud escapes every value it is given, so nothing an HR report, an
//! app or a user typed can become markup; sensitive journal results arrive redacted from the
//! store and are shown as they come.

use super::page::{frame, respond, Refused};
use super::people::encoded;
use super::session::Viewer;
use crate::api::{Db, Plugins};
use crate::status::waiting_questions;
use crate::store::{
    Incident, IncidentFilter, IncidentStatus, Page, PageRequest, Permission, Question,
};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;

/// Waiting questions listed on the Approvals page at most.
const APPROVALS_SHOWN: u32 = PageRequest::MAX_SIZE;

pub fn login(token: &str, message: Option<&str>) -> Markup {
    frame(
        None,
        "Sign in",
        html! {
            @if let Some(message) = message {
                p.error role="alert" { (message) }
            }
            form method="post" action="/console/login" {
                input type="hidden" name="token" value=(token);
                label for="username" { "User name" }
                input id="username" name="username" type="text" autocomplete="username" required autofocus;
                label for="password" { "Password" }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
            p { "No password yet? An administrator sets one with " code { "ilm user set-password USER" } "." }
        },
    )
}

/// What a change did, with links onwards.
pub fn done(viewer: &Viewer, id: i64, message: &str) -> Response {
    respond(
        StatusCode::OK,
        frame(
            Some(viewer),
            "Done",
            html! {
                p.notice role="status" { (message) }
                p {
                    a href={ "/console/incidents/" (id) } { "Incident " (id) } " · "
                    a href="/console/approvals" { "Approvals" }
                }
            },
        ),
    )
}

/// A JSON value as text: strings bare, anything else as compact JSON.
pub(super) fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn or_dash(value: Option<&str>) -> &str {
    value.unwrap_or("—")
}

pub async fn overview(
    viewer: Viewer,
    State(db): State<Db>,
    State(plugins): State<Arc<Plugins>>,
) -> Result<Response, Refused> {
    viewer.require(Permission::IncidentsRead)?;
    let status = db.run(move |store| plugins.status(store)).await?;
    let body = html! {
        h2 { "Instances" }
        @if status.instances.is_empty() {
            p { "No instances yet: add one with " code { "ilm instance add" } "." }
        } @else {
            table {
                thead { tr { th { "Instance" } th { "Plugin" } th { "Enabled" } th { "Last fetch" }
                    th { "Next fetch" } th { "Queued" } th { "Last error" } } }
                tbody {
                    @for instance in &status.instances {
                        tr {
                            td { (instance.name) }
                            td { (instance.plugin) }
                            td { @if instance.enabled { "yes" } @else { "no" } }
                            td { (or_dash(instance.fetch.as_ref().map(|f| f.last_at.as_str()))) }
                            td { (or_dash(instance.next_fetch_at.as_deref())) }
                            td { (instance.queued) }
                            td { (or_dash(instance.fetch.as_ref().and_then(|f| f.last_error.as_deref()))) }
                        }
                    }
                }
            }
        }
        h2 { "Incidents by status" }
        table {
            thead { tr { th { "Status" } th { "Incidents" } } }
            tbody {
                @for (status, count) in &status.incidents {
                    tr {
                        td { a href={ "/console/incidents?status=" (status) } { (status) } }
                        td { (count) }
                    }
                }
            }
        }
        h2 { "Needs a person" }
        @if status.needs_a_person.is_empty() {
            p { "Nothing: no questions waiting, no failed incidents or fetches." }
        } @else {
            ul {
                @for item in &status.needs_a_person {
                    li { (needs_a_person(item)) }
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        frame(Some(&viewer), "Overview", body),
    ))
}

/// One thing that needs a person, its fields in order (empty ones left out), the incident
/// linked, and a question linked to where it is answered.
fn needs_a_person(item: &Value) -> Markup {
    let Some(fields) = item.as_object() else {
        return html! { (text(item)) };
    };
    let shown = fields
        .iter()
        .filter(|(_, value)| !value.is_null() && value.as_str() != Some(""));
    html! {
        @for (key, value) in shown {
            @if key == "incident" {
                a href={ "/console/incidents/" (text(value)) } { "Incident " (text(value)) } "; "
            } @else {
                (key.replace('_', " ")) ": " (text(value)) "; "
            }
        }
        @if fields.contains_key("question") {
            a href="/console/approvals" { "answer it in Approvals" }
        }
    }
}

/// The question's answers as buttons, one form each; none for a user who may not answer.
fn answer_buttons(viewer: &Viewer, id: i64, question: &Question) -> Markup {
    if !viewer.user.holds(Permission::IncidentsWrite) {
        return html! { p { em { "Your roles do not grant incidents.write, so you cannot answer." } } };
    }
    let csrf = viewer.csrf();
    html! {
        div.answers {
            @for answer in &question.answers {
                form method="post" action={ "/console/incidents/" (id) "/answer" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="answer" value=(answer);
                    button type="submit" { (answer) }
                }
            }
            @if question.answers.is_empty() {
                form method="post" action={ "/console/incidents/" (id) "/answer" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for={ "answer-" (id) } { "Answer" }
                    input id={ "answer-" (id) } name="answer" type="text" required;
                    " " button type="submit" { "Answer" }
                }
            }
        }
    }
}

pub async fn approvals(viewer: Viewer, State(db): State<Db>) -> Result<Response, Refused> {
    viewer.require(Permission::IncidentsRead)?;
    let waiting = db
        .run(|store| waiting_questions(store, APPROVALS_SHOWN))
        .await?;
    let body = html! {
        @if waiting.is_empty() {
            p { "No incident is waiting for an answer." }
        }
        @for (incident, question) in &waiting {
            section id={ "incident-" (incident.id) } aria-labelledby={ "q-" (incident.id) } {
                h2 id={ "q-" (incident.id) } {
                    a href={ "/console/incidents/" (incident.id) } { "Incident " (incident.id) }
                    ": " (incident.name)
                }
                p { (incident.kind) }
                @match question {
                    Some(question) => {
                        p { strong { (question.question) } }
                        (answer_buttons(&viewer, incident.id, question))
                    }
                    None => p { "The question could not be read; see the incident." },
                }
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        frame(Some(&viewer), "Approvals", body),
    ))
}

#[derive(Deserialize)]
pub struct Search {
    #[serde(default)]
    status: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    page: u32,
}

pub async fn incidents(
    viewer: Viewer,
    State(db): State<Db>,
    Query(search): Query<Search>,
) -> Result<Response, Refused> {
    viewer.require(Permission::IncidentsRead)?;
    let status = match search.status.as_str() {
        "" => None,
        given => Some(
            IncidentStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == given)
                .ok_or_else(|| Refused::Page {
                    status: StatusCode::BAD_REQUEST,
                    title: "Not accepted",
                    message: format!(
                        "There is no incident status {given:?}; pick one from the list."
                    ),
                })?,
        ),
    };
    let email = search.email.trim().to_owned();
    let filter = IncidentFilter {
        status,
        email: (!email.is_empty()).then(|| email.clone()),
        ..IncidentFilter::default()
    };
    let page = PageRequest::new(search.page, PageRequest::DEFAULT_SIZE)?;
    let found: Page<Incident> = db
        .run(move |store| store.search_incidents(&filter, page))
        .await?;
    let shown_to = u64::from(found.page) * u64::from(found.size) + found.data.len() as u64;
    let body = html! {
        form method="get" action="/console/incidents" {
            label for="status" { "Status" }
            select id="status" name="status" {
                option value="" selected[status.is_none()] { "any" }
                @for s in IncidentStatus::ALL {
                    option value=(s.as_str()) selected[status == Some(s)] { (s.as_str()) }
                }
            }
            label for="email" { "Email" }
            input id="email" name="email" type="email" value=(email);
            " " button type="submit" { "Search" }
        }
        p { (found.total) " incidents match." }
        @if !found.data.is_empty() {
            table {
                thead { tr { th { "Id" } th { "Type" } th { "Name" } th { "Status" } th { "Created" } th { "Closed" } } }
                tbody {
                    @for incident in &found.data {
                        tr {
                            td { a href={ "/console/incidents/" (incident.id) } { (incident.id) } }
                            td { (incident.kind) }
                            td { (incident.name) }
                            td { (incident.status.as_str()) }
                            td { (incident.created_at) }
                            td { (or_dash(incident.closed_at.as_deref())) }
                        }
                    }
                }
            }
        }
        @if shown_to < found.total {
            p { a href={ "/console/incidents?status=" (encoded(&search.status)) "&email=" (encoded(&email)) "&page=" (found.page + 1) } { "Next page" } }
        }
    };
    Ok(respond(
        StatusCode::OK,
        frame(Some(&viewer), "Incidents", body),
    ))
}

pub async fn incident(
    viewer: Viewer,
    State(db): State<Db>,
    Path(id): Path<i64>,
) -> Result<Response, Refused> {
    viewer.require(Permission::IncidentsRead)?;
    let (incident, state, journal, question) = db
        .run(move |store| {
            let incident = store.incident(id)?.ok_or_else(|| {
                crate::store::Refusal::NotFound(format!("there is no incident {id}"))
            })?;
            let state = store.run_state(id)?;
            let journal = store.journal(id, state.attempt)?;
            let question = store.open_question(id)?;
            Ok((incident, state, journal, question))
        })
        .await?;
    let writer = viewer.user.holds(Permission::IncidentsWrite);
    let body = html! {
        table {
            tbody {
                tr { th scope="row" { "Type" } td { (incident.kind) } }
                tr { th scope="row" { "Name" } td { (incident.name) } }
                @if let Some(email) = incident.fields.get("email").and_then(Value::as_str) {
                    tr { th scope="row" { "Person" } td { a href=(super::people::person_href(email)) { (email) } } }
                }
                tr { th scope="row" { "Status" } td { (incident.status.as_str()) } }
                tr { th scope="row" { "Owner" } td { (or_dash(incident.owner.as_deref())) } }
                tr { th scope="row" { "Created" } td { (incident.created_at) } }
                tr { th scope="row" { "Closed" } td { (or_dash(incident.closed_at.as_deref())) } }
                tr { th scope="row" { "Attempt" } td { (state.attempt) } }
            }
        }
        @if let Some(error) = &state.error {
            h2 { "Error" }
            p.error { (error) }
            @if incident.status == IncidentStatus::Failed && writer {
                form method="post" action={ "/console/incidents/" (id) "/retry" } {
                    input type="hidden" name="csrf" value=(viewer.csrf());
                    button type="submit" { "Retry" }
                }
            }
        }
        @if let (IncidentStatus::Waiting, Some(question)) = (incident.status, &question) {
            h2 { "Waiting for an answer" }
            p { strong { (question.question) } }
            (answer_buttons(&viewer, id, question))
        }
        h2 { "Fields" }
        table {
            tbody {
                @for (key, value) in &incident.fields {
                    tr { th scope="row" { (key) } td { pre { (text(value)) } } }
                }
            }
        }
        h2 { "Timeline" }
        @if journal.is_empty() {
            p { "Nothing has run yet." }
        } @else {
            ol {
                @for entry in &journal {
                    li {
                        strong { (entry.call) } " — " (entry.started_at)
                        @if let Some(finished) = &entry.finished_at { " to " (finished) }
                        pre { (entry.args.to_string()) }
                        @if let Some(result) = &entry.result {
                            pre { "→ " (result.to_string()) }
                        }
                    }
                }
            }
        }
    };
    let title = format!("Incident {id}");
    Ok(respond(StatusCode::OK, frame(Some(&viewer), &title, body)))
}
