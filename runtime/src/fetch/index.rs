//! The stored profiles, indexed the way the classifier looks them up: by
//! employee id, by email, and by display name.

use super::normalize::NormalizedRow;
use super::{field, values, Profile};
use std::collections::HashMap;

/// Stored profiles with their lookup maps. When two profiles share a key, the later wins
/// (as the original's dictionaries do).
#[derive(Debug, Default)]
pub struct ProfileIndex {
    profiles: Vec<Profile>,
    by_employee_id: HashMap<String, usize>,
    by_email: HashMap<String, usize>,
    by_display_name: HashMap<String, Vec<usize>>,
}

impl ProfileIndex {
    pub fn new(profiles: Vec<Profile>) -> Self {
        let mut index = Self {
            by_employee_id: HashMap::with_capacity(profiles.len()),
            by_email: HashMap::with_capacity(profiles.len()),
            by_display_name: HashMap::with_capacity(profiles.len()),
            profiles: Vec::new(),
        };
        for (i, profile) in profiles.iter().enumerate() {
            if let Some(id) = key(profile, field::EMPLOYEE_ID) {
                index.by_employee_id.insert(id, i);
            }
            if let Some(email) = key(profile, field::EMAIL) {
                index.by_email.insert(email.to_lowercase(), i);
            }
            if let Some(name) = key(profile, field::DISPLAY_NAME) {
                index.by_display_name.entry(name).or_default().push(i);
            }
        }
        index.profiles = profiles;
        index
    }

    pub fn profiles(&self) -> &[Profile] {
        &self.profiles
    }

    /// The stored profile for a row: by employee id first, then by email (blank keys never
    /// match). Malformed rows are looked up with the identity their error carries.
    pub fn find(&self, employee_id: &str, email: &str) -> Option<&Profile> {
        let employee_id = employee_id.trim();
        let by_id = || {
            (!employee_id.is_empty())
                .then(|| self.by_employee_id.get(employee_id))
                .flatten()
        };
        let by_email = || {
            let email = email.trim();
            match email.chars().any(char::is_uppercase) {
                _ if email.is_empty() => None,
                true => self.by_email.get(&email.to_lowercase()),
                false => self.by_email.get(email),
            }
        };
        by_id().or_else(by_email).map(|&i| &self.profiles[i])
    }

    /// The stored profile already holding the row's display name, if that is a
    /// conflict: for a new user any holder; for a stored user a holder with another employee
    /// id, when the name is new to the user.
    ///
    /// the original skips holders whose `adaccountstatus` is "terminated", a value
    /// that field never takes; we skip holders whose `employmentstatus` is Terminated, as
    /// intended, so a leaver's name is free for a stored user. A row without a display name
    /// never conflicts (the original grouped all nameless profiles together).
    pub fn display_name_conflict(
        &self,
        row: &NormalizedRow,
        stored: Option<&Profile>,
    ) -> Option<&Profile> {
        let name = row.display_name();
        if name.is_empty() {
            return None;
        }
        let holders: Vec<&Profile> = self
            .by_display_name
            .get(name)?
            .iter()
            .map(|&i| &self.profiles[i])
            .collect();
        let active = |p: &&Profile| !values::field_is(p, field::EMPLOYMENT_STATUS, "terminated");
        let Some(user) = stored else {
            // Prefer an active holder: it becomes `mergeduserprofile`.
            return holders
                .iter()
                .find(|p| active(p))
                .or(holders.first())
                .copied();
        };
        let user_id = values::field(user, field::EMPLOYEE_ID);
        let other = |p: &&Profile| values::field(p, field::EMPLOYEE_ID) != user_id;
        if !holders.iter().all(other) {
            return None; // the user already has this name
        }
        holders.into_iter().find(|p| other(p) && active(p))
    }
}

/// The canonical text of a lookup key, `None` when blank.
fn key(profile: &Profile, name: &str) -> Option<String> {
    let text = values::field(profile, name);
    (!text.is_empty()).then(|| text.into_owned())
}
