//! Durable playbooks: an incident's Rhai playbook runs with a host API whose every
//! side-effecting call is journaled. Re-running replays the journal (recorded calls return
//! their results), so a crash or a question to a person never makes anything happen twice.
//! A question suspends the incident (`waiting`) until a person answers it (`ilm incident
//! answer`, or the API).

mod api;
mod blame;
mod budget;
pub mod config;
mod journal;
mod question_mail;

pub use budget::Limits;
pub use config::PlaybookConfig;

use crate::leases::Leases;
use crate::mail::Mailer;
use crate::mappers::MapperCache;
use crate::plugins::Host;
use crate::scripting::ScriptCache;
use crate::store::db::DbError;
use crate::store::{
    is_lease_lost, is_store_unavailable, Database, IncidentStatus, Lease, PooledStore, Refusal,
    StorePool,
};
use crate::transformers::Transformers;
use anyhow::{Context, Result};
use rhai::EvalAltResult;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything a playbook run needs, shared by the worker's threads.
pub struct Services {
    /// Store handles, reused from one incident to the next.
    pub stores: StorePool,
    pub host: Arc<Host>,
    pub mappers: MapperCache,
    pub transformers: Arc<Transformers>,
    pub playbooks: ScriptCache,
    pub config: PlaybookConfig,
    pub mailer: Option<Mailer>,
    /// The leases this process takes on the incidents it runs.
    pub leases: Leases,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Closed,
    /// Suspended on a question.
    Waiting {
        question: String,
    },
    /// Stopped with an error a person must fix; re-running starts a new attempt.
    Failed {
        error: String,
    },
}

/// The type of incidents `ilm playbook run` files; they name their playbook in the
/// `playbook` field.
pub const AD_HOC_TYPE: &str = "Ad hoc";

/// Why a script stopped early; carried through Rhai as a termination token, which a
/// script's `try`/`catch` cannot swallow.
const SUSPEND: &str = "ilm:suspend";
const HALT: &str = "ilm:halt";

/// Where the scripts live: playbooks, and the mappers and transformers they use.
pub struct ScriptDirs {
    pub playbooks: PathBuf,
    pub mappers: PathBuf,
    pub transformers: PathBuf,
}

impl ScriptDirs {
    /// The standard layout: `<dir>/*.rhai`, `<dir>/mappers/`, `<dir>/transformers/`.
    pub fn under(dir: &std::path::Path) -> Self {
        Self {
            playbooks: dir.to_owned(),
            mappers: dir.join("mappers"),
            transformers: dir.join("transformers"),
        }
    }
}

impl Services {
    pub fn new(
        database: impl Into<Database>,
        host: Arc<Host>,
        dirs: &ScriptDirs,
        mailer: Option<Mailer>,
    ) -> Result<Self> {
        let transformers = Arc::new(Transformers::new(&dirs.transformers));
        Ok(Self {
            stores: StorePool::new(database.into()),
            host,
            mappers: MapperCache::new(&dirs.mappers, transformers.clone()),
            transformers,
            playbooks: ScriptCache::new(&dirs.playbooks, "playbook", crate::scripting::engine()),
            config: PlaybookConfig::load(&dirs.playbooks)?,
            mailer,
            leases: Leases::for_this_process()?,
        })
    }

    pub fn open_store(&self) -> Result<PooledStore> {
        self.stores.get()
    }

    /// Claims incident `id` and runs (or resumes) its playbook: what a person asks for.
    /// Refused while another process runs it.
    pub fn run_incident(self: &Arc<Self>, id: i64) -> Result<RunOutcome> {
        let store = self.open_store()?;
        self.leases.end_dead_owners(&store)?;
        let lease = store.claim_incident(id, &self.leases.owner, self.leases.ttl)?;
        drop(store);
        self.run_claimed(&lease)
    }

    /// Resumes incident `id` right after a person answered its question, if it may run now;
    /// `None` when it may not (a worker took it first, or another incident of the same
    /// person is running): a worker then runs it as usual.
    pub fn resume_answered(self: &Arc<Self>, id: i64) -> Result<Option<RunOutcome>> {
        let store = self.open_store()?;
        self.leases.end_dead_owners(&store)?;
        let lease = store.claim_if_runnable(id, &self.leases.owner, self.leases.ttl)?;
        drop(store);
        lease.map(|lease| self.run_claimed(&lease)).transpose()
    }

    /// Runs the incident `lease` holds, renewing the lease meanwhile; every write of the
    /// run is fenced with it. An error fails the incident, unless the lease was lost (the
    /// new holder owns the incident and this run leaves it alone) or the store went away
    /// (the incident stays active and resumes from its journal once the store is back).
    pub fn run_claimed(self: &Arc<Self>, lease: &Lease) -> Result<RunOutcome> {
        let result = match self
            .leases
            .hold(&self.stores, lease, || self.run_leased(lease))
        {
            Err(err) if !is_lease_lost(&err) && !is_store_unavailable(&err) => {
                self.open_store()?
                    .fenced(lease)
                    .fail_incident(lease.incident, &format!("{err:#}"))
                    .context("recording the failure")?;
                Err(err)
            }
            other => other,
        };
        // A run that ended wrote its incident's new status, which ended the lease.
        if result.is_err() {
            if let Err(err) = self
                .open_store()
                .and_then(|store| store.release_lease(lease))
            {
                // It expires on its own.
                tracing::warn!(incident = lease.incident, "releasing the lease: {err:#}");
            }
        }
        result
    }

    /// Runs the playbook of the leased incident: a failed incident starts a new attempt; an
    /// interrupted or answered one replays its journal.
    fn run_leased(self: &Arc<Self>, lease: &Lease) -> Result<RunOutcome> {
        let store = self.open_store()?.fenced(lease);
        let id = lease.incident;
        let (incident, attempt) = store
            .incident_and_attempt(id)?
            .ok_or_else(|| Refusal::NotFound(format!("no incident {id}")))?;
        let playbook = match incident
            .fields
            .get("playbook")
            .and_then(serde_json::Value::as_str)
        {
            Some(name) => name.to_owned(),
            None => self.config.playbook_for(&incident.kind)?.to_owned(),
        };
        let script = self.playbooks.get(&playbook)?;
        store.act_as(&format!("playbook {playbook} (incident {id})"))?;
        let attempt = if lease.new_attempt {
            store.new_attempt(id)?
        } else {
            attempt
        };
        let budget = budget::Budget::start(self.config.limits);
        let journal = journal::Journal::load(&store, id, attempt, budget)?;
        let run = api::Run::new(self.clone(), store, incident, journal, budget)?;
        let result = run.eval(&playbook, &script.ast);
        run.finish(&playbook, result)
    }
}

/// Whether a Rhai error is our termination token `token`.
fn is_token(err: &EvalAltResult, token: &str) -> bool {
    match err {
        EvalAltResult::ErrorTerminated(value, _) => {
            value.clone().into_string().is_ok_and(|s| s == token)
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => is_token(inner, token),
        _ => false,
    }
}

impl api::Run {
    fn finish(self, playbook: &str, result: Result<(), Box<EvalAltResult>>) -> Result<RunOutcome> {
        let id = self.incident_id();
        let state = self.into_state();
        let store = &state.store;
        match result {
            Ok(()) => {
                // Closed again when the playbook closed it itself (its first close time
                // stays): closing redacts the journal's sealed results (a trigger of the
                // store), those of calls made after a `close()` too.
                store.set_incident_status(id, IncidentStatus::Closed)?;
                Ok(RunOutcome::Closed)
            }
            Err(err) if is_token(&err, SUSPEND) => {
                store.set_incident_status(id, IncidentStatus::Waiting)?;
                Ok(RunOutcome::Waiting {
                    question: state.pending_question.clone().unwrap_or_default(),
                })
            }
            // A call failed because the store went away, not because of the work.
            Err(_) if store.connection_lost() => Err(DbError::Unavailable(format!(
                "the store's connection was lost during the run of incident {id}; it resumes \
                 from its journal once the store is back"
            ))
            .into()),
            Err(err) => {
                let spent = api::budget_token(&err).and_then(|token| state.budget.explain(token));
                let error = if is_token(&err, HALT) {
                    state
                        .halt_message
                        .clone()
                        .unwrap_or_else(|| "the playbook stopped".to_owned())
                } else if let Some(spent) = spent {
                    let at = state
                        .budget_spent_in
                        .clone()
                        .unwrap_or_else(|| format!("playbook {playbook} ({})", err.position()));
                    format!("{at}: {spent}")
                } else {
                    blame::describe(playbook, &err, state.fault.as_deref())
                };
                // Failing redacts the journal's sealed results (a re-run starts a new
                // attempt, so they are never read again).
                store
                    .fail_incident(id, &error)
                    .context("recording the failure")?;
                tracing::warn!(incident = id, "{error}");
                Ok(RunOutcome::Failed { error })
            }
        }
    }
}
