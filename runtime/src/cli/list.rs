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
    /// Set a list's body from --body or --file. JSON bodies must parse, and lists playbooks
    /// read (app-provisioning-settings) must have their shape and name existing instances.
    Set {
        name: String,
        #[arg(long, conflicts_with = "file")]
        body: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// The names of all lists.
    Names {
        #[arg(long)]
        json: bool,
    },
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
            let instances: Vec<String> = store.instances()?.into_iter().map(|i| i.name).collect();
            crate::lists::check(&name, &body, &instances)?;
            store.set_list(&name, &body)?;
            println!("saved list {name}");
        }
        ListCommand::Names { json: true } => super::output::print_json(&store.list_names()?)?,
        ListCommand::Names { json: false } => println!("{}", store.list_names()?.join("\n")),
    }
    Ok(Outcome::Success)
}
