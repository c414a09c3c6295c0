//! `ilm audit`: who changed what (users, roles, API keys, profiles, incidents, instances,
//! lists, plugins) and failed API sign-ins, newest first.

use super::{output, Context, Outcome};
use crate::store::AuditFilter;
use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct AuditArgs {
    /// How many entries to show.
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Only entries by this actor (a user id, `cli`, `anonymous`, `playbook NAME`).
    #[arg(long)]
    actor: Option<String>,
    /// Only entries about this target (an email, `incident 42`, an instance or list name).
    #[arg(long)]
    target: Option<String>,
    /// Only this action (`profile.update`) or group of actions (`profile`, `instance`).
    #[arg(long)]
    action: Option<String>,
    /// Only entries at or after this UTC date or time (`2026-12-01`, `2026-12-01T10:00:00Z`).
    #[arg(long)]
    since: Option<String>,
    /// The entries as JSON, with their whole before and after.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: AuditArgs) -> Result<Outcome> {
    let entries = ctx.store()?.search_audit_log(&AuditFilter {
        limit: args.limit,
        actor: args.actor,
        target: args.target,
        action: args.action,
        since: args.since,
        before: None,
    })?;
    if args.json {
        output::print_json(&entries)?;
    } else {
        println!(
            "{}",
            output::table(
                &["at", "actor", "key", "action", "target", "change"],
                entries.into_iter().map(|e| {
                    let change = e.summary();
                    vec![
                        e.at,
                        e.actor,
                        e.api_key.map(|k| k.to_string()).unwrap_or_default(),
                        e.action,
                        e.target,
                        change,
                    ]
                }),
            )
        );
    }
    Ok(Outcome::Success)
}
