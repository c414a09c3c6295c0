//! Incidents: `GET /incidents?type=&status=&email=&page=&size=` and `GET /incidents/{id}`
//! read them; `POST /incidents/{id}/answer` answers the question one waits on and
//! `POST /incidents/{id}/retry` queues a failed one again. Both are audited under the key's
//! owner; an answered incident resumes at once when the server runs playbooks, a retried
//! one goes back to the workers (pending).

use super::auth::{Authorized, IncidentsRead, IncidentsWrite};
use super::error::ApiError;
use super::{page_request, resume, Db, Plugins};
use crate::store::{Incident, IncidentFilter, IncidentStatus, Page, Refusal};
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    #[serde(rename = "type")]
    kind: Option<String>,
    status: Option<IncidentStatus>,
    email: Option<String>,
    page: Option<u32>,
    size: Option<u32>,
}

pub async fn search(
    _: Authorized<IncidentsRead>,
    State(db): State<Db>,
    query: Result<Query<Search>, QueryRejection>,
) -> Result<Json<Page<Incident>>, ApiError> {
    let Query(query) = query?;
    let page = page_request(query.page, query.size)?;
    let filter = IncidentFilter {
        kind: query.kind,
        status: query.status,
        email: query.email,
    };
    let found = db
        .run(move |store| store.search_incidents(&filter, page))
        .await?;
    Ok(Json(found))
}

pub async fn get(
    _: Authorized<IncidentsRead>,
    State(db): State<Db>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Incident>, ApiError> {
    let Path(id) = id?;
    let incident = db
        .run(move |store| {
            store
                .incident(id)?
                .ok_or_else(|| Refusal::NotFound(format!("no incident {id}")).into())
        })
        .await?;
    Ok(Json(incident))
}

/// The body of `POST /incidents/{id}/answer`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerRequest {
    answer: String,
}

/// What an answer or a retry did, and what happens next.
#[derive(Serialize)]
pub struct Queued {
    incident: i64,
    /// `pending`: a worker picks it up; after an answer, how the resumed run left it.
    status: IncidentStatus,
    /// The question answered (answer only).
    #[serde(skip_serializing_if = "Option::is_none")]
    question: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer: Option<String>,
    /// The new attempt (retry only).
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<i64>,
    next: String,
}

/// `POST /incidents/{id}/answer`: 400 for an answer that is not one of the question's
/// choices (naming them), 409 when the incident does not wait for an answer (someone else
/// answered first, say).
pub async fn answer(
    auth: Authorized<IncidentsWrite>,
    State(db): State<Db>,
    State(plugins): State<Arc<Plugins>>,
    id: Result<Path<i64>, PathRejection>,
    body: Result<Json<AnswerRequest>, JsonRejection>,
) -> Result<Json<Queued>, ApiError> {
    let Path(id) = id?;
    let Json(request) = body?;
    let actor = auth.actor();
    let answer = request.answer.clone();
    let question = db
        .run(move |store| store.answer_question(id, &answer, &actor))
        .await?;
    let resumed = resume(&plugins, id).await;
    Ok(Json(Queued {
        incident: id,
        status: resumed.status(),
        question: Some(question.question),
        answer: Some(request.answer),
        attempt: None,
        next: resumed.next(),
    }))
}

/// `POST /incidents/{id}/retry`: a failed incident, as a new attempt that keeps what
/// already succeeded; 409 for an incident that has not failed.
pub async fn retry(
    auth: Authorized<IncidentsWrite>,
    State(db): State<Db>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Queued>, ApiError> {
    let Path(id) = id?;
    let actor = auth.actor();
    let attempt = db.run(move |store| store.retry_failed(id, &actor)).await?;
    Ok(Json(Queued {
        incident: id,
        status: IncidentStatus::Pending,
        question: None,
        answer: None,
        attempt: Some(attempt),
        next: "a worker (`ilm worker` or `ilm run`) runs the playbook again from the start; \
               apps it already succeeded in are not done again"
            .to_owned(),
    }))
}
