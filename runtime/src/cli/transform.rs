//! `ilm transform NAME --input JSON`: try a transformer script.

use super::{output, Context, Outcome};
use anyhow::{Context as _, Result};
use clap::Args;

#[derive(Args)]
pub struct TransformArgs {
    /// The transformer (a script in `<playbooks-dir>/transformers/`); omit with --list.
    #[arg(required_unless_present = "list")]
    name: Option<String>,
    /// The input, as JSON (e.g. a user profile object).
    #[arg(long, default_value = "{}")]
    input: String,
    /// List the transformers instead.
    #[arg(long)]
    list: bool,
}

pub fn run(ctx: &Context, args: TransformArgs) -> Result<Outcome> {
    let transformers = ctx.transformers();
    let Some(name) = args.name.filter(|_| !args.list) else {
        println!("{}", transformers.names()?.join("\n"));
        return Ok(Outcome::Success);
    };
    let input: serde_json::Value =
        serde_json::from_str(&args.input).context("--input is not valid JSON")?;
    let out = transformers.run(&name, &input)?;
    output::print_json(&out)?;
    Ok(Outcome::Success)
}
