//! `ilm audit`: changes to users, roles and API keys, newest first.

use super::{output, Context, Outcome};
use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct AuditArgs {
    /// How many entries to show.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: AuditArgs) -> Result<Outcome> {
    let entries = ctx.store()?.audit_log(args.limit)?;
    if args.json {
        println!("{}", output::json(&entries)?);
    } else {
        println!(
            "{}",
            output::table(
                &["at", "actor", "key", "action", "target", "before", "after"],
                entries.into_iter().map(|e| vec![
                    e.at,
                    e.actor,
                    e.api_key.map(|k| k.to_string()).unwrap_or_default(),
                    e.action,
                    e.target,
                    e.before.to_string(),
                    e.after.to_string(),
                ]),
            )
        );
    }
    Ok(Outcome::Success)
}
