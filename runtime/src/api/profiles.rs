//! Read endpoints for user profiles: `GET /profiles?email=&employeeid=&displayname=&page=&size=`
//! and `GET /profiles/{email}`.

use super::auth::{Authorized, ProfilesRead};
use super::error::ApiError;
use super::{page_request, Db};
use crate::store::{Page, ProfileFilter, Refusal, UserProfile};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::Deserialize;

/// Criteria named like the profile fields they match.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    email: Option<String>,
    employeeid: Option<String>,
    displayname: Option<String>,
    page: Option<u32>,
    size: Option<u32>,
}

pub async fn search(
    _: Authorized<ProfilesRead>,
    State(db): State<Db>,
    query: Result<Query<Search>, QueryRejection>,
) -> Result<Json<Page<UserProfile>>, ApiError> {
    let Query(query) = query?;
    let page = page_request(query.page, query.size)?;
    let filter = ProfileFilter {
        email: query.email,
        employee_id: query.employeeid,
        display_name: query.displayname,
        ..ProfileFilter::default()
    };
    let found = db
        .run(move |store| store.search_profiles(&filter, page))
        .await?;
    Ok(Json(found))
}

pub async fn get(
    _: Authorized<ProfilesRead>,
    State(db): State<Db>,
    email: Result<Path<String>, PathRejection>,
) -> Result<Json<UserProfile>, ApiError> {
    let Path(email) = email?;
    let profile = db
        .run(move |store| {
            store
                .profile(&email)?
                .ok_or_else(|| Refusal::NotFound(format!("no user profile {email:?}")).into())
        })
        .await?;
    Ok(Json(profile))
}
