//! `ilm init`: a data directory ready to use wherever the binary runs: the database and its
//! secret key, and the data directory's own copy of the shipped playbooks, mappers and
//! transformers, which the administrator then edits.

use super::{output, Context, Outcome};
use anyhow::Result;
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct InitArgs {
    /// Print what was done as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, args: InitArgs) -> Result<Outcome> {
    ctx.store()?.secret_key_ready()?;
    let copied = crate::shipped::copy_into(&ctx.playbooks_dir)?;
    if args.json {
        println!(
            "{}",
            output::json(&json!({
                "data_dir": ctx.data_dir, "database": ctx.database().label(),
                "playbooks_dir": ctx.playbooks_dir, "playbooks": copied,
            }))?
        );
        return Ok(Outcome::Success);
    }
    println!("data directory: {}", ctx.data_dir.display());
    println!(
        "playbooks: {} ({} written, {} as shipped, {} edited and kept)",
        ctx.playbooks_dir.display(),
        copied.written.len(),
        copied.unchanged.len(),
        copied.kept.len()
    );
    for path in &copied.kept {
        println!("  kept {path}: it differs from the shipped one");
    }
    println!("next: `ilm plugin install PATH.wasm`, then `ilm instance add`");
    Ok(Outcome::Success)
}
