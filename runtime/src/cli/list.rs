//! `ilm list get|set|names`: lists playbooks read (e.g. `app-provisioning-settings`).

use super::{Context, Outcome};
use crate::store::Refusal;
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum ListCommand {
    /// Print a list's body.
    Get { name: String },
    /// Set a list's body from --body or --file (JSON bodies are checked).
    Set {
        name: String,
        #[arg(long, conflicts_with = "file")]
        body: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The names of all lists.
    Names,
}

pub fn run(ctx: &Context, cmd: ListCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        ListCommand::Get { name } => {
            let body = store
                .list(&name)?
                .ok_or_else(|| Refusal::NotFound(format!("no list named {name:?}")))?;
            println!("{body}");
        }
        ListCommand::Set { name, body, file } => {
            let body = match (body, file) {
                (Some(body), _) => body,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?,
                (None, None) => bail!("give the body with --body TEXT or --file PATH"),
            };
            // A body that looks like JSON must be JSON: playbooks parse it.
            let trimmed = body.trim_start();
            if trimmed.starts_with('[') || trimmed.starts_with('{') {
                serde_json::from_str::<serde_json::Value>(&body)
                    .with_context(|| format!("list {name:?} looks like JSON but does not parse"))?;
            }
            store.set_list(&name, &body)?;
            println!("saved list {name}");
        }
        ListCommand::Names => println!("{}", store.list_names()?.join("\n")),
    }
    Ok(Outcome::Success)
}
