//! Replaying and extending an incident's journal while its playbook runs. Each
//! side-effecting call gets the next sequence number; a call already recorded returns its
//! recorded result instead of acting again. A call that began but never finished (the
//! process died in between) is acted again, told so ([`Call::repeat`]) so the host can make
//! the repeat reach the outcome the first try intended (a create that finds the account it
//! made is that create). Mail is at-least-once; a repeat carries the same [`Call`] identity.
//! A sensitive call's arguments are never written, only what its [`Privacy`] shows, and
//! its result is sealed. The run's [`Budget`] is checked before every call.

use super::budget::{Budget, OverBudget};
use crate::store::{JournalEntry, Store};
use anyhow::{bail, Result};
use serde_json::Value;

pub struct Journal {
    incident: i64,
    attempt: i64,
    recorded: Vec<JournalEntry>,
    next: usize,
    budget: Budget,
    /// Fault injection for the durability tests: die right after acting on this call,
    /// before its result is journaled (`ILM_FAULT_KILL_AFTER_CALL`). Compiled into test
    /// builds only, so no environment variable can make a real runtime kill itself.
    #[cfg(feature = "fault-injection")]
    kill_after: Option<usize>,
}

/// What the journal keeps of a call.
pub enum Privacy {
    /// The arguments and the result as they are.
    Public,
    /// `shown` in place of the arguments, and the result sealed: a generated password, or a
    /// mail or command carrying one. Replay needs the result; nobody needs to read either.
    Sensitive { shown: Value },
}

/// The call `act` performs: which step of which run (the same after a crash and its
/// resume), and whether it is the repeat of a call that began and never finished.
#[derive(Debug, Clone, Copy)]
pub struct Call {
    pub incident: i64,
    pub attempt: i64,
    pub seq: i64,
    pub repeat: bool,
}

/// What `ask` finds in the journal.
pub enum Answer {
    Given(Value),
    Pending,
}

impl Journal {
    pub fn load(store: &Store, incident: i64, attempt: i64, budget: Budget) -> Result<Self> {
        Ok(Self {
            incident,
            attempt,
            recorded: store.journal_for_replay(incident, attempt)?,
            next: 0,
            budget,
            #[cfg(feature = "fault-injection")]
            kill_after: std::env::var("ILM_FAULT_KILL_AFTER_CALL")
                .ok()
                .and_then(|v| v.parse().ok()),
        })
    }

    fn claim(&mut self, call: &str, args: &Value) -> Result<(i64, Option<&JournalEntry>)> {
        let seq = self.next;
        if let Some(token) = self.budget.before_call(seq) {
            return Err(OverBudget(token).into());
        }
        self.next += 1;
        match self.recorded.get(seq) {
            Some(entry) if entry.call != call || (!entry.sensitive && entry.args != *args) => bail!(
                "the playbook no longer matches its journal at call {seq}: it recorded {} {} but now calls {call} {args}; \
                 re-run the incident as a new attempt (`ilm incident run ID --restart`)",
                entry.call,
                entry.args
            ),
            entry => Ok((seq as i64, entry)),
        }
    }

    /// Runs `act` once per incident attempt, however often the playbook is replayed.
    pub fn step(
        &mut self,
        store: &Store,
        call: &str,
        args: &Value,
        privacy: Privacy,
        act: impl FnOnce(Call) -> Result<Value>,
    ) -> Result<Value> {
        let (seq, entry) = self.claim(call, args)?;
        let repeat = entry.is_some();
        // A call in flight when the runtime stopped finishes as it was begun.
        let sensitive = match entry {
            Some(entry) => entry.sensitive,
            None => matches!(privacy, Privacy::Sensitive { .. }),
        };
        match entry {
            Some(JournalEntry {
                result: Some(result),
                ..
            }) => return Ok(result.clone()),
            Some(_) => tracing::info!(
                incident = self.incident,
                seq,
                call,
                "repeating a call that was in flight when the runtime stopped"
            ),
            None => match &privacy {
                Privacy::Public => {
                    store.journal_begin(self.incident, self.attempt, seq, call, args, false)?
                }
                Privacy::Sensitive { shown } => {
                    store.journal_begin(self.incident, self.attempt, seq, call, shown, true)?
                }
            },
        }
        let result = act(Call {
            incident: self.incident,
            attempt: self.attempt,
            seq,
            repeat,
        })?;
        #[cfg(feature = "fault-injection")]
        self.kill_if_asked(seq, call);
        store.journal_finish(self.incident, self.attempt, seq, &result, sensitive)?;
        Ok(result)
    }

    /// Dies as a power cut would, after call `seq` acted and before it is journaled.
    #[cfg(feature = "fault-injection")]
    fn kill_if_asked(&self, seq: i64, call: &str) {
        if self.kill_after.is_none() || self.kill_after != usize::try_from(seq).ok() {
            return;
        }
        tracing::warn!(
            seq,
            call,
            "fault injection: killing the process after the call acted"
        );
        // SIGKILL: no destructors, no flush — exactly what a power cut leaves behind.
        let _ = std::process::Command::new("kill")
            .args(["-9", &std::process::id().to_string()])
            .status();
        std::process::abort();
    }

    /// A question: the recorded answer, or `Pending` after recording the question.
    pub fn ask(&mut self, store: &Store, args: &Value) -> Result<Answer> {
        let (seq, entry) = self.claim("ask", args)?;
        match entry {
            Some(JournalEntry {
                result: Some(answer),
                ..
            }) => Ok(Answer::Given(answer.clone())),
            Some(_) => Ok(Answer::Pending),
            None => {
                store.journal_begin(self.incident, self.attempt, seq, "ask", args, false)?;
                Ok(Answer::Pending)
            }
        }
    }
}
