//! What a person does for an incident that needs one: answer the question its playbook
//! asked, or retry it after it failed. Each is one write transaction that checks the
//! incident's state and changes it, so two people acting at once cannot both win, and each
//! is audited with who did it. Either way the incident becomes pending, for a worker to
//! pick up: an answered one resumes right after its question, a retried one starts a new
//! attempt that keeps the context (what already succeeded is not done again).

use super::audit::{self, Actor};
use super::db::params;
use super::{IncidentStatus, Refusal, Store};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Value};

/// The question an incident waits on.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Question {
    pub question: String,
    /// The answers the playbook accepts; empty: any answer.
    pub answers: Vec<String>,
    /// The journal entry of the `ask` call that waits for the answer.
    #[serde(skip)]
    seq: i64,
}

impl Store {
    /// The question incident `id` waits on: the newest unanswered `ask` of its current
    /// attempt, if any.
    pub fn open_question(&self, id: i64) -> Result<Option<Question>> {
        let attempt = self.run_state(id)?.attempt;
        let entry = self
            .journal(id, attempt)?
            .into_iter()
            .rev()
            .find(|e| e.call == "ask" && e.result.is_none());
        Ok(entry.map(|e| Question {
            question: e.args["question"].as_str().unwrap_or_default().to_owned(),
            answers: e.args["answers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            seq: e.seq,
        }))
    }

    /// Records `actor`'s answer to the question incident `id` waits on and makes it
    /// pending again. Refused (and nothing changed) when the incident does not exist, does
    /// not wait for an answer (someone else answered first, say), or `answer` is not one
    /// of the question's choices. Returns the question answered.
    pub fn answer_question(&self, id: i64, answer: &str, actor: &Actor) -> Result<Question> {
        self.in_transaction(|store| {
            store.expect_status(id, IncidentStatus::Waiting, "waiting for an answer")?;
            let question = store
                .open_question(id)?
                .with_context(|| format!("incident {id} waits, but has no open question"))?;
            if !question.answers.is_empty() && !question.answers.iter().any(|a| a == answer) {
                return Err(Refusal::Invalid(format!(
                    "{answer:?} is not an answer to {:?}; choose one of: {}",
                    question.question,
                    question.answers.join(", ")
                ))
                .into());
            }
            let attempt = store.run_state(id)?.attempt;
            store.acting_as(actor.name(), || {
                // Questions are journaled in the clear.
                store.journal_finish(id, attempt, question.seq, &Value::from(answer), false)?;
                store.set_incident_status(id, IncidentStatus::Pending)
            })?;
            audit::record(
                store.conn(),
                actor,
                "incident.answer",
                &format!("incident {id}"),
                json!({"question": question.question, "answers": question.answers}),
                json!({"answer": answer}),
            )?;
            Ok(question)
        })
    }

    /// Queues failed incident `id` for a worker as a new attempt: its journal starts
    /// empty, its context is kept and its error cleared. Refused when the incident does
    /// not exist or has not failed. Returns the new attempt's number.
    pub fn retry_failed(&self, id: i64, actor: &Actor) -> Result<i64> {
        self.in_transaction(|store| {
            store.expect_status(id, IncidentStatus::Failed, "failed")?;
            let before = store.run_state(id)?;
            let attempt = store.acting_as(actor.name(), || {
                Ok(store.conn().query_row(
                    "UPDATE incidents SET attempt = attempt + 1, error = NULL, retries = 0,
                         retry_at = NULL, status = ?2
                     WHERE id = ?1 RETURNING attempt",
                    params![id, IncidentStatus::Pending],
                    |r| r.get::<i64>(0),
                )?)
            })?;
            audit::record(
                store.conn(),
                actor,
                "incident.retry",
                &format!("incident {id}"),
                json!({"status": "failed", "attempt": before.attempt, "error": before.error}),
                json!({"status": "pending", "attempt": attempt}),
            )?;
            Ok(attempt)
        })
    }

    /// Refuses, as a conflict naming the incident's status, an incident not in `status`.
    fn expect_status(&self, id: i64, status: IncidentStatus, what: &str) -> Result<()> {
        let incident = self
            .incident(id)?
            .ok_or_else(|| Refusal::NotFound(format!("no incident {id}")))?;
        if incident.status != status {
            return Err(Refusal::Conflict(format!(
                "incident {id} is not {what}: it is {}",
                incident.status.as_str()
            ))
            .into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Actor, IncidentStatus, NewIncident, Refusal, Store};
    use serde_json::{json, Map};

    fn waiting_incident(store: &Store) -> i64 {
        let id = store
            .create_incident(&NewIncident {
                kind: "T",
                name: "a@x.test",
                fields: &Map::new(),
            })
            .unwrap()
            .id;
        store
            .journal_begin(
                id,
                1,
                0,
                "ask",
                &json!({"question": "Go ahead?", "answers": ["Yes", "No"]}),
                false,
            )
            .unwrap();
        store
            .set_incident_status(id, IncidentStatus::Waiting)
            .unwrap();
        id
    }

    fn refusal(err: &anyhow::Error) -> &Refusal {
        err.downcast_ref::<Refusal>().expect("a refusal")
    }

    #[test]
    fn an_answer_is_recorded_once_with_who_gave_it() {
        let store = Store::open_in_memory().unwrap();
        let id = waiting_incident(&store);
        let alice = Actor::ApiKey {
            user: "alice".into(),
            key_id: 7,
        };
        let wrong = store.answer_question(id, "Maybe", &alice).unwrap_err();
        assert!(matches!(refusal(&wrong), Refusal::Invalid(m) if m.contains("Yes, No")));
        assert_eq!(
            store.open_question(id).unwrap().unwrap().question,
            "Go ahead?"
        );

        let answered = store.answer_question(id, "Yes", &alice).unwrap();
        assert_eq!(answered.question, "Go ahead?");
        assert_eq!(
            store.incident(id).unwrap().unwrap().status,
            IncidentStatus::Pending
        );
        assert_eq!(store.open_question(id).unwrap(), None);

        let second = store.answer_question(id, "No", &Actor::Cli).unwrap_err();
        assert!(matches!(refusal(&second), Refusal::Conflict(m) if m.contains("pending")));
        let journal = store.journal(id, 1).unwrap();
        assert_eq!(journal[0].result, Some(json!("Yes")));

        let log = store.audit_log(10).unwrap();
        let answers: Vec<_> = log
            .iter()
            .filter(|e| e.action == "incident.answer")
            .collect();
        assert_eq!(answers.len(), 1);
        assert_eq!(answers[0].actor, "alice");
        assert_eq!(answers[0].api_key, Some(7));
        assert_eq!(answers[0].after, json!({"answer": "Yes"}));
        let status_change = log.iter().find(|e| e.action == "incident.update").unwrap();
        assert_eq!(
            status_change.actor, "alice",
            "the status change is alice's too"
        );

        store.act_as("after").unwrap();
        store
            .set_incident_status(id, IncidentStatus::Active)
            .unwrap();
        assert_eq!(store.audit_log(1).unwrap()[0].actor, "after");
    }

    #[test]
    fn only_a_failed_incident_is_retried() {
        let store = Store::open_in_memory().unwrap();
        let id = waiting_incident(&store);
        let busy = store.retry_failed(id, &Actor::Cli).unwrap_err();
        assert!(matches!(refusal(&busy), Refusal::Conflict(m) if m.contains("waiting")));
        let missing = store.retry_failed(id + 1, &Actor::Cli).unwrap_err();
        assert!(matches!(refusal(&missing), Refusal::NotFound(_)));

        let mut context = Map::new();
        context.insert("SuccessfulVendors".into(), json!(["ad"]));
        store.set_incident_context(id, &context).unwrap();
        store.fail_incident(id, "the app is down").unwrap();
        assert_eq!(store.retry_failed(id, &Actor::Cli).unwrap(), 2);
        let state = store.run_state(id).unwrap();
        assert_eq!((state.attempt, state.error), (2, None));
        assert_eq!(state.context, context);
        assert_eq!(
            store.incident(id).unwrap().unwrap().status,
            IncidentStatus::Pending
        );
        let entry = &store.audit_log(1).unwrap()[0];
        assert_eq!(entry.action, "incident.retry");
        assert_eq!(entry.before["error"], "the app is down");
    }
}
