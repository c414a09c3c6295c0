//! Read endpoints for incidents: `GET /incidents?type=&status=&email=&page=&size=` and
//! `GET /incidents/{id}`.

use super::auth::{Authorized, IncidentsRead};
use super::error::ApiError;
use super::{page_request, Db};
use crate::store::{Incident, IncidentFilter, IncidentStatus, Page, Refusal};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

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
