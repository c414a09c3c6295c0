//! A stored profile as the classifier holds it: the few fields it reads by name, and one
//! digest of the fields a report can change, which is all that tells an unchanged row from
//! a changed one (the report row supplies the new values). A million profiles take a couple
//! of hundred megabytes this way; the document itself is read again only for the rows
//! that changed or whose event embeds it ([`super::ProfileIndex::document`]).

use super::row_json::{Key, Member};
use super::{field, values, Profile, SOURCE_OF_TRUTH};
use anyhow::{Context, Result};
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::LazyLock;

/// One stored profile, compact.
#[derive(Debug)]
pub struct StoredProfile {
    /// Its place in the index (what [`super::ReportMatches`] records).
    pub(super) position: u32,
    /// Where the email, the employee id and the display name end in `texts`.
    ends: [u32; 3],
    /// The email, the employee id, the display name, then the store's key for the profile
    /// (to read its document again; empty when it is the email, as it is for most
    /// profiles). One allocation rather than four strings: at a million profiles the
    /// strings' pointers and allocations were 70 MB.
    texts: Box<str>,
    ad_status: AdStatus,
    source_priority: i64,
    flags: Flags,
    /// [`digest`] of its non-empty fields that a report row can carry.
    digest: u64,
}

/// `adaccountstatus`, by the values the classifier compares it with.
#[derive(Debug, Clone, Copy, Default)]
enum AdStatus {
    #[default]
    Other,
    Pending,
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    processed: bool,
    conversion_hire: bool,
    terminated: bool,
    tufe: bool,
    foreign_source: bool,
}

impl StoredProfile {
    /// The canonical text of `email`.
    pub fn email(&self) -> &str {
        self.text(0)
    }

    pub fn employee_id(&self) -> &str {
        self.text(1)
    }

    pub fn display_name(&self) -> &str {
        self.text(2)
    }

    /// Text `n` of `texts`: 0 to 2 those in `ends`, 3 the key.
    fn text(&self, n: usize) -> &str {
        let start = match n {
            0 => 0,
            _ => self.ends[n - 1] as usize,
        };
        let end = self
            .ends
            .get(n)
            .map_or(self.texts.len(), |&end| end as usize);
        self.texts.get(start..end).unwrap_or_default()
    }

    /// `adaccountstatus` when it is Pending, Enabled or Disabled; empty for any other value,
    /// which no rule reads.
    pub fn ad_status(&self) -> &'static str {
        match self.ad_status {
            AdStatus::Pending => "Pending",
            AdStatus::Enabled => "Enabled",
            AdStatus::Disabled => "Disabled",
            AdStatus::Other => "",
        }
    }

    /// The store's key for the profile.
    pub(super) fn key(&self) -> &str {
        match self.text(3) {
            "" => self.email(),
            key => key,
        }
    }

    /// `sourcepriority`; a profile without one (or with junk) counts as priority 1.
    pub fn source_priority(&self) -> i64 {
        self.source_priority
    }

    /// `isprocessed`: an incident is processing the profile.
    pub fn is_processed(&self) -> bool {
        self.flags.processed
    }

    pub fn is_conversion_hire(&self) -> bool {
        self.flags.conversion_hire
    }

    /// `employmentstatus` is Terminated.
    pub fn is_terminated(&self) -> bool {
        self.flags.terminated
    }

    /// `terminationtrigger` is TUFE.
    pub fn is_terminated_by_tufe(&self) -> bool {
        self.flags.tufe
    }

    /// `sourceoftruth` names another system than this integration.
    pub fn has_foreign_source(&self) -> bool {
        self.flags.foreign_source
    }

    /// Whether a row whose fields have `digest` ([`digest`]) carries exactly this
    /// profile's values: each field the profile has, with the same canonical text, and no
    /// other. `false` does not mean a change: a row may leave out a field the profile has,
    /// which compares as no change; only the fields themselves can tell.
    pub(super) fn same_fields(&self, digest: u64) -> bool {
        self.digest == digest
    }
}

/// Maps looked up millions of times in a large fetch (a name for every field of every
/// profile and every row), where SipHash was ~5 % of a dry run. foldhash is seeded per
/// process, so a report cannot be made to collide on purpose.
pub(super) type LookupMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The profile fields a report row can carry (the incoming map's), each with its place in
/// the list: a profile's digest covers these and no other (the runtime's own bookkeeping
/// fields, say).
#[derive(Debug, Default)]
pub(super) struct ComparedFields(LookupMap<Box<str>, u32>);

impl ComparedFields {
    pub fn new<'n>(names: impl IntoIterator<Item = &'n str>) -> Self {
        let mut places = LookupMap::default();
        for name in names {
            let place = u32::try_from(places.len()).unwrap_or(u32::MAX);
            places.entry(name.into()).or_insert(place);
        }
        Self(places)
    }

    fn place(&self, name: &str) -> Option<u32> {
        self.0.get(name).copied()
    }
}

/// Builds a [`StoredProfile`] from a profile's fields with their canonical text.
pub(super) struct Compactor<'c> {
    compared: &'c ComparedFields,
    profile: StoredProfile,
    /// The store's key for the profile.
    key: &'c str,
    /// The email, the employee id and the display name, until `finish` puts them (and the
    /// key) in the profile's one `texts`.
    texts: [String; 3],
    /// Every compared field as read, by its place; `None` for an empty one, which a later
    /// repeat may overwrite.
    fields: Vec<(u32, Option<u64>)>,
}

impl<'c> Compactor<'c> {
    pub fn new(compared: &'c ComparedFields, position: u32, key: &'c str) -> Self {
        Self {
            compared,
            profile: StoredProfile {
                position,
                ends: [0; 3],
                texts: Box::default(),
                ad_status: AdStatus::Other,
                source_priority: 1,
                flags: Flags::default(),
                digest: 0,
            },
            key,
            texts: [String::new(), String::new(), String::new()],
            fields: Vec::with_capacity(48),
        }
    }

    /// One field; `text` is its canonical text ([`values::text`]).
    pub fn field(&mut self, name: &str, text: &str) {
        let p = &mut self.profile;
        let mut set_text = |n: usize| {
            self.texts[n].clear();
            self.texts[n].push_str(text);
        };
        match name {
            field::EMAIL => set_text(0),
            field::EMPLOYEE_ID => set_text(1),
            field::DISPLAY_NAME => set_text(2),
            field::AD_ACCOUNT_STATUS => {
                p.ad_status = match text {
                    "Pending" => AdStatus::Pending,
                    "Enabled" => AdStatus::Enabled,
                    "Disabled" => AdStatus::Disabled,
                    _ => AdStatus::Other,
                }
            }
            field::SOURCE_PRIORITY => p.source_priority = text.parse().unwrap_or(1),
            field::IS_PROCESSED => p.flags.processed = text.eq_ignore_ascii_case("true"),
            field::CONVERSION_HIRE => p.flags.conversion_hire = text.eq_ignore_ascii_case("true"),
            field::EMPLOYMENT_STATUS => {
                p.flags.terminated = text.eq_ignore_ascii_case("terminated")
            }
            field::TERMINATION_TRIGGER => p.flags.tufe = text.eq_ignore_ascii_case("TUFE"),
            field::SOURCE_OF_TRUTH => {
                p.flags.foreign_source = !text.is_empty() && text != SOURCE_OF_TRUTH
            }
            _ => {}
        }
        if let Some(place) = self.compared.place(name) {
            let hash = (!text.is_empty()).then(|| field_hash(name, text));
            self.fields.push((place, hash));
        }
    }

    pub fn finish(mut self) -> StoredProfile {
        // A repeated name (JSON allows it) keeps its last value, as a parsed map does.
        // (Reversed, then sorted stably: the last of a name comes first, and stays.)
        self.fields.reverse();
        self.fields.sort_by_key(|&(place, _)| place);
        self.fields.dedup_by_key(|&mut (place, _)| place);
        self.profile.digest = self
            .fields
            .iter()
            .filter_map(|&(_, hash)| hash)
            .fold(0, u64::wrapping_add);
        let [email, employee_id, display_name] = &self.texts;
        let key = if self.key == email { "" } else { self.key };
        let mut texts =
            String::with_capacity(email.len() + employee_id.len() + display_name.len() + key.len());
        for (end, text) in self
            .profile
            .ends
            .iter_mut()
            .zip([email, employee_id, display_name])
        {
            texts.push_str(text);
            // (Rows are far smaller than 4 GB: a longer text would read as empty.)
            *end = u32::try_from(texts.len()).unwrap_or(u32::MAX);
        }
        texts.push_str(key);
        self.profile.texts = texts.into_boxed_str();
        self.profile
    }
}

/// The compact form of a profile held as a map.
pub(super) fn compact(
    compared: &ComparedFields,
    position: u32,
    key: &str,
    profile: &Profile,
) -> StoredProfile {
    let mut compactor = Compactor::new(compared, position, key);
    for (name, value) in profile {
        compactor.field(name, &values::text(Some(value)));
    }
    compactor.finish()
}

/// The compact form of a profile stored as a JSON object, read without building the
/// object ([`super::row_json`]: string values are borrowed from `json`).
pub(super) fn compact_json(
    compared: &ComparedFields,
    position: u32,
    key: &str,
    json: &str,
) -> Result<StoredProfile> {
    let mut compactor = Compactor::new(compared, position, key);
    let mut de = serde_json::Deserializer::from_str(json);
    de.deserialize_map(ProfileVisitor(&mut compactor))
        .and_then(|()| de.end())
        .with_context(|| format!("the fields of the user profile {key}"))?;
    Ok(compactor.finish())
}

struct ProfileVisitor<'v, 'c>(&'v mut Compactor<'c>);

impl<'de> Visitor<'de> for ProfileVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object of profile fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Key(name)) = map.next_key()? {
            match map.next_value()? {
                Member::Str(text) => self.0.field(&name, text.trim()),
                Member::Other(value) => self.0.field(&name, &values::text(Some(&value))),
            }
        }
        Ok(())
    }
}

/// The digest of a profile's or a row's fields `(name, canonical text)`: the sum of each
/// non-empty field's hash, so the order does not matter. 64 bits, so two different sets of
/// values share a digest once in 2^64. foldhash (SipHash took 3 % of a fetch) with the
/// process's random seed, the same on every thread: a report cannot aim at a collision.
pub(super) fn digest<'f>(fields: impl IntoIterator<Item = (&'f str, &'f str)>) -> u64 {
    fields
        .into_iter()
        .filter(|(_, text)| !text.is_empty())
        .map(|(name, text)| field_hash(name, text))
        .fold(0, u64::wrapping_add)
}

fn field_hash(name: &str, text: &str) -> u64 {
    static STATE: LazyLock<foldhash::quality::SeedableRandomState> = LazyLock::new(|| {
        foldhash::quality::SeedableRandomState::with_seed(0, foldhash::SharedSeed::global_random())
    });
    let mut hasher = STATE.build_hasher();
    hasher.write(name.as_bytes());
    // Never in UTF-8 text: no name and value can read as another split differently.
    hasher.write_u8(0xff);
    hasher.write(text.as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The streamed form and the map form agree, value for value.
    #[test]
    fn a_json_profile_compacts_as_its_parsed_map_does() {
        let profile = json!({
            "email": " Jane.Doe@Example.com ",
            "employeeid": 1001,
            "displayname": "Jane \"JD\" Doe",
            "sourcepriority": 2.0,
            "isprocessed": true,
            "employmentstatus": "terminated",
            "terminationtrigger": "TUFE",
            "sourceoftruth": "Okta",
            "adaccountstatus": "Enabled",
            "blank": "  ",
            "nothing": null,
            "nested": {"b": [1, 2.5, "x"], "a": false},
            "big": 12345678901234567890u64,
            "negative": -3,
        });
        let map = profile.as_object().unwrap();
        let compared = ComparedFields::new(map.keys().map(String::as_str));
        let from_map = compact(&compared, 0, "k", map);
        let from_json = compact_json(&compared, 1, "k", &profile.to_string()).unwrap();
        for p in [&from_map, &from_json] {
            assert_eq!(p.email(), "Jane.Doe@Example.com");
            assert_eq!(p.employee_id(), "1001");
            assert_eq!(p.display_name(), "Jane \"JD\" Doe");
            assert_eq!(p.key(), "k");
            assert_eq!(p.ad_status(), "Enabled");
            assert_eq!(p.source_priority(), 2);
            assert!(p.is_processed() && p.is_terminated() && p.is_terminated_by_tufe());
            assert!(p.has_foreign_source() && !p.is_conversion_hire());
        }
        assert_eq!(from_map.digest, from_json.digest);
        // A row with the same values in canonical form, in another order; blanks and nulls
        // are the same as leaving the field out.
        let same = [
            ("negative", "-3"),
            ("big", "12345678901234567890"),
            ("nested", r#"{"b":[1,2.5,"x"],"a":false}"#),
            ("adaccountstatus", "Enabled"),
            ("sourceoftruth", "Okta"),
            ("terminationtrigger", "TUFE"),
            ("employmentstatus", "terminated"),
            ("isprocessed", "True"),
            ("sourcepriority", "2"),
            ("displayname", "Jane \"JD\" Doe"),
            ("employeeid", "1001"),
            ("email", "Jane.Doe@Example.com"),
            ("blank", ""),
        ];
        assert!(from_json.same_fields(digest(same)));
        let mut changed = same;
        changed[10].1 = "1002";
        assert!(!from_json.same_fields(digest(changed)));
        // A field left out, or one the profile lacks given a value: not the same.
        assert!(!from_json.same_fields(digest(same[1..].iter().copied())));
        let more = same.into_iter().chain([("title", "Engineer")]);
        assert!(!from_json.same_fields(digest(more)));
    }

    #[test]
    fn only_the_compared_fields_count_and_a_repeat_keeps_its_last_value() {
        let compared = ComparedFields::new(["title", "city"]);
        let json = r#"{"title": "Old", "isprocessed": true, "city": "Oslo", "title": "New"}"#;
        let profile = compact_json(&compared, 0, "k", json).unwrap();
        assert!(profile.is_processed());
        assert!(profile.same_fields(digest([("city", "Oslo"), ("title", "New")])));
        assert!(!profile.same_fields(digest([("city", "Oslo"), ("title", "Old")])));
        // The name is part of each field's hash: values swapped between fields differ.
        assert!(!profile.same_fields(digest([("city", "New"), ("title", "Oslo")])));
    }

    #[test]
    fn an_ad_status_the_rules_do_not_name_reads_as_empty() {
        let compared = ComparedFields::default();
        for (status, read) in [
            ("Pending", "Pending"),
            ("Disabled", "Disabled"),
            ("disabled", ""),
            ("Locked", ""),
        ] {
            let json = format!(r#"{{"adaccountstatus": "{status}"}}"#);
            let profile = compact_json(&compared, 0, "k", &json).unwrap();
            assert_eq!(profile.ad_status(), read, "{status}");
        }
    }

    #[test]
    fn a_profile_that_is_not_an_object_is_named() {
        let compared = ComparedFields::default();
        for bad in ["[1]", "{\"a\": ", "{} x"] {
            let err = compact_json(&compared, 0, "jane@example.com", bad).unwrap_err();
            assert!(
                format!("{err:#}").contains("the fields of the user profile jane@example.com"),
                "{err:#}"
            );
        }
    }
}
