//! The stored profiles, indexed the way the classifier looks them up: by
//! employee id, by email, and by display name. Profiles are held compact
//! ([`StoredProfile`]); a whole document is read again from where the index came from when
//! an event embeds it.

use super::compact_threads::{compact_all, position, EachProfile};
use super::normalize::NormalizedRow;
use super::stored::{compact, FieldNames};
use super::text_index::TextIndex;
use super::{Profile, StoredProfile};
use anyhow::{Context, Result};
use std::borrow::Cow;

/// Reads a stored profile's document by its key (`None`: it is gone).
pub type LoadProfile<'s> = dyn Fn(&str) -> Result<Option<Profile>> + 's;

/// Where the whole documents are.
enum Documents<'s> {
    /// The index was built from them (tests, benchmarks, [`super::plan`]).
    Held(Vec<Profile>),
    /// Read on demand by the profile's key.
    Loaded(Box<LoadProfile<'s>>),
}

/// Stored profiles with their lookup maps. When two profiles share a key, the later wins
/// (as the original's dictionaries do).
pub struct ProfileIndex<'s> {
    profiles: Vec<StoredProfile>,
    names: FieldNames,
    by_employee_id: TextIndex,
    /// By email in lower case.
    by_email: TextIndex,
    by_display_name: TextIndex,
    documents: Documents<'s>,
}

impl std::fmt::Debug for ProfileIndex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileIndex")
            .field("profiles", &self.profiles.len())
            .finish_non_exhaustive()
    }
}

impl ProfileIndex<'static> {
    /// An index of profiles held in memory.
    pub fn new(profiles: Vec<Profile>) -> Self {
        let mut index = Self::empty(Documents::Held(Vec::new()));
        for profile in &profiles {
            let position = index.next_position();
            let stored = compact(&mut index.names, position, "", profile);
            index.add(stored);
        }
        index.documents = Documents::Held(profiles);
        index
    }
}

impl<'s> ProfileIndex<'s> {
    /// An index of the profiles `each` reads (each one's key and fields as a JSON object),
    /// compacted on several threads; `load` reads a document again by its key.
    pub fn load(
        load: impl Fn(&str) -> Result<Option<Profile>> + 's,
        each: Box<EachProfile<'_>>,
    ) -> Result<Self> {
        let compacted = compact_all(each)?;
        let mut index = Self::empty(Documents::Loaded(Box::new(load)));
        index.names = compacted.names;
        // Kept where they are, not moved into a second vector of the same size.
        index.profiles = compacted.profiles;
        let count = index.profiles.len();
        // Filled in place: growing a table reads every text filed so far again.
        let none = |_| Cow::Borrowed("");
        index.by_employee_id.reserve(count, none);
        index.by_email.reserve(count, none);
        index.by_display_name.reserve(count, none);
        for place in 0..count {
            index.file(position(place));
        }
        Ok(index)
    }

    fn empty(documents: Documents<'s>) -> Self {
        Self {
            profiles: Vec::new(),
            names: FieldNames::default(),
            by_employee_id: TextIndex::default(),
            by_email: TextIndex::default(),
            by_display_name: TextIndex::default(),
            documents,
        }
    }

    fn next_position(&self) -> u32 {
        position(self.profiles.len())
    }

    fn add(&mut self, stored: StoredProfile) {
        let i = stored.position;
        self.profiles.push(stored);
        self.file(i);
    }

    /// Files the profile at position `i` (its place in `profiles`) in the lookup tables.
    fn file(&mut self, i: u32) {
        let profiles = &self.profiles;
        let stored = &profiles[i as usize];
        let at = |i: u32| &profiles[i as usize];
        if !stored.employee_id().is_empty() {
            let text_at = |i| Cow::Borrowed(at(i).employee_id());
            self.by_employee_id
                .insert(stored.employee_id(), i, text_at, true);
        }
        if !stored.email().is_empty() {
            let text_at = |i| lower_case(at(i).email());
            self.by_email
                .insert(&lower_case(stored.email()), i, text_at, true);
        }
        if !stored.display_name().is_empty() {
            let text_at = |i| Cow::Borrowed(at(i).display_name());
            self.by_display_name
                .insert(stored.display_name(), i, text_at, false);
        }
    }

    pub fn profiles(&self) -> &[StoredProfile] {
        &self.profiles
    }

    /// The whole stored document of a profile, for an event that embeds it.
    pub fn document(&self, stored: &StoredProfile) -> Result<Profile> {
        match &self.documents {
            Documents::Held(profiles) => profiles
                .get(stored.position as usize)
                .cloned()
                .context("a profile outside the index"),
            Documents::Loaded(load) => load(stored.key())?.with_context(|| {
                format!(
                    "the stored profile {} was deleted while the report was compared; fetch again",
                    stored.key()
                )
            }),
        }
    }

    /// Whether the row's `value` for the field `name` differs from `stored`'s.
    pub fn differs(&self, stored: &StoredProfile, name: &str, value: &str) -> bool {
        stored.differs(self.names.get(name), value)
    }

    /// The stored profile for a row: by employee id first, then by email (blank keys never
    /// match). Malformed rows are looked up with the identity their error carries.
    pub fn find(&self, employee_id: &str, email: &str) -> Option<&StoredProfile> {
        let at = |i: u32| &self.profiles[i as usize];
        let employee_id = employee_id.trim();
        let by_id = || {
            let text_at = |i| Cow::Borrowed(at(i).employee_id());
            (!employee_id.is_empty())
                .then(|| self.by_employee_id.find_one(employee_id, text_at))
                .flatten()
        };
        let by_email = || {
            let email = email.trim();
            let text_at = |i| lower_case(at(i).email());
            (!email.is_empty())
                .then(|| self.by_email.find_one(&lower_case(email), text_at))
                .flatten()
        };
        by_id().or_else(by_email).map(at)
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
        stored: Option<&StoredProfile>,
    ) -> Option<&StoredProfile> {
        let name = row.display_name();
        if name.is_empty() {
            return None;
        }
        let at = |i: u32| &self.profiles[i as usize];
        let holders: Vec<&StoredProfile> = self
            .by_display_name
            .find(name, |i| Cow::Borrowed(at(i).display_name()))
            .into_iter()
            .map(at)
            .collect();
        let active = |p: &&StoredProfile| !p.is_terminated();
        let Some(user) = stored else {
            // Prefer an active holder: it becomes `mergeduserprofile`.
            return holders
                .iter()
                .find(|p| active(p))
                .or(holders.first())
                .copied();
        };
        let other = |p: &&StoredProfile| p.employee_id() != user.employee_id();
        if !holders.iter().all(other) {
            return None; // the user already has this name
        }
        holders.into_iter().find(|p| other(p) && active(p))
    }
}

/// `text` in lower case, borrowed when it is already (most stored emails are).
fn lower_case(text: &str) -> Cow<'_, str> {
    if !text.is_ascii() {
        Cow::Owned(text.to_lowercase())
    } else if text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(text.to_ascii_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_profile_is_found_by_employee_id_or_by_email_in_any_case_and_the_later_one_wins() {
        let profile = |email: &str, id: &str| {
            json!({"email": email, "employeeid": id})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let index = ProfileIndex::new(vec![
            profile("Jane.Doe@Acme.test", "1"),
            profile("jane.doe@acme.test", "2"),
            profile("Zoë.Öz@Acme.test", "3"),
            profile("other@acme.test", "3"),
        ]);
        let id_of = |employee_id: &str, email: &str| {
            index
                .find(employee_id, email)
                .map(|p| p.employee_id().to_owned())
        };
        assert_eq!(id_of("1", "").as_deref(), Some("1"));
        assert_eq!(id_of("", "JANE.DOE@acme.TEST").as_deref(), Some("2"));
        assert_eq!(id_of(" ", " jane.doe@acme.test ").as_deref(), Some("2"));
        assert_eq!(id_of("", "ZOË.ÖZ@ACME.TEST").as_deref(), Some("3"));
        assert_eq!(
            index.find("3", "").map(StoredProfile::email),
            Some("other@acme.test"),
            "the later holder of an employee id"
        );
        assert!(index.find("", "nobody@acme.test").is_none());
        assert!(index.find("", "").is_none());
    }

    #[test]
    fn a_loaded_index_reads_documents_by_key_and_names_one_that_is_gone() {
        let jane = json!({"email": "Jane@Example.com", "employeeid": "1", "title": "Engineer"});
        let document = jane.as_object().cloned().unwrap_or_default();
        let stored = [
            ("jane@example.com", jane.to_string()),
            (
                "gone@example.com",
                r#"{"email": "gone@example.com"}"#.to_owned(),
            ),
        ];
        let index = ProfileIndex::load(
            |key| Ok((key == "jane@example.com").then(|| document.clone())),
            Box::new(|f| stored.iter().try_for_each(|(key, json)| f(key, json))),
        )
        .unwrap();
        let found = index.find("1", "").unwrap();
        assert_eq!(index.document(found).unwrap(), document);
        assert!(!index.differs(found, "title", "Engineer"));
        assert!(index.differs(found, "title", "Sr Engineer"));
        let gone = index.find("", "GONE@example.com").unwrap();
        let err = index.document(gone).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the stored profile gone@example.com was deleted while the report was compared; fetch again"
        );
    }
}
