//! `GET /status`: what `ilm status --json` shows. It needs `incidents.read`: most of it is
//! incidents (counts, waiting questions, failures), and the rest is the fetches that file
//! them; no permission is closer, and every built-in role that may read incidents may see
//! why they are stuck.

use super::auth::{Authorized, IncidentsRead};
use super::error::ApiError;
use super::Db;
use crate::integrations::Integrations;
use crate::mappers::MapperCache;
use crate::playbooks::Services;
use crate::plugins::Host;
use crate::status::{self, Status};
use crate::store::Store;
use axum::extract::State;
use axum::Json;
use std::sync::Arc;

/// The instances' plugins and mappers, through which the status reads which instances are
/// sources and how often they are fetched; and the playbooks an answer resumes its
/// incident with at once (without them, a worker resumes it).
pub struct Plugins {
    pub host: Host,
    pub mappers: MapperCache,
    pub playbooks: Option<Arc<Services>>,
}

impl Plugins {
    /// The runtime's status, read with these plugins (as the console shows it too).
    pub fn status(&self, store: &Store) -> anyhow::Result<Status> {
        status::gather(&Integrations {
            store,
            host: &self.host,
            mappers: &self.mappers,
        })
    }
}

pub async fn get(
    _: Authorized<IncidentsRead>,
    State(db): State<Db>,
    State(plugins): State<Arc<Plugins>>,
) -> Result<Json<Status>, ApiError> {
    let status = db.run(move |store| plugins.status(store)).await?;
    Ok(Json(status))
}
