//! The classifier: a pure function of the normalized row, its stored
//! profile, the instance parameters and today's date (the stored documents an event
//! embeds are read from the index). Drop rules first, then the event table in order
//! (first match wins), then the TUFE and display-name rules.

use super::normalize::NormalizedRow;
use super::{
    field, Event, IncidentType, Profile, ProfileIndex, StoredProfile, WorkdayParams,
    SOURCE_OF_TRUTH,
};
use chrono::NaiveDate;
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// What to do with one report row.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Event(Event),
    Drop(DropReason),
}

/// Why a row creates no incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// D3: the row lacks some of email, employee id, hire date.
    MissingRequired { fields: Vec<&'static str> },
    /// D1: the hire is further away than `days_before_hire_to_sync`.
    HireBeyondSync { days: i64, limit: i64 },
    /// D2: an earlier row of the same first-run report has this email.
    EmailTaken,
    /// D4: the stored profile belongs to a higher-priority (lower-numbered) source.
    HigherPrioritySource { stored: i64, instance: i64 },
    /// D5: an incident is processing the profile.
    BeingProcessed,
    /// No stored profile, and the row is terminated (or past its deactivation date).
    TerminatedUnknownUser,
    /// A stored profile, and nothing to act on ("Could not detect changes").
    NoChange,
    /// The profile was terminated by TUFE; only a rehire is acted on.
    Tufe,
}

impl DropReason {
    /// A short, stable key for counting drops in a fetch summary.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingRequired { .. } => "missing-required-data",
            Self::HireBeyondSync { .. } => "hire-beyond-sync-days",
            Self::EmailTaken => "email-taken",
            Self::HigherPrioritySource { .. } => "higher-priority-source",
            Self::BeingProcessed => "being-processed",
            Self::TerminatedUnknownUser => "terminated-unknown-user",
            Self::NoChange => "no-change",
            Self::Tufe => "tufe",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingRequired { fields } => {
                write!(f, "the row has no {}", fields.join(", "))
            }
            Self::HireBeyondSync { days, limit } => write!(
                f,
                "the hire date is {days} days away, more than days_before_hire_to_sync ({limit})"
            ),
            Self::EmailTaken => f.write_str("an earlier row of the report has the same email"),
            Self::HigherPrioritySource { stored, instance } => write!(
                f,
                "the profile belongs to a higher-priority source (priority {stored}, this instance {instance})"
            ),
            Self::BeingProcessed => f.write_str("an incident is processing the profile"),
            Self::TerminatedUnknownUser => {
                f.write_str("terminated in Workday and there is no stored profile")
            }
            Self::NoChange => f.write_str("nothing changed"),
            Self::Tufe => {
                f.write_str("the profile was terminated by TUFE; only a rehire is acted on")
            }
        }
    }
}

/// Classifies one row.
///
/// `stored` is the row's stored profile, found by employee id then email
/// ([`ProfileIndex::find`]); the index also answers who already holds the row's display
/// name ([`ProfileIndex::display_name_conflict`], asked only for New Hire, Rehire and
/// Update events) and gives the whole stored documents the events embed. An error is a
/// document that could not be read.
pub fn classify(
    row: &NormalizedRow,
    stored: Option<&StoredProfile>,
    index: &ProfileIndex,
    params: &WorkdayParams,
    today: NaiveDate,
) -> anyhow::Result<Decision> {
    let changes = match stored {
        Some(user) => Some(changed_fields(row, user, index, params)?),
        None => None,
    };
    match decide(row, stored, changes, index, params, today) {
        Ok(decided) => Ok(Decision::Event(decided.event(row, stored, index)?)),
        Err(reason) => Ok(Decision::Drop(reason)),
    }
}

/// An event decided on, before it embeds the stored documents.
struct Decided<'r, 'i> {
    incident_type: IncidentType,
    details: String,
    changes: Vec<Change<'r>>,
    /// An update of the stored profile (before a display-name conflict made it a Sync User).
    update: bool,
    /// An update from a source of another priority: a conversion hire.
    conversion: bool,
    /// The stored profile that already holds the row's display name.
    name_holder: Option<&'i StoredProfile>,
}

fn decide<'r, 'i>(
    row: &'r NormalizedRow,
    stored: Option<&StoredProfile>,
    changes: Option<Vec<Change<'r>>>,
    index: &'i ProfileIndex,
    params: &WorkdayParams,
    today: NaiveDate,
) -> Result<Decided<'r, 'i>, DropReason> {
    // D3 before D1, which needs the hire date. D2 cannot fire here: the stored profile is
    // already looked up by email when the employee id finds none; first-run
    // selection applies it.
    let hire = required(row)?;
    check_sync(hire, params, today)?;
    if let Some(user) = stored {
        let priority = user.source_priority();
        if priority < params.source_priority {
            return Err(DropReason::HigherPrioritySource {
                stored: priority,
                instance: params.source_priority,
            });
        }
        if user.is_processed() {
            return Err(DropReason::BeingProcessed);
        }
    }

    let (mut incident_type, mut details) =
        event_type(row, stored, changes.as_deref(), hire, params, today)?;
    if incident_type != IncidentType::RehireUser
        && stored.is_some_and(StoredProfile::is_terminated_by_tufe)
    {
        return Err(DropReason::Tufe);
    }

    let changes = changes.unwrap_or_default();
    let update = incident_type == IncidentType::UpdateUser;
    let conversion =
        update && stored.is_some_and(|user| user.source_priority() != params.source_priority);
    if conversion {
        details = format!(
            "A conversion hire was detected:\n{}",
            changes_text(&changes)
        );
    }
    let mut name_holder = None;
    if matches!(
        incident_type,
        IncidentType::NewHire | IncidentType::RehireUser | IncidentType::UpdateUser
    ) {
        name_holder = index.display_name_conflict(row, stored);
        if name_holder.is_some() {
            details = format!(
                "Detected an \"{incident_type}\" event, but display name already exists. Please review."
            );
            if !changes.is_empty() {
                details.push('\n');
                details.push_str(&changes_text(&changes));
            }
            incident_type = IncidentType::SyncUser;
        }
    }
    Ok(Decided {
        incident_type,
        details,
        changes,
        update,
        conversion,
        name_holder,
    })
}

impl Decided<'_, '_> {
    /// The event, with the stored documents it embeds: an update carries the profile as it
    /// was (`olduserdata`), a display-name conflict the holder's profile with the row's
    /// data on top (`mergeduserprofile`).
    fn event(
        self,
        row: &NormalizedRow,
        stored: Option<&StoredProfile>,
        index: &ProfileIndex,
    ) -> anyhow::Result<Event> {
        let mut profile = row.profile();
        if let (true, Some(user)) = (self.update, stored) {
            let old = index.document(user)?;
            profile.insert(field::OLD_USER_DATA.into(), Value::Object(old));
            if self.conversion {
                profile.insert(field::CONVERSION_HIRE.into(), Value::Bool(true));
            }
        }
        if let Some(holder) = self.name_holder {
            // the original never builds `mergeduserprofile`, yet the Sync User
            // playbook needs it to offer "Overwrite Existing Account"; we build it.
            let merged = merged_profile(index.document(holder)?, row);
            profile.insert(field::MERGED_USER_PROFILE.into(), Value::Object(merged));
        }
        let changed = self
            .changes
            .iter()
            .map(|(name, _)| (*name).to_owned())
            .collect();
        Ok(Event::new(
            self.incident_type,
            self.details,
            row.raw(),
            profile,
            changed,
        ))
    }
}

/// Drop rule D3: the hire date, or which of email, employee id, hire date are missing.
pub(crate) fn required(row: &NormalizedRow) -> Result<NaiveDate, DropReason> {
    let mut missing = Vec::new();
    if row.email().is_empty() {
        missing.push(field::EMAIL);
    }
    if row.employee_id().is_empty() {
        missing.push(field::EMPLOYEE_ID);
    }
    match row.hire_date() {
        Some(hire) if missing.is_empty() => Ok(hire),
        hire => {
            if hire.is_none() {
                missing.push(field::HIRE_DATE);
            }
            Err(DropReason::MissingRequired { fields: missing })
        }
    }
}

/// Drop rule D1.
pub(crate) fn check_sync(
    hire: NaiveDate,
    params: &WorkdayParams,
    today: NaiveDate,
) -> Result<(), DropReason> {
    match params.days_before_hire_to_sync {
        Some(limit) if !params.sync_reached(hire, today) => Err(DropReason::HireBeyondSync {
            days: (hire - today).num_days(),
            limit,
        }),
        _ => Ok(()),
    }
}

/// The termination condition: terminated and not a pre-hire, or the deactivation date has
/// come. The date is compared as midnight against the current time, so today counts as past.
pub(crate) fn terminated(row: &NormalizedRow, params: &WorkdayParams, today: NaiveDate) -> bool {
    let status_terminated = row
        .text(field::EMPLOYMENT_STATUS)
        .eq_ignore_ascii_case("terminated");
    (status_terminated && !prehire(row)) || deactivation_passed(row, params, today)
}

fn deactivation_passed(row: &NormalizedRow, params: &WorkdayParams, today: NaiveDate) -> bool {
    row.deactivation_date(params.deactivation_date_field)
        .is_some_and(|date| date <= today)
}

fn prehire(row: &NormalizedRow) -> bool {
    row.text(field::PREHIRE_FLAG).eq_ignore_ascii_case("true")
}

/// The event table, in order, with each event's details text. `changes` is `None`
/// when there is no stored profile.
fn event_type(
    row: &NormalizedRow,
    stored: Option<&StoredProfile>,
    changes: Option<&[Change]>,
    hire: NaiveDate,
    params: &WorkdayParams,
    today: NaiveDate,
) -> Result<(IncidentType, String), DropReason> {
    let status = row.text(field::EMPLOYMENT_STATUS);
    let status_terminated = status.eq_ignore_ascii_case("terminated");
    let (Some(user), Some(changes)) = (stored, changes) else {
        let hired = (prehire(row) && status.is_empty())
            || (!status_terminated && !deactivation_passed(row, params, today));
        return if hired {
            Ok((IncidentType::NewHire, "The user has been hired.".into()))
        } else {
            Err(DropReason::TerminatedUnknownUser)
        };
    };
    let ad_status = user.ad_status();
    let rehired = row
        .text(field::REHIRED_EMPLOYEE)
        .eq_ignore_ascii_case("yes");
    if ad_status == "Pending" && params.ad_reached(hire, today) {
        Ok((
            IncidentType::AdUserActivation,
            "Active Directory user account was enabled.".into(),
        ))
    } else if ad_status == "Enabled"
        && user.source_priority() == params.source_priority
        && !user.is_conversion_hire()
        && !params.ad_reached(hire, today)
    {
        Ok((
            IncidentType::AdUserDeactivation,
            "Active Directory user account was disabled due to hire date postponement.".into(),
        ))
    } else if ad_status == "Disabled" && prehire(row) && rehired && !changes.is_empty() {
        // the original accepts a rehire with nothing changed; we require a change,
        // so a profile left Disabled after a rehire does not get a new Rehire every fetch.
        Ok((
            IncidentType::RehireUser,
            "The user has been rehired.".into(),
        ))
    } else if ad_status != "Disabled" && terminated(row, params, today) {
        Ok((
            IncidentType::TerminateUser,
            "The user has been terminated.".into(),
        ))
    } else if !changes.is_empty() && !status_terminated {
        Ok((
            IncidentType::UpdateUser,
            format!("The user has been updated:\n{}", changes_text(changes)),
        ))
    } else {
        Err(DropReason::NoChange)
    }
}

/// A changed field: its name and Workday's value.
type Change<'r> = (&'r str, Cow<'r, str>);

/// The row's fields whose value differs from the stored profile, in row order
/// ([`ProfileIndex::changes`]), and the bookkeeping fields the update would set. An error
/// is a stored document that could not be read.
fn changed_fields<'r>(
    row: &'r NormalizedRow,
    user: &StoredProfile,
    index: &ProfileIndex,
    params: &WorkdayParams,
) -> anyhow::Result<Vec<Change<'r>>> {
    let mut changes: Vec<Change<'r>> = index
        .changes(user, row)?
        .into_iter()
        .map(|(name, value)| (name, Cow::Borrowed(value)))
        .collect();
    // Bookkeeping fields: a profile written before they existed reads as priority 1 (as
    // D4 does) and as this source, so their absence alone is no update.
    if user.source_priority() != params.source_priority {
        let priority = params.source_priority.to_string();
        changes.push((field::SOURCE_PRIORITY, Cow::Owned(priority)));
    }
    if user.has_foreign_source() {
        changes.push((field::SOURCE_OF_TRUTH, Cow::Borrowed(SOURCE_OF_TRUTH)));
    }
    Ok(changes)
}

/// One line per changed field: `title field was updated to "Sr Engineer".`
fn changes_text(changes: &[Change]) -> String {
    changes
        .iter()
        .map(|(name, value)| format!("{name} field was updated to \"{value}\"."))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The existing profile with the row's data on top, keeping the existing account's email
/// and username: what "Overwrite Existing Account" provisions.
fn merged_profile(mut merged: Profile, row: &NormalizedRow) -> Profile {
    for (name, value) in row.profile() {
        if name != field::EMAIL && name != field::USERNAME {
            merged.insert(name, value);
        }
    }
    merged
}
