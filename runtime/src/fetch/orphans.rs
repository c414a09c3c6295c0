//! Orphan users: stored profiles of this source that no report row matched.
//!
//! Where the original pack is unclear, the choices:
//! - type `IAM - Terminate User` with `terminationtrigger = Orphan` (as the WDO version and
//!   the spec recommend): the Terminate playbook then asks an admin before terminating. The
//!   code read emitted `IAM - Sync User`, for which the Sync User playbook has no branch, so
//!   nothing would happen.
//! - details "An orphan user was detected … Please review and terminate if necessary.", not
//!   WDO's "The orphan user has been terminated.": with the Orphan trigger nobody is
//!   terminated until the admin says so.
//! - skip profiles being processed (`isprocessed` true, so the Terminate playbook's "do not
//!   terminate" answer sticks), but a profile without `isprocessed` is an orphan too: the
//!   original required it to be exactly `false`, which silently kept such profiles forever.

use super::{
    field, values, Event, IncidentType, Profile, ProfileIndex, StoredProfile, WorkdayParams,
};
use anyhow::Result;
use serde_json::{Map, Value};

const ORPHAN_DETAILS: &str = "An orphan user was detected (could not find the user in Workday \
report). Please review and terminate if necessary.";

/// The stored profiles the report's rows matched (the original's `user_emails`), by their
/// place in the index. Record every row's match, malformed and dropped rows included: a
/// row the fetch cannot use still proves its employee is in the report.
#[derive(Debug, Default)]
pub struct ReportMatches {
    matched: Vec<bool>,
}

impl ReportMatches {
    pub fn record(&mut self, stored: &StoredProfile) {
        let i = stored.position as usize;
        if self.matched.len() <= i {
            self.matched.resize(i + 1, false);
        }
        self.matched[i] = true;
    }

    fn contains(&self, stored: &StoredProfile) -> bool {
        self.matched
            .get(stored.position as usize)
            .copied()
            .unwrap_or(false)
    }
}

/// The orphan events, after every row was classified: each with the whole stored profile,
/// read from the index as the event is taken (a report that lost most of its rows orphans
/// most profiles, which a dry run then prints one by one). Emails are unique among stored
/// profiles (the email is the profile's key), so the index's lookup by email finds every
/// matched one.
pub fn orphan_events<'i>(
    index: &'i ProfileIndex,
    matches: &'i ReportMatches,
    params: &'i WorkdayParams,
) -> impl Iterator<Item = Result<Event>> + 'i {
    index
        .profiles()
        .iter()
        .filter(|stored| !matches.contains(stored) && removable(stored, params))
        .map(|stored| Ok(orphan_event(index.document(stored)?)))
}

/// The people this source knows: the stored profiles of its priority that are not
/// terminated, any of whom a report could orphan (the orphan guard's denominator).
pub fn known_people(index: &ProfileIndex, params: &WorkdayParams) -> usize {
    index
        .profiles()
        .iter()
        .filter(|stored| known(stored, params))
        .count()
}

/// A person this source knows: a profile with an email, of its priority, not terminated.
fn known(stored: &StoredProfile, params: &WorkdayParams) -> bool {
    !stored.email().is_empty()
        && !stored.is_terminated()
        && stored.source_priority() == params.source_priority
}

/// A profile a report's silence can orphan: known, and not being processed.
fn removable(stored: &StoredProfile, params: &WorkdayParams) -> bool {
    known(stored, params) && !stored.is_processed()
}

fn orphan_event(mut user_profile: Profile) -> Event {
    let email = values::field(&user_profile, field::EMAIL).into_owned();
    let mut raw = Map::new();
    raw.insert("Email_Address".into(), Value::String(email));
    raw.insert(
        "Emp_ID".into(),
        user_profile
            .get(field::EMPLOYEE_ID)
            .cloned()
            .unwrap_or(Value::Null),
    );
    user_profile.insert(field::EMPLOYMENT_STATUS.into(), "Terminated".into());
    user_profile.insert(field::TERMINATION_TRIGGER.into(), "Orphan".into());
    Event::new(
        IncidentType::TerminateUser,
        ORPHAN_DETAILS.into(),
        raw,
        user_profile,
        vec![
            field::EMPLOYMENT_STATUS.into(),
            field::TERMINATION_TRIGGER.into(),
        ],
    )
}
