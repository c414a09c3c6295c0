//! `ilm apikey create|list|revoke`. Like XSOAR's "View Examples", `create` prints a ready
//! `curl` line and the API URL to give ConductorOne.

use super::{output, Context, Outcome};
use crate::api;
use crate::store::{Actor, NewApiKey};
use anyhow::{bail, Context as _, Result};
use clap::Subcommand;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Subcommand)]
pub enum ApiKeyCommand {
    /// Issue a key for a user, acting with a role's permissions. The key is shown once.
    Create {
        /// The user the key acts for (`GET /user` answers this user).
        #[arg(long)]
        user: String,
        /// The role whose permissions the key has.
        #[arg(long)]
        role: String,
        /// Lifetime, e.g. 12h, 90d, 2w; never expires without it.
        #[arg(long, value_parser = lifetime_seconds)]
        expires: Option<i64>,
        #[arg(long, default_value = "")]
        comment: String,
        /// The API URL clients use, for the example printed (where `ilm serve` is reached).
        #[arg(
            long,
            env = "ILM_API_URL",
            default_value = "https://localhost:8443/xsoar"
        )]
        api_url: String,
        /// Print the key, its record and the example as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List keys (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key for good.
    Revoke {
        /// The key id, as `apikey list` shows it.
        id: i64,
    },
}

pub fn run(ctx: &Context, cmd: ApiKeyCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        ApiKeyCommand::Create {
            user,
            role,
            expires,
            comment,
            api_url,
            json,
        } => {
            let expires_at = expires.map(|lifetime| now() + lifetime);
            let created = store.create_api_key(
                &NewApiKey {
                    user: &user,
                    role: &role,
                    expires_at,
                    comment: &comment,
                },
                &Actor::Cli,
            )?;
            let curl = curl_example(ctx, &api_url, &created.key);
            if json {
                let value = json!({"key": created.key, "record": created.record, "curl": curl});
                output::print_json(&value)?;
            } else {
                let record = &created.record;
                println!(
                    "API key {} for user {} with role {}, {}:",
                    record.id,
                    record.user,
                    record.role,
                    match &record.expires_at {
                        Some(at) => format!("expires {at}"),
                        None => "never expires".to_owned(),
                    }
                );
                println!("\n    {}\n", created.key);
                println!("Copy it now: it is not shown again (only its hash is kept).");
                println!("Try it:\n\n    {curl}\n");
                println!(
                    "ConductorOne XSOAR connector: API URL {}, token = the key.",
                    api_url.trim_end_matches('/')
                );
            }
        }
        ApiKeyCommand::List { json } => {
            let keys = store.api_keys()?;
            if json {
                output::print_json(&keys)?;
            } else {
                println!(
                    "{}",
                    output::table(
                        &["id", "user", "role", "state", "created", "expires", "comment"],
                        keys.into_iter().map(|k| vec![
                            k.id.to_string(),
                            k.user,
                            k.role,
                            k.state,
                            k.created_at,
                            k.expires_at.unwrap_or_else(|| "never".to_owned()),
                            k.comment,
                        ]),
                    )
                );
            }
        }
        ApiKeyCommand::Revoke { id } => {
            store.revoke_api_key(id, &Actor::Cli)?;
            println!("revoked API key {id}");
        }
    }
    Ok(Outcome::Success)
}

/// `curl` reading the caller's own user; trusts the self-signed certificate when there is one.
fn curl_example(ctx: &Context, api_url: &str, key: &str) -> String {
    let (cert, _) = api::self_signed_paths(&ctx.data_dir);
    let trust = if api_url.starts_with("https:") && cert.exists() {
        format!("--cacert '{}' ", cert.display())
    } else {
        String::new()
    };
    format!(
        "curl {trust}-H 'Authorization: {key}' -H 'Accept: application/json' '{}/user'",
        api_url.trim_end_matches('/')
    )
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// `12h`, `90d`, `2w` → seconds.
fn lifetime_seconds(text: &str) -> Result<i64> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let per_unit = match unit {
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => bail!("expected a number and a unit h, d or w (e.g. 90d), got {text:?}"),
    };
    let count: i64 = number
        .parse()
        .with_context(|| format!("expected a number before the unit in {text:?}"))?;
    const MAX: i64 = 100 * 365 * 86_400;
    match count.checked_mul(per_unit) {
        Some(seconds) if count >= 1 && seconds <= MAX => Ok(seconds),
        _ => bail!("a lifetime must be at least 1{unit} and at most 100 years"),
    }
}

#[cfg(test)]
mod tests {
    use super::lifetime_seconds;

    #[test]
    fn lifetimes() {
        assert_eq!(lifetime_seconds("12h").unwrap(), 12 * 3600);
        assert_eq!(lifetime_seconds("90d").unwrap(), 90 * 86_400);
        assert_eq!(lifetime_seconds("2w").unwrap(), 14 * 86_400);
        for bad in ["", "d", "0d", "-1d", "90", "90y", "1.5d", "999999999w"] {
            assert!(lifetime_seconds(bad).is_err(), "{bad}");
        }
    }
}
