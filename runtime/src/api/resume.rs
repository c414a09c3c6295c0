//! Answering a question resumes its incident at once: the server runs the incident's
//! playbook itself on a blocking thread, under a lease like any worker's, so it is safe
//! beside `ilm run` and `ilm worker` (whoever claims the incident first runs it). The
//! answer waits a little for the run, to say how it ended; a longer run goes on without it.

use super::Plugins;
use crate::playbooks::RunOutcome;
use crate::store::IncidentStatus;
use std::time::Duration;

/// How long an answer waits for the run it started before it returns.
const WAIT: Duration = Duration::from_secs(10);

/// What became of an answered incident.
#[derive(Debug)]
pub enum Resumed {
    /// This server runs no playbooks: a worker resumes it.
    ByWorker,
    /// It may not run yet (a worker took it first, or another incident of the same person
    /// is running): a worker resumes it.
    Elsewhere,
    /// The run ended so.
    Ended(RunOutcome),
    /// Still running when the answer returned.
    Running,
    /// The run stopped on an error, which failed the incident.
    Error(String),
}

impl Resumed {
    /// The incident's status after this.
    pub fn status(&self) -> IncidentStatus {
        match self {
            Resumed::ByWorker | Resumed::Elsewhere => IncidentStatus::Pending,
            Resumed::Running => IncidentStatus::Active,
            Resumed::Ended(RunOutcome::Closed) => IncidentStatus::Closed,
            Resumed::Ended(RunOutcome::Waiting { .. }) => IncidentStatus::Waiting,
            Resumed::Ended(RunOutcome::Failed { .. }) | Resumed::Error(_) => IncidentStatus::Failed,
        }
    }

    /// What happened to the incident, as a sentence.
    pub fn next(&self) -> String {
        match self {
            Resumed::ByWorker => "A worker (`ilm worker` or `ilm run`) resumes the playbook \
                                  right after the question, with this answer."
                .to_owned(),
            Resumed::Elsewhere => "Another process is running it or another incident of the \
                                   same person: a worker resumes the playbook with this answer \
                                   after that."
                .to_owned(),
            Resumed::Running => {
                "The playbook resumed with this answer and is still running.".to_owned()
            }
            Resumed::Ended(RunOutcome::Closed) => {
                "The playbook resumed with this answer and the incident closed.".to_owned()
            }
            Resumed::Ended(RunOutcome::Waiting { question }) => format!(
                "The playbook resumed with this answer and now waits on another question: \
                 \u{201c}{question}\u{201d}"
            ),
            Resumed::Ended(RunOutcome::Failed { error }) | Resumed::Error(error) => format!(
                "The playbook resumed with this answer and failed: {error}. Retry the \
                 incident once that is fixed."
            ),
        }
    }
}

/// Runs answered incident `id` now if this server runs playbooks, waiting up to [`WAIT`].
pub async fn resume(plugins: &Plugins, id: i64) -> Resumed {
    let Some(services) = plugins.playbooks.clone() else {
        return Resumed::ByWorker;
    };
    let run = tokio::task::spawn_blocking(move || services.resume_answered(id));
    match tokio::time::timeout(WAIT, run).await {
        Err(_) => Resumed::Running,
        Ok(Err(stopped)) => Resumed::Error(format!("the run stopped: {stopped}")),
        Ok(Ok(Ok(None))) => Resumed::Elsewhere,
        Ok(Ok(Ok(Some(outcome)))) => Resumed::Ended(outcome),
        Ok(Ok(Err(err))) => {
            tracing::warn!(incident = id, "resuming the answered incident: {err:#}");
            Resumed::Error(format!("{err:#}"))
        }
    }
}
