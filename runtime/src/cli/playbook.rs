//! `ilm playbook list|run` and `ilm worker`.

use super::{output, Context, Outcome};
use crate::store::NewIncident;
use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Subcommand)]
pub enum PlaybookCommand {
    /// List the playbooks and the incident types that run them.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Run a playbook on a new ad-hoc incident with the given fields.
    Run {
        name: String,
        /// Incident fields as a JSON object.
        #[arg(long, default_value = "{}")]
        fields: String,
    },
}

#[derive(Args)]
pub struct WorkerArgs {
    /// Incidents run at the same time.
    #[arg(long, default_value_t = 2)]
    concurrency: usize,
    /// Stop once no pending incident is left (instead of waiting for more).
    #[arg(long)]
    until_idle: bool,
    #[command(flatten)]
    retries: RetryArgs,
}

/// How a worker retries runs that failed because of the network or an app (a refused or
/// timed-out connection, HTTP 429, a 5xx); a script or data error is never retried.
#[derive(Args, Clone, Copy)]
pub struct RetryArgs {
    /// Runs of an incident at most, the first included (1: never retry).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,
    /// The wait before the first retry, in milliseconds; it doubles for each one after.
    #[arg(long, default_value_t = 30_000, hide = true)]
    retry_backoff_ms: u64,
}

impl RetryArgs {
    pub fn retries(self) -> crate::retries::Retries {
        crate::retries::Retries {
            max_attempts: self.max_attempts,
            backoff: std::time::Duration::from_millis(self.retry_backoff_ms),
        }
    }
}

pub fn run(ctx: &Context, cmd: PlaybookCommand) -> Result<Outcome> {
    match cmd {
        PlaybookCommand::List { json } => {
            let config = ctx.playbook_config()?;
            let services = ctx.services()?;
            let playbooks: Vec<(String, Vec<&str>)> = services
                .playbooks
                .names()?
                .into_iter()
                .map(|name| {
                    let types = config
                        .types
                        .iter()
                        .filter(|(_, p)| **p == name)
                        .map(|(t, _)| t.as_str())
                        .collect();
                    (name, types)
                })
                .collect();
            if json {
                let listed: Vec<Value> = playbooks
                    .iter()
                    .map(|(name, types)| json!({"playbook": name, "incident_types": types}))
                    .collect();
                output::print_json(&listed)?;
            } else {
                let rows = playbooks
                    .into_iter()
                    .map(|(name, types)| vec![name, types.join(", ")]);
                println!("{}", output::table(&["playbook", "incident types"], rows));
            }
            Ok(Outcome::Success)
        }
        PlaybookCommand::Run { name, fields } => {
            let Value::Object(mut fields) =
                serde_json::from_str(&fields).context("--fields is not valid JSON")?
            else {
                bail!("--fields must be a JSON object");
            };
            let services = ctx.services()?;
            services.playbooks.get(&name)?;
            fields.insert("playbook".into(), Value::from(name.clone()));
            let store = services.open_store()?;
            let incident = store.create_incident(&NewIncident {
                kind: crate::playbooks::AD_HOC_TYPE,
                name: &name,
                fields: &fields,
            })?;
            println!(
                "incident {}: {:?}",
                incident.id,
                services.run_incident(incident.id)?
            );
            Ok(Outcome::Success)
        }
    }
}

/// `ilm worker`: runs pending incidents until stopped (SIGTERM/SIGINT finish the
/// incidents in flight first).
pub fn worker(ctx: &Context, args: WorkerArgs) -> Result<Outcome> {
    let services = ctx.services()?;
    let stop = crate::worker::stop_on_signals()?;
    let summary = crate::worker::run(
        &services,
        args.concurrency,
        args.until_idle,
        args.retries.retries(),
        &stop,
    )?;
    println!("{summary}");
    Ok(Outcome::Success)
}
