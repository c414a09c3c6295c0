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

use super::{field, values, Event, IncidentType, Profile, WorkdayParams};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashSet;
use std::ptr;

const ORPHAN_DETAILS: &str = "An orphan user was detected (could not find the user in Workday \
report). Please review and terminate if necessary.";

/// The stored profiles the report's rows matched (the original's `user_emails`). Record
/// every row's match, malformed and dropped rows included: a row the fetch cannot use
/// still proves its employee is in the report.
#[derive(Debug, Default)]
pub struct ReportMatches<'a> {
    recorded: Vec<&'a Profile>,
}

impl<'a> ReportMatches<'a> {
    pub fn record(&mut self, stored: &'a Profile) {
        self.recorded.push(stored);
    }
}

/// The orphan events, after every row was classified.
///
/// A recorded profile matches itself by identity, so the usual case (the references
/// [`super::ProfileIndex::find`] hands out) reads nothing from 100,000 profiles that are
/// cold in memory; a recorded copy matches by email, case-insensitively, as the original
/// does. Emails are unique among stored profiles (the email is the profile's key).
pub fn orphan_events<'a>(
    stored: impl IntoIterator<Item = &'a Profile>,
    matches: &ReportMatches,
    params: &WorkdayParams,
) -> Vec<Event> {
    let stored: Vec<&Profile> = stored.into_iter().collect();
    let own: HashSet<*const Profile> = stored.iter().map(|p| ptr::from_ref(*p)).collect();
    let recorded: HashSet<*const Profile> =
        matches.recorded.iter().map(|p| ptr::from_ref(*p)).collect();
    let copies: HashSet<Cow<str>> = matches
        .recorded
        .iter()
        .filter(|p| !own.contains(&ptr::from_ref(**p)))
        .map(|p| email_key(p))
        .collect();
    stored
        .into_iter()
        .filter(|profile| {
            !recorded.contains(&ptr::from_ref(*profile)) && {
                let email = email_key(profile);
                !email.is_empty()
                    && !copies.contains(&email)
                    && !values::field_is(profile, field::EMPLOYMENT_STATUS, "terminated")
                    && values::source_priority(profile) == params.source_priority
                    && !values::is_true(profile, field::IS_PROCESSED)
            }
        })
        .map(orphan_event)
        .collect()
}

/// The people this source knows: the stored profiles of its priority that are not
/// terminated, any of whom a report could orphan (the orphan guard's denominator).
pub fn known_people<'a>(
    stored: impl IntoIterator<Item = &'a Profile>,
    params: &WorkdayParams,
) -> usize {
    stored
        .into_iter()
        .filter(|profile| {
            !values::field(profile, field::EMAIL).is_empty()
                && !values::field_is(profile, field::EMPLOYMENT_STATUS, "terminated")
                && values::source_priority(profile) == params.source_priority
        })
        .count()
}

fn email_key(profile: &Profile) -> Cow<'_, str> {
    let email = values::field(profile, field::EMAIL);
    match email.chars().any(char::is_uppercase) {
        true => Cow::Owned(email.to_lowercase()),
        false => email,
    }
}

fn orphan_event(profile: &Profile) -> Event {
    let email = values::field(profile, field::EMAIL).into_owned();
    let mut user_profile = profile.clone();
    user_profile.insert(field::EMPLOYMENT_STATUS.into(), "Terminated".into());
    user_profile.insert(field::TERMINATION_TRIGGER.into(), "Orphan".into());
    let mut raw = Map::new();
    raw.insert("Email_Address".into(), Value::String(email));
    raw.insert(
        "Emp_ID".into(),
        profile
            .get(field::EMPLOYEE_ID)
            .cloned()
            .unwrap_or(Value::Null),
    );
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
