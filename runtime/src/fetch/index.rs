//! The stored profiles, indexed the way the classifier looks them up: by
//! employee id, by email, and by display name. Profiles are held compact
//! ([`StoredProfile`]); a whole document is read again from where the index came from when
//! a row changed it or an event embeds it.

use super::compact_threads::{compact_all, position, EachProfile};
use super::normalize::{IncomingMap, NormalizedRow};
use super::stored::{compact, digest, ComparedFields};
use super::text_index::TextIndex;
use super::{values, Profile, StoredProfile};
use anyhow::{Context, Result};
use std::borrow::Cow;
use std::cell::RefCell;

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
    by_employee_id: TextIndex<StoredProfile>,
    /// By email in lower case.
    by_email: TextIndex<StoredProfile>,
    by_display_name: TextIndex<StoredProfile>,
    documents: Documents<'s>,
    /// The document a changed row last read ([`ProfileIndex::changes`]), by position: the
    /// event of that row embeds it next, and takes it instead of reading it again.
    last_read: RefCell<Option<(u32, Profile)>>,
}

impl std::fmt::Debug for ProfileIndex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProfileIndex")
            .field("profiles", &self.profiles.len())
            .finish_non_exhaustive()
    }
}

impl ProfileIndex<'static> {
    /// An index of profiles held in memory, compared with the rows `map` makes.
    pub fn new(profiles: Vec<Profile>, map: &IncomingMap) -> Self {
        let compared = ComparedFields::new(map.field_names());
        let mut index = Self::empty(Documents::Held(Vec::new()), profiles.len());
        for profile in &profiles {
            let position = index.next_position();
            let stored = compact(&compared, position, "", profile);
            index.add(stored);
        }
        index.documents = Documents::Held(profiles);
        index
    }
}

impl<'s> ProfileIndex<'s> {
    /// An index of the profiles `each` reads (each one's key and fields as a JSON object),
    /// compacted on several threads and compared with the rows `map` makes; `load` reads a
    /// document again by its key.
    pub fn load(
        load: impl Fn(&str) -> Result<Option<Profile>> + 's,
        each: Box<EachProfile<'_>>,
        map: &IncomingMap,
    ) -> Result<Self> {
        let profiles = compact_all(each, &ComparedFields::new(map.field_names()))?;
        let count = profiles.len();
        // Sized at once: growing a table reads every text filed so far again.
        let mut index = Self::empty(Documents::Loaded(Box::new(load)), count);
        // Kept where they are, not moved into a second vector of the same size.
        index.profiles = profiles;
        for place in 0..count {
            index.file(position(place));
        }
        Ok(index)
    }

    fn empty(documents: Documents<'s>, capacity: usize) -> Self {
        Self {
            profiles: Vec::new(),
            by_employee_id: TextIndex::new(employee_id_of, true, capacity),
            by_email: TextIndex::new(email_of, true, capacity),
            by_display_name: TextIndex::new(display_name_of, false, capacity),
            documents,
            last_read: RefCell::new(None),
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
        self.by_employee_id.file(&self.profiles, i);
        self.by_email.file(&self.profiles, i);
        self.by_display_name.file(&self.profiles, i);
    }

    pub fn profiles(&self) -> &[StoredProfile] {
        &self.profiles
    }

    /// The whole stored document of a profile, for an event that embeds it.
    pub fn document(&self, stored: &StoredProfile) -> Result<Profile> {
        let remembered = (self.last_read.borrow_mut()).take_if(|(at, _)| *at == stored.position);
        if let Some((_, document)) = remembered {
            return Ok(document);
        }
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

    /// The row's fields whose value differs from `stored`'s, in row order. Values compare
    /// in canonical form, so "" and missing, 1 and "1" are no change, and a field the row
    /// leaves out is no change either. Most rows carry a profile's fields unchanged, which
    /// its digest tells at once; for the rest the stored document is read and compared
    /// field by field.
    pub fn changes<'r>(
        &self,
        stored: &StoredProfile,
        row: &'r NormalizedRow,
    ) -> Result<Vec<(&'r str, &'r str)>> {
        if stored.same_fields(digest(row.fields())) {
            return Ok(Vec::new());
        }
        let document = self.document(stored)?;
        let changes = row
            .fields()
            .filter(|&(name, value)| values::field(&document, name) != value)
            .collect();
        *self.last_read.borrow_mut() = Some((stored.position, document));
        Ok(changes)
    }

    /// The stored profile for a row: by employee id first, then by email (blank keys never
    /// match). Malformed rows are looked up with the identity their error carries.
    pub fn find(&self, employee_id: &str, email: &str) -> Option<&StoredProfile> {
        // Blank keys are never filed, so they find nothing.
        let by_id = || {
            self.by_employee_id
                .find_one(&self.profiles, employee_id.trim())
        };
        let by_email = || {
            self.by_email
                .find_one(&self.profiles, &lower_case(email.trim()))
        };
        by_id()
            .or_else(by_email)
            .map(|i| &self.profiles[i as usize])
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
        let holders: Vec<&StoredProfile> = self
            .by_display_name
            .find(&self.profiles, name)
            .into_iter()
            .map(|i| &self.profiles[i as usize])
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

// The texts each lookup files a profile under, in the form it is looked up by.
fn employee_id_of(profile: &StoredProfile) -> Cow<'_, str> {
    Cow::Borrowed(profile.employee_id())
}

fn email_of(profile: &StoredProfile) -> Cow<'_, str> {
    lower_case(profile.email())
}

fn display_name_of(profile: &StoredProfile) -> Cow<'_, str> {
    Cow::Borrowed(profile.display_name())
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

    fn map() -> IncomingMap {
        IncomingMap::from_toml(
            r#"fields = [
                { to = "email", from = "Email_Address" },
                { to = "employeeid", from = "Emp_ID" },
                { to = "hiredate", from = "Hire_Date" },
                { to = "title", from = "Business_Title" },
            ]"#,
            "test",
        )
        .unwrap()
    }

    #[test]
    fn a_profile_is_found_by_employee_id_or_by_email_in_any_case_and_the_later_one_wins() {
        let profile = |email: &str, id: &str| {
            json!({"email": email, "employeeid": id})
                .as_object()
                .cloned()
                .unwrap_or_default()
        };
        let index = ProfileIndex::new(
            vec![
                profile("Jane.Doe@Acme.test", "1"),
                profile("jane.doe@acme.test", "2"),
                profile("Zoë.Öz@Acme.test", "3"),
                profile("other@acme.test", "3"),
            ],
            &map(),
        );
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
        let jane = json!({"email": "jane@example.com", "employeeid": "1", "title": "Engineer",
                          "isprocessed": true});
        let document = jane.as_object().cloned().unwrap_or_default();
        let stored = [
            ("jane@example.com", jane.to_string()),
            (
                "gone@example.com",
                r#"{"email": "gone@example.com", "employeeid": "2"}"#.to_owned(),
            ),
        ];
        let map = map();
        let reads = std::cell::Cell::new(0);
        let index = ProfileIndex::load(
            |key| {
                reads.set(reads.get() + 1);
                Ok((key == "jane@example.com").then(|| document.clone()))
            },
            Box::new(|f| stored.iter().try_for_each(|(key, json)| f(key, json))),
            &map,
        )
        .unwrap();
        let found = index.find("1", "").unwrap();
        assert_eq!(index.document(found).unwrap(), document);
        assert_eq!(reads.get(), 1);

        let params = super::super::WorkdayParams::default();
        let row = |email: &str, id: &str, title: Option<&str>| {
            let mut raw = json!({"Email_Address": email, "Emp_ID": id});
            if let Some(title) = title {
                raw["Business_Title"] = json!(title);
            }
            map.normalize(raw, &params).unwrap()
        };
        // The bookkeeping field (isprocessed) is not the report's, so it is no difference.
        let same = row("jane@example.com", "1", Some("Engineer"));
        assert!(index.changes(found, &same).unwrap().is_empty());
        assert_eq!(reads.get(), 1, "the digest tells an unchanged row");
        let promoted = row("jane@example.com", "1", Some("Sr Engineer"));
        assert_eq!(
            index.changes(found, &promoted).unwrap(),
            [("title", "Sr Engineer")]
        );
        // The changed row's event takes the document it read, once.
        assert_eq!(index.document(found).unwrap(), document);
        assert_eq!(reads.get(), 2);
        assert_eq!(index.document(found).unwrap(), document);
        assert_eq!(reads.get(), 3);
        // A row that leaves the title out changes nothing (the document tells).
        let untitled = row("jane@example.com", "1", None);
        assert!(index.changes(found, &untitled).unwrap().is_empty());

        let gone = index.find("", "GONE@example.com").unwrap();
        assert!(index
            .changes(gone, &row("gone@example.com", "2", None))
            .unwrap()
            .is_empty());
        for err in [
            index.document(gone).unwrap_err(),
            index
                .changes(gone, &row("gone@example.com", "2", Some("Engineer")))
                .unwrap_err(),
        ] {
            assert_eq!(
                err.to_string(),
                "the stored profile gone@example.com was deleted while the report was compared; fetch again"
            );
        }
    }
}
