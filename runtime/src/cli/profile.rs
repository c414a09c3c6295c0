//! `ilm profile list|show|set|delete|resync`: the stored user profiles.

use super::{output, Context, Outcome};
use crate::fetch::{incident_fields, Event, IncidentType};
use crate::store::{NewIncident, PageRequest, ProfileFilter, Refusal};
use anyhow::{bail, Context as _, Result};
use clap::{Subcommand, ValueEnum};
use serde_json::{json, Map, Value};

/// The `sourceinstance` of a resync's incident: no source read anything.
const RESYNC_SOURCE: &str = "ilm profile resync";

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// List profiles, by email.
    List {
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        employee_id: Option<String>,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long, default_value_t = 0)]
        page: u32,
        #[arg(long, default_value_t = 50)]
        size: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one profile's fields.
    Show { email: String },
    /// Set fields of a profile (merged into the existing ones; --replace to replace them all).
    Set {
        email: String,
        /// Fields as a JSON object.
        #[arg(long)]
        fields: String,
        #[arg(long)]
        replace: bool,
    },
    /// Delete a profile.
    Delete { email: String },
    /// Bring a person's accounts in line with their stored profile again (after fixing a
    /// setting, a mapper or an app): files the incident of the right flow, which `ilm run`
    /// (or `ilm incident run ID`) runs. Someone active gets Update User, a leaver
    /// (`active` false) Terminate User; --flow picks another.
    Resync {
        email: String,
        /// The flow to run instead of the one the profile calls for.
        #[arg(long, value_enum)]
        flow: Option<Flow>,
        #[arg(long)]
        json: bool,
    },
}

/// The flows a resync can file.
#[derive(Clone, Copy, ValueEnum)]
pub enum Flow {
    NewHire,
    Update,
    Terminate,
    Rehire,
}

impl From<Flow> for IncidentType {
    fn from(flow: Flow) -> Self {
        match flow {
            Flow::NewHire => IncidentType::NewHire,
            Flow::Update => IncidentType::UpdateUser,
            Flow::Terminate => IncidentType::TerminateUser,
            Flow::Rehire => IncidentType::RehireUser,
        }
    }
}

pub fn run(ctx: &Context, cmd: ProfileCommand) -> Result<Outcome> {
    let store = ctx.store()?;
    match cmd {
        ProfileCommand::List {
            email,
            employee_id,
            display_name,
            page,
            size,
            json,
        } => {
            let filter = ProfileFilter {
                email,
                employee_id,
                display_name,
                ..ProfileFilter::default()
            };
            let page = store.search_profiles(&filter, PageRequest::new(page, size)?)?;
            if json {
                output::print_json(&page)?;
                return Ok(Outcome::Success);
            }
            let field = |f: &serde_json::Map<String, Value>, k: &str| {
                f.get(k)
                    .map(|v| {
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string())
                    })
                    .unwrap_or_default()
            };
            println!(
                "{}",
                output::table(
                    &[
                        "email",
                        "employee id",
                        "display name",
                        "status",
                        "AD account",
                        "updated"
                    ],
                    page.data.iter().map(|p| {
                        vec![
                            p.email.clone(),
                            field(&p.fields, "employeeid"),
                            field(&p.fields, "displayname"),
                            field(&p.fields, "employmentstatus"),
                            field(&p.fields, "adaccountstatus"),
                            p.updated_at.clone(),
                        ]
                    }),
                )
            );
            println!("{} of {} (page {})", page.data.len(), page.total, page.page);
            Ok(Outcome::Success)
        }
        ProfileCommand::Show { email } => {
            let profile = store
                .profile(&email)?
                .ok_or_else(|| Refusal::NotFound(format!("no user profile {email}")))?;
            output::print_json(&profile)?;
            Ok(Outcome::Success)
        }
        ProfileCommand::Set {
            email,
            fields,
            replace,
        } => {
            let Value::Object(fields) =
                serde_json::from_str(&fields).context("--fields is not valid JSON")?
            else {
                bail!("--fields must be a JSON object");
            };
            let mut merged = if replace {
                Default::default()
            } else {
                store.profile(&email)?.map(|p| p.fields).unwrap_or_default()
            };
            merged.extend(fields);
            store.put_profile(&email, &merged)?;
            println!("saved profile {email}");
            Ok(Outcome::Success)
        }
        ProfileCommand::Resync { email, flow, json } => {
            let profile = store.profile(&email)?.ok_or_else(|| {
                Refusal::NotFound(format!(
                    "no user profile {email}; `ilm profile list --email {email}` finds similar ones"
                ))
            })?;
            let kind = flow.map_or_else(|| flow_for(&profile.fields), IncidentType::from);
            let event = Event::new(
                kind,
                format!("Resync of {} requested at the command line.", profile.email),
                Map::new(),
                profile.fields,
                Vec::new(),
            );
            let fields = incident_fields(&event, RESYNC_SOURCE);
            let id = store.insert_incident(&NewIncident {
                kind: kind.name(),
                name: &event.name,
                fields: &fields,
            })?;
            if json {
                println!(
                    "{}",
                    output::json(&json!({"id": id, "type": kind.name(), "email": event.name}))?
                );
            } else {
                println!(
                    "created incident {id} ({kind}) for {}; `ilm run` runs it, or `ilm incident run {id}` now",
                    event.name
                );
            }
            Ok(Outcome::Success)
        }
        ProfileCommand::Delete { email } => {
            if !store.delete_profile(&email)? {
                bail!(Refusal::NotFound(format!("no user profile {email}")));
            }
            println!("deleted profile {email}");
            Ok(Outcome::Success)
        }
    }
}

/// The flow that brings a person's accounts in line with the profile: a leaver's accounts
/// stay disabled, everyone else's are updated.
fn flow_for(fields: &Map<String, Value>) -> IncidentType {
    if fields.get("active") == Some(&Value::Bool(false)) {
        IncidentType::TerminateUser
    } else {
        IncidentType::UpdateUser
    }
}
