//! A stored profile as the classifier holds it: the few fields it reads by name, and a
//! hash of every field's canonical text, which is all a change check needs (the report row
//! supplies the new value). 100,000 profiles take tens of megabytes this way, where whole
//! JSON documents took a gigabyte; the document itself is read again only for the rows
//! whose event embeds it ([`super::ProfileIndex::document`]).

use super::row_json::{Key, Member};
use super::{field, values, Profile, SOURCE_OF_TRUTH};
use anyhow::{Context, Result};
use serde::de::{Deserializer, MapAccess, Visitor};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

/// One stored profile, compact.
#[derive(Debug)]
pub struct StoredProfile {
    /// Its place in the index (what [`super::ReportMatches`] records).
    pub(super) position: u32,
    /// The store's key for the profile, to read its document again; empty when it is the
    /// email (as it is for most profiles), which then stands for it.
    key: Box<str>,
    email: Box<str>,
    employee_id: Box<str>,
    display_name: Box<str>,
    ad_status: AdStatus,
    source_priority: i64,
    flags: Flags,
    /// Every non-empty field: its name's symbol and its text's hash, sorted by symbol.
    fields: Box<[FieldHash]>,
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

/// Packed: 12 bytes, where alignment made it 16; a profile has about 45 (a fifth of a
/// 100,000-profile index).
#[derive(Debug, Clone, Copy)]
#[repr(C, packed(4))]
struct FieldHash {
    name: u32,
    text: u64,
}

impl StoredProfile {
    /// The canonical text of `email`.
    pub fn email(&self) -> &str {
        &self.email
    }

    pub fn employee_id(&self) -> &str {
        &self.employee_id
    }

    pub fn display_name(&self) -> &str {
        &self.display_name
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
        match self.key.is_empty() {
            true => &self.email,
            false => &self.key,
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

    /// Whether the row's `value` (canonical text) for the field `name` differs from the
    /// stored one; `name` is the field's symbol in the index, `None` for a name no stored
    /// profile has. Empty and missing are the same.
    pub(super) fn differs(&self, name: Option<u32>, value: &str) -> bool {
        let stored = name.and_then(|name| {
            self.fields
                .binary_search_by_key(&name, |f| f.name)
                .ok()
                .map(|i| self.fields[i].text)
        });
        match stored {
            None => !value.is_empty(),
            Some(hash) => value.is_empty() || hash != text_hash(value),
        }
    }

    /// Gives its fields the symbols `symbols` maps theirs to (another table's).
    pub(super) fn rename(&mut self, symbols: &[u32]) {
        for field in &mut self.fields {
            field.name = symbols[field.name as usize];
        }
        self.fields.sort_unstable_by_key(|field| field.name);
    }
}

/// Maps looked up millions of times in a large fetch (a name for every field of every
/// profile and every row), where SipHash was ~5 % of a dry run. foldhash is seeded per
/// process, so a report cannot be made to collide on purpose.
pub(super) type LookupMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Field names as small symbols, shared by every profile of an index.
#[derive(Debug, Default)]
pub(super) struct FieldNames(LookupMap<Box<str>, u32>);

impl FieldNames {
    pub fn get(&self, name: &str) -> Option<u32> {
        self.0.get(name).copied()
    }

    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&symbol) = self.0.get(name) {
            return symbol;
        }
        let symbol = u32::try_from(self.0.len()).unwrap_or(u32::MAX);
        self.0.insert(name.into(), symbol);
        symbol
    }

    /// Adds these names to `other`, and returns the symbol each of ours has there (by ours).
    pub fn onto(&self, other: &mut FieldNames) -> Vec<u32> {
        let mut symbols = vec![0; self.0.len()];
        for (name, &symbol) in &self.0 {
            symbols[symbol as usize] = other.intern(name);
        }
        symbols
    }
}

/// Builds a [`StoredProfile`] from a profile's fields with their canonical text.
pub(super) struct Compactor<'n> {
    names: &'n mut FieldNames,
    profile: StoredProfile,
    /// Every field as read; `None` for an empty one, which a later repeat may overwrite.
    fields: Vec<(u32, Option<u64>)>,
}

impl<'n> Compactor<'n> {
    pub fn new(names: &'n mut FieldNames, position: u32, key: &str) -> Self {
        Self {
            names,
            profile: StoredProfile {
                position,
                key: key.into(),
                email: Box::default(),
                employee_id: Box::default(),
                display_name: Box::default(),
                ad_status: AdStatus::Other,
                source_priority: 1,
                flags: Flags::default(),
                fields: Box::default(),
            },
            fields: Vec::with_capacity(48),
        }
    }

    /// One field; `text` is its canonical text ([`values::text`]).
    pub fn field(&mut self, name: &str, text: &str) {
        let p = &mut self.profile;
        match name {
            field::EMAIL => p.email = text.into(),
            field::EMPLOYEE_ID => p.employee_id = text.into(),
            field::DISPLAY_NAME => p.display_name = text.into(),
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
        let hash = (!text.is_empty()).then(|| text_hash(text));
        self.fields.push((self.names.intern(name), hash));
    }

    pub fn finish(mut self) -> StoredProfile {
        // A repeated name (JSON allows it) keeps its last value, as a parsed map does.
        self.fields.sort_by_key(|&(name, _)| name);
        self.fields.reverse();
        self.fields.dedup_by_key(|&mut (name, _)| name);
        self.profile.fields = self
            .fields
            .iter()
            .rev()
            .filter_map(|&(name, text)| Some(FieldHash { name, text: text? }))
            .collect();
        if self.profile.key == self.profile.email {
            self.profile.key = Box::default();
        }
        self.profile
    }
}

/// The compact form of a profile held as a map.
pub(super) fn compact(
    names: &mut FieldNames,
    position: u32,
    key: &str,
    profile: &Profile,
) -> StoredProfile {
    let mut compactor = Compactor::new(names, position, key);
    for (name, value) in profile {
        compactor.field(name, &values::text(Some(value)));
    }
    compactor.finish()
}

/// The compact form of a profile stored as a JSON object, read without building the
/// object ([`super::row_json`]: string values are borrowed from `json`).
pub(super) fn compact_json(
    names: &mut FieldNames,
    position: u32,
    key: &str,
    json: &str,
) -> Result<StoredProfile> {
    let mut compactor = Compactor::new(names, position, key);
    let mut de = serde_json::Deserializer::from_str(json);
    de.deserialize_map(ProfileVisitor(&mut compactor))
        .and_then(|()| de.end())
        .with_context(|| format!("the fields of the user profile {key}"))?;
    Ok(compactor.finish())
}

struct ProfileVisitor<'c, 'n>(&'c mut Compactor<'n>);

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

/// The hash a field's canonical text is compared by: 64 bits, so two different values
/// collide once in 2^64 comparisons. foldhash (SipHash took 3 % of a fetch) with the
/// process's random seed, the same on every thread: a report cannot aim at a collision.
fn text_hash(text: &str) -> u64 {
    let state =
        foldhash::quality::SeedableRandomState::with_seed(0, foldhash::SharedSeed::global_random());
    let mut hasher = state.build_hasher();
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
        let mut names = FieldNames::default();
        let from_map = compact(&mut names, 0, "k", map);
        let from_json = compact_json(&mut names, 1, "k", &profile.to_string()).unwrap();
        assert_eq!(from_map.fields.len(), 12, "blank and null are not held");
        for p in [&from_map, &from_json] {
            assert_eq!(p.email(), "Jane.Doe@Example.com");
            assert_eq!(p.employee_id(), "1001");
            assert_eq!(p.display_name(), "Jane \"JD\" Doe");
            assert_eq!(p.ad_status(), "Enabled");
            assert_eq!(p.source_priority(), 2);
            assert!(p.is_processed() && p.is_terminated() && p.is_terminated_by_tufe());
            assert!(p.has_foreign_source() && !p.is_conversion_hire());
            assert_eq!(
                p.fields
                    .iter()
                    .map(|f| (f.name, f.text))
                    .collect::<Vec<_>>(),
                from_map
                    .fields
                    .iter()
                    .map(|f| (f.name, f.text))
                    .collect::<Vec<_>>()
            );
        }
        let symbol = |name| names.get(name);
        assert!(!from_json.differs(symbol("employeeid"), "1001"));
        assert!(from_json.differs(symbol("employeeid"), "1002"));
        assert!(from_json.differs(symbol("employeeid"), ""));
        assert!(!from_json.differs(symbol("blank"), ""));
        assert!(!from_json.differs(symbol("never-stored"), ""));
        assert!(from_json.differs(symbol("never-stored"), "x"));
        assert!(!from_json.differs(symbol("isprocessed"), "True"));
        assert!(!from_json.differs(symbol("nested"), r#"{"b":[1,2.5,"x"],"a":false}"#));
    }

    #[test]
    fn an_ad_status_the_rules_do_not_name_reads_as_empty() {
        let mut names = FieldNames::default();
        for (status, read) in [
            ("Pending", "Pending"),
            ("Disabled", "Disabled"),
            ("disabled", ""),
            ("Locked", ""),
        ] {
            let json = format!(r#"{{"adaccountstatus": "{status}"}}"#);
            let profile = compact_json(&mut names, 0, "k", &json).unwrap();
            assert_eq!(profile.ad_status(), read, "{status}");
        }
    }

    #[test]
    fn a_profile_that_is_not_an_object_is_named() {
        let mut names = FieldNames::default();
        for bad in ["[1]", "{\"a\": ", "{} x"] {
            let err = compact_json(&mut names, 0, "jane@example.com", bad).unwrap_err();
            assert!(
                format!("{err:#}").contains("the fields of the user profile jane@example.com"),
                "{err:#}"
            );
        }
    }
}
