//! `ilm incident create|list|show|run|answer|close`.

use super::{output, Context, Outcome};
use crate::playbooks::RunOutcome;
use crate::store::{Actor, IncidentFilter, IncidentStatus, NewIncident, PageRequest, Refusal};
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use serde_json::{json, Map, Value};

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// File a new incident (it waits for a worker, or `ilm incident run`).
    Create {
        /// The incident type, e.g. "IAM - New Hire".
        #[arg(long = "type")]
        kind: String,
        /// Incident fields as a JSON object (e.g. {"email": ..., "userprofile": {...}}).
        #[arg(long, default_value = "{}")]
        fields: String,
        /// The incident name; defaults to the `email` field.
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// List incidents, newest first.
    List {
        #[arg(long = "type")]
        kind: Option<String>,
        /// pending, active, waiting, failed or closed.
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, default_value_t = 0)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        size: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show an incident: fields, status, the journal of its playbook and the vendor results.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Run (or resume) the incident's playbook now, in this process. A failed incident
    /// starts a new attempt; instances that already succeeded are kept in its context.
    Run {
        id: i64,
        /// Start a new attempt with an empty journal (keeping the incident's context), e.g.
        /// after the playbook was changed in a way its journal no longer matches.
        #[arg(long)]
        restart: bool,
        #[arg(long)]
        json: bool,
    },
    /// Answer the question an incident waits on; it resumes on its next run.
    Answer { id: i64, answer: String },
    /// Close an incident by hand.
    Close {
        id: i64,
        #[arg(long, default_value = "Closed by hand")]
        note: String,
    },
}

pub fn run(ctx: &Context, cmd: IncidentCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        IncidentCommand::Create {
            kind,
            fields,
            name,
            json,
        } => {
            let fields: Value =
                serde_json::from_str(&fields).context("--fields is not valid JSON")?;
            let Value::Object(fields) = fields else {
                bail!("--fields must be a JSON object")
            };
            let config = ctx.playbook_config()?;
            config.playbook_for(&kind)?;
            let name = name
                .or_else(|| {
                    fields
                        .get("email")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_default();
            let incident = store.create_incident(&NewIncident {
                kind: &kind,
                name: &name,
                fields: &fields,
            })?;
            if json {
                output::print_json(&incident)?;
            } else {
                println!("created incident {} ({kind})", incident.id);
            }
            Ok(Outcome::Success)
        }
        IncidentCommand::List {
            kind,
            status,
            email,
            page,
            size,
            json,
        } => {
            let status = status.map(|s| parse_status(&s)).transpose()?;
            let page = store.search_incidents(
                &IncidentFilter {
                    kind,
                    status,
                    email,
                },
                PageRequest::new(page, size)?,
            )?;
            let states = page
                .data
                .iter()
                .map(|i| store.run_state(i.id))
                .collect::<Result<Vec<_>>>()?;
            if json {
                let mut listed = serde_json::to_value(&page)?;
                if let Some(items) = listed["data"].as_array_mut() {
                    for (item, state) in items.iter_mut().zip(&states) {
                        item["attempt"] = json!(state.attempt);
                        item["retries"] = json!(state.retries);
                        item["next_retry"] = json!(state.retry_at);
                    }
                }
                output::print_json(&listed)?;
            } else {
                println!(
                    "{}",
                    output::table(
                        &[
                            "id",
                            "type",
                            "name",
                            "status",
                            "owner",
                            "created",
                            "attempt",
                            "retries",
                            "next retry"
                        ],
                        page.data.iter().zip(&states).map(|(i, state)| {
                            vec![
                                i.id.to_string(),
                                i.kind.clone(),
                                i.name.clone(),
                                i.status.as_str().to_owned(),
                                i.owner.clone().unwrap_or_default(),
                                i.created_at.clone(),
                                state.attempt.to_string(),
                                state.retries.to_string(),
                                state.retry_at.clone().unwrap_or_default(),
                            ]
                        }),
                    )
                );
                println!("{} of {} (page {})", page.data.len(), page.total, page.page);
            }
            Ok(Outcome::Success)
        }
        IncidentCommand::Show { id, json } => {
            let incident = store
                .incident(id)?
                .ok_or_else(|| Refusal::NotFound(format!("no incident {id}")))?;
            let state = store.run_state(id)?;
            let journal = store.journal(id, state.attempt)?;
            let vendors: Vec<Value> = journal
                .iter()
                .filter(|e| e.call == "iam")
                .filter_map(|e| e.result.as_ref()?.as_array().cloned())
                .flatten()
                .collect();
            let question = store.open_question(id)?;
            if json {
                // `[question, answers]`, as scripts reading `show --json` know it.
                let question = question.map(|q| (q.question, q.answers));
                let value = json!({"incident": incident, "attempt": state.attempt, "context": state.context,
                    "error": state.error, "question": question, "journal": journal, "vendors": vendors});
                output::print_json(&value)?;
                return Ok(Outcome::Success);
            }
            println!(
                "incident {} · {} · {} · {}",
                incident.id,
                incident.kind,
                incident.name,
                incident.status.as_str()
            );
            if let Some(owner) = &incident.owner {
                println!("owner: {owner}");
            }
            if let Some(error) = &state.error {
                println!("error: {error}");
            }
            if let Some(q) = &question {
                println!(
                    "waiting for an answer to {:?}: {}",
                    q.question,
                    q.answers.join(" | ")
                );
            }
            println!(
                "fields: {}",
                output::json(&Value::Object(incident.fields.clone()))?
            );
            println!(
                "{}",
                output::table(
                    &["#", "call", "arguments", "result"],
                    journal.iter().map(|e| vec![
                        e.seq.to_string(),
                        e.call.clone(),
                        short(&e.args),
                        e.result
                            .as_ref()
                            .map(short)
                            .unwrap_or_else(|| "(in flight)".into())
                    ]),
                )
            );
            if !vendors.is_empty() {
                println!(
                    "{}",
                    output::table(
                        &["instance", "action", "success", "skipped / error"],
                        vendors.iter().map(|v| {
                            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                            let note = if v["skipped"] == true {
                                s("reason")
                            } else {
                                s("errorMessage")
                            };
                            vec![
                                s("instanceName"),
                                s("action"),
                                v["success"].to_string(),
                                note,
                            ]
                        }),
                    )
                );
            }
            Ok(Outcome::Success)
        }
        IncidentCommand::Run { id, restart, json } => {
            let services = ctx.services()?;
            if restart {
                match store.incident(id)? {
                    None => bail!(Refusal::NotFound(format!("no incident {id}"))),
                    Some(i) if i.status == IncidentStatus::Closed => {
                        bail!("incident {id} is closed")
                    }
                    Some(_) => store.new_attempt(id)?,
                };
            }
            let outcome = services.run_incident(id)?;
            if json {
                output::print_json(&outcome_json(&outcome))?;
            }
            match outcome {
                RunOutcome::Closed => {
                    if !json {
                        println!("incident {id} closed");
                    }
                    Ok(Outcome::Success)
                }
                RunOutcome::Waiting { question } => {
                    if !json {
                        println!("incident {id} waits for an answer: {question}\nanswer with `ilm incident answer {id} ANSWER`");
                    }
                    Ok(Outcome::Success)
                }
                RunOutcome::Failed { error } => bail!("incident {id} failed: {error}"),
            }
        }
        IncidentCommand::Answer { id, answer } => {
            let question = store.answer_question(id, &answer, &Actor::Cli)?.question;
            println!("answered {question:?} with {answer:?}; incident {id} resumes on its next run (`ilm incident run {id}`)");
            Ok(Outcome::Success)
        }
        IncidentCommand::Close { id, note } => {
            let mut patch = Map::new();
            patch.insert("closeNotes".into(), Value::from(note));
            store.update_incident_fields(id, &patch)?;
            store.set_incident_status(id, IncidentStatus::Closed)?;
            println!("closed incident {id}");
            Ok(Outcome::Success)
        }
    }
}

fn outcome_json(outcome: &RunOutcome) -> Value {
    match outcome {
        RunOutcome::Closed => json!({"status": "closed"}),
        RunOutcome::Waiting { question } => json!({"status": "waiting", "question": question}),
        RunOutcome::Failed { error } => json!({"status": "failed", "error": error}),
    }
}

fn parse_status(text: &str) -> Result<IncidentStatus> {
    serde_json::from_value(Value::from(text)).map_err(|_| {
        anyhow::anyhow!("unknown status {text:?}: pending, active, waiting, failed or closed")
    })
}

/// A JSON value cut to fit a table cell.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(79).collect::<String>())
    } else {
        text
    }
}
