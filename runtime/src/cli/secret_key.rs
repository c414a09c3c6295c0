//! `ilm secret-key rotate`: replaces the key that seals the stored secrets.

use super::{output, Context, Outcome};
use anyhow::Result;
use clap::{Args, Subcommand};

#[derive(Subcommand)]
pub enum SecretKeyCommand {
    /// Generate a new secret key and re-seal every stored secret and sealed journal result
    /// with it, in one transaction. The key file is replaced; a key given in ILM_SECRET_KEY
    /// is printed once, to be stored there. Stop `ilm serve`, `ilm run` and workers first.
    Rotate(RotateArgs),
}

#[derive(Args)]
pub struct RotateArgs {
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, cmd: SecretKeyCommand) -> Result<Outcome> {
    let SecretKeyCommand::Rotate(args) = cmd;
    let rotation = ctx.store()?.rotate_secret_key()?;
    if args.json {
        output::print_json(&rotation)?;
        return Ok(Outcome::Success);
    }
    println!(
        "rotated the secret key {} -> {}: re-sealed {} instance secrets and {} journal results",
        rotation.old_key_id, rotation.new_key_id, rotation.secrets, rotation.journal_results
    );
    if let Some(file) = &rotation.key_file {
        println!(
            "{} holds the new key; back it up (the old key no longer opens anything)",
            file.display()
        );
    }
    if let Some(key) = &rotation.new_key {
        println!("new key (shown once): {key}");
        println!("set ILM_SECRET_KEY to it now: the database no longer opens with the old key.");
    }
    if let Some(copy) = &rotation.new_key_copy {
        println!(
            "until ilm opens the database with the new key, a copy stays in {}",
            copy.display()
        );
    }
    Ok(Outcome::Success)
}
