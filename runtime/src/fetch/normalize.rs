//! The incoming field map and row normalization.
//!
//! The map is data the admin edits without a rebuild (`playbooks/mappers/workday-incoming.toml`):
//! report key(s) → profile field, with an optional transform. It is declarative rather
//! than a script so a 100,000-row report normalizes in well under a second. Normalizing a
//! row gives its profile fields in map order, dates as `MM/DD/YYYY`, the email lower-cased
//! and every value as canonical text, then `sourcepriority` and `sourceoftruth`. A row keeps
//! its values in one buffer; the profile map is built only for the rows that need one.
//!
//! A value the runtime cannot use (an object, a date or an email address that does not
//! parse, text longer than `max_value_length`) drops the row only when the classifier needs
//! its column to decide the event (identity, hire date, status, flags, the deactivation
//! date). Any other column is left out of the profile with a warning, so a malformed
//! optional column never blocks a leaver's termination.

use super::dates::push_profile_date;
use super::email;
use super::params::DeactivationField;
use super::row_json::{self, Member, RowJson};
use super::stored::LookupMap;
use super::stream::{NotJson, RawRow};
use super::{field, values, Profile, WorkdayParams, SOURCE_OF_TRUTH};
use chrono::NaiveDate;
use serde::ser::{SerializeMap, Serializer as _};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// The map file: `fields = [ { to = "email", from = "Email_Address", transform = "lowercase" }, … ]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    fields: Vec<FieldEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldEntry {
    to: String,
    /// One report key, or several tried in order (reports name some columns differently).
    from: Sources,
    #[serde(default)]
    transform: Option<Transform>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Sources {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Transform {
    Lowercase,
    Date,
    /// An email address: syntax-checked, kept as written.
    Email,
}

/// Fields the runtime or the playbooks own; a report value there would corrupt the
/// classification (e.g. `adaccountstatus` drives AD events, `sourcepriority` ownership).
const RESERVED: &[&str] = &[
    field::SOURCE_PRIORITY,
    field::SOURCE_OF_TRUTH,
    field::AD_ACCOUNT_STATUS,
    field::IS_PROCESSED,
    field::CONVERSION_HIRE,
    field::OLD_USER_DATA,
    field::MERGED_USER_PROFILE,
];

/// Fields the classifier cannot work without (drop rule D3 needs them).
const REQUIRED: &[&str] = &[field::EMAIL, field::EMPLOYEE_ID, field::HIRE_DATE];

/// Fields whose value decides the event (with the configured deactivation date): a row
/// whose value there is unusable is skipped rather than classified on a guess.
const DECIDING: &[&str] = &[
    field::EMAIL,
    field::EMPLOYEE_ID,
    field::HIRE_DATE,
    field::EMPLOYMENT_STATUS,
    field::PREHIRE_FLAG,
    field::REHIRED_EMPLOYEE,
];

/// An incoming map that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("incoming field map {origin}: {problem}")]
pub struct MapError {
    pub origin: String,
    pub problem: String,
}

/// What a profile field's value becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Lowercase,
    /// A date in the report's format; the classifier's own date fields keep the parsed date.
    Date(Option<DateSlot>),
    /// An email address, lower-cased for the profile's key (`email`), else kept as written.
    Email {
        lowercase: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DateSlot {
    Hire,
    Termination,
    LastDayOfWork,
}

#[derive(Debug, Clone)]
struct Field {
    to: String,
    from: Vec<String>,
    kind: Kind,
    /// An unusable value here drops the row (see [`DECIDING`]).
    deciding: bool,
}

impl Field {
    fn needed(&self, params: &WorkdayParams) -> bool {
        self.deciding || self.to == params.deactivation_date_field.field()
    }
}

/// The compiled incoming map.
#[derive(Debug, Clone)]
pub struct IncomingMap {
    fields: Arc<Fields>,
}

/// The map's fields, shared by every row it normalizes.
#[derive(Debug)]
struct Fields {
    list: Vec<Field>,
    /// Profile field name → position in `list`.
    position: HashMap<String, usize>,
    /// Report key → the fields it feeds, with its rank in each field's `from` list (looked
    /// up for every cell of every row).
    by_key: LookupMap<String, Vec<(usize, usize)>>,
}

impl Fields {
    /// Each field's source in `row`: the first of its keys with a value, else the first
    /// present as `null` (an empty value). One pass over the row, whose entries are cold in
    /// memory on a large report, rather than a hash lookup per field.
    /// A key the row repeats counts once, with its last value (as a parsed object keeps
    /// it): `row` is walked from its end, and a later member only replaces an earlier pick
    /// of a better rank.
    fn sources<'r>(
        &self,
        row: impl DoubleEndedIterator<Item = (&'r str, Cell<'r>)>,
    ) -> Vec<Option<Source<'r>>> {
        let mut picked: Vec<Option<Source<'r>>> = vec![None; self.list.len()];
        for (key, value) in row.rev() {
            for &(field, rank) in self.by_key.get(key).into_iter().flatten() {
                let candidate = Source { rank, key, value };
                if picked[field].is_none_or(|best| candidate.before(&best)) {
                    picked[field] = Some(candidate);
                }
            }
        }
        picked
    }
}

/// Where a field's value comes from in a row.
#[derive(Debug, Clone, Copy)]
struct Source<'r> {
    rank: usize,
    key: &'r str,
    value: Cell<'r>,
}

/// A row's value, from a parsed JSON value or read from the row's text.
#[derive(Debug, Clone, Copy)]
enum Cell<'r> {
    Json(&'r Value),
    /// A JSON string, unescaped.
    Str(&'r str),
}

impl<'r> Cell<'r> {
    fn of(member: &'r Member<'r>) -> Self {
        match member {
            Member::Str(s) => Cell::Str(s),
            Member::Other(value) => Cell::Json(value),
        }
    }

    fn is_null(self) -> bool {
        matches!(self, Cell::Json(Value::Null))
    }

    /// The canonical text of a scalar; `None` for objects and arrays.
    fn scalar_text(self) -> Option<Cow<'r, str>> {
        match self {
            Cell::Str(s) => Some(Cow::Borrowed(s.trim())),
            Cell::Json(value) => {
                (!value.is_object() && !value.is_array()).then(|| values::text(Some(value)))
            }
        }
    }

    fn json_type(self) -> &'static str {
        match self {
            Cell::Str(_) => "a string",
            Cell::Json(value) => values::json_type(value),
        }
    }
}

/// The report row as read, kept for the events that carry it.
#[derive(Debug, Clone)]
enum Raw {
    Object(Map<String, Value>),
    /// The row's JSON text, parsed again only when an event needs it.
    Text(Box<str>),
}

/// The values read from a row's cells.
struct Read {
    text: String,
    spans: Vec<Option<Range<usize>>>,
    dates: Dates,
    warnings: Vec<RowProblem>,
}

impl Source<'_> {
    fn before(&self, other: &Self) -> bool {
        (self.value.is_null(), self.rank) < (other.value.is_null(), other.rank)
    }
}

impl IncomingMap {
    /// Reads and compiles the map file at `path`.
    pub fn load(path: &Path) -> Result<Self, MapError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| MapError {
            origin: origin.clone(),
            problem: format!("cannot read it: {e}"),
        })?;
        Self::from_toml(&text, &origin)
    }

    /// Compiles a map from its TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Self, MapError> {
        let error = |problem: String| MapError {
            origin: origin.to_owned(),
            problem,
        };
        let file: MapFile = toml::from_str(text).map_err(|e| error(e.to_string()))?;
        let mut list = Vec::with_capacity(file.fields.len());
        let mut position = HashMap::with_capacity(file.fields.len());
        for entry in file.fields {
            let field = compile(entry).map_err(&error)?;
            if position.insert(field.to.clone(), list.len()).is_some() {
                return Err(error(format!("field {:?} is mapped twice", field.to)));
            }
            list.push(field);
        }
        if let Some(missing) = REQUIRED.iter().find(|name| !position.contains_key(**name)) {
            return Err(error(format!(
                "no field maps to {missing:?}; email, employeeid and hiredate identify a row"
            )));
        }
        let mut by_key: LookupMap<String, Vec<(usize, usize)>> = LookupMap::default();
        for (at, field) in list.iter().enumerate() {
            for (rank, key) in field.from.iter().enumerate() {
                by_key.entry(key.clone()).or_default().push((at, rank));
            }
        }
        Ok(Self {
            fields: Arc::new(Fields {
                list,
                position,
                by_key,
            }),
        })
    }

    /// The profile fields a row can carry, in the map's order.
    pub fn field_names(&self) -> impl Iterator<Item = &str> {
        self.fields.list.iter().map(|field| field.to.as_str())
    }

    /// Normalizes one report row. A row that is not an object, or whose value
    /// in a column the classifier needs cannot be used, is an error naming the row's
    /// employee id and email when those could be read; unusable values elsewhere are left
    /// out, each with a warning ([`NormalizedRow::warnings`]).
    pub fn normalize(&self, row: Value, params: &WorkdayParams) -> Result<NormalizedRow, RowError> {
        let raw = match row {
            Value::Object(raw) => raw,
            other => return Err(not_an_object(values::json_type(&other))),
        };
        let cells = raw
            .iter()
            .map(|(key, value)| (key.as_str(), Cell::Json(value)));
        let read = self.read_cells(self.fields.sources(cells), params)?;
        Ok(self.normalized(Raw::Object(raw), read, params))
    }

    /// A row as the report stream gives it, normalized (or why it cannot be used); the
    /// outer error when its text is not JSON, which fails the fetch.
    pub fn read_row(
        &self,
        raw: RawRow,
        params: &WorkdayParams,
    ) -> Result<Result<NormalizedRow, RowError>, NotJson> {
        match raw {
            RawRow::Row(raw) => Ok(self.normalize(raw, params)),
            RawRow::Text(raw) => self.normalize_text(raw, params),
            RawRow::Oversized {
                partial,
                bytes,
                limit,
            } => Ok(Err(self.oversized(partial, params, bytes, limit))),
        }
    }

    /// [`IncomingMap::normalize`] for a row as JSON text, read without building a JSON
    /// value.
    fn normalize_text(
        &self,
        row: String,
        params: &WorkdayParams,
    ) -> Result<Result<NormalizedRow, RowError>, NotJson> {
        let read = match row_json::parse(&row).map_err(|e| NotJson(e.to_string()))? {
            RowJson::Object(members) => {
                let cells = members
                    .iter()
                    .map(|(key, member)| (&**key, Cell::of(member)));
                self.read_cells(self.fields.sources(cells), params)
            }
            RowJson::Not(found) => Err(not_an_object(found)),
        };
        Ok(read.map(|read| self.normalized(Raw::Text(row.into_boxed_str()), read, params)))
    }

    /// Each field's value from its picked cell, or the row's error.
    fn read_cells(
        &self,
        picked: Vec<Option<Source>>,
        params: &WorkdayParams,
    ) -> Result<Read, RowError> {
        let fields = &self.fields.list;
        let mut read = Read {
            text: String::with_capacity(512),
            spans: Vec::with_capacity(fields.len()),
            dates: Dates::default(),
            warnings: Vec::new(),
        };
        for (field, source) in fields.iter().zip(&picked) {
            let Some(source) = source else {
                read.spans.push(None);
                continue;
            };
            let start = read.text.len();
            match read_value(field, source, params, &mut read.text, &mut read.dates) {
                Ok(()) => read.spans.push(Some(start..read.text.len())),
                Err(problem) if field.needed(params) => {
                    return Err(self.error(&picked, params, problem))
                }
                Err(problem) => {
                    // Left out, as if the report lacked the column: no phantom update.
                    read.text.truncate(start);
                    read.spans.push(None);
                    read.warnings.push(problem);
                }
            }
        }
        Ok(read)
    }

    fn normalized(&self, raw: Raw, read: Read, params: &WorkdayParams) -> NormalizedRow {
        NormalizedRow {
            raw,
            fields: Arc::clone(&self.fields),
            text: read.text,
            spans: read.spans,
            source_priority: params.source_priority,
            dates: read.dates,
            warnings: read.warnings,
        }
    }

    /// The error of a row too large to use (`bytes` over `limit`), with the identity
    /// the columns in `partial` give, so the row is still matched to its person.
    fn oversized(
        &self,
        partial: Value,
        params: &WorkdayParams,
        bytes: u64,
        limit: usize,
    ) -> RowError {
        let problem = RowProblem::RowTooLong { bytes, limit };
        match partial {
            Value::Object(raw) => {
                let cells = raw
                    .iter()
                    .map(|(key, value)| (key.as_str(), Cell::Json(value)));
                self.error(&self.fields.sources(cells), params, problem)
            }
            _ => RowError {
                employee_id: None,
                email: None,
                problem,
            },
        }
    }

    /// A row error, with the row's identity read as leniently as possible: the state
    /// machine still matches the row to its stored profile so it is never taken for an orphan.
    /// An identity that is not a scalar or is oversized is no identity: it is never quoted.
    fn error(
        &self,
        picked: &[Option<Source>],
        params: &WorkdayParams,
        problem: RowProblem,
    ) -> RowError {
        let identity = |name: &str| {
            let source = picked[*self.fields.position.get(name)?]?;
            let text = source.value.scalar_text()?;
            (!text.is_empty() && text.len() <= params.max_value_length).then(|| text.into_owned())
        };
        RowError {
            employee_id: identity(field::EMPLOYEE_ID),
            email: identity(field::EMAIL).map(|email| email.to_lowercase()),
            problem,
        }
    }
}

/// Appends a field's value to `text` (and records a classifier date), or says why the
/// value cannot be used.
fn read_value(
    field: &Field,
    source: &Source,
    params: &WorkdayParams,
    text: &mut String,
    dates: &mut Dates,
) -> Result<(), RowProblem> {
    let key = source.key;
    let value = source
        .value
        .scalar_text()
        .ok_or_else(|| RowProblem::NotScalar {
            key: key.to_owned(),
            found: source.value.json_type(),
        })?;
    // Before any other check, so no message ever quotes an oversized value.
    if value.len() > params.max_value_length {
        return Err(RowProblem::TooLong {
            key: key.to_owned(),
            length: value.len(),
            limit: params.max_value_length,
        });
    }
    match field.kind {
        Kind::Text => text.push_str(&value),
        Kind::Lowercase => text.extend(value.chars().flat_map(char::to_lowercase)),
        Kind::Email { .. } | Kind::Date(_) if value.is_empty() => {}
        Kind::Email { lowercase } => {
            email::check(&value).map_err(|reason| RowProblem::BadEmail {
                key: key.to_owned(),
                value: shown(&value).into_owned(),
                reason,
            })?;
            match lowercase {
                true => text.extend(value.chars().flat_map(char::to_lowercase)),
                false => text.push_str(&value),
            }
        }
        Kind::Date(slot) => {
            let date = params
                .date_format
                .parse(&value)
                .ok_or_else(|| RowProblem::BadDate {
                    key: key.to_owned(),
                    value: shown(&value).into_owned(),
                    format: params.date_format.as_str().to_owned(),
                })?;
            dates.set(slot, date);
            push_profile_date(text, date);
        }
    }
    Ok(())
}

fn compile(entry: FieldEntry) -> Result<Field, String> {
    let to = entry.to;
    if to.is_empty()
        || !to
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(format!(
            "field {to:?}: profile fields are cli names, lower-case letters and digits (e.g. employeeid)"
        ));
    }
    if RESERVED.contains(&to.as_str()) {
        return Err(format!(
            "field {to:?} is set by the runtime or the playbooks, not by the report"
        ));
    }
    let from = match entry.from {
        Sources::One(key) => vec![key],
        Sources::Many(keys) => keys,
    };
    if from.is_empty() || from.iter().any(String::is_empty) {
        return Err(format!(
            "field {to:?}: `from` needs at least one report key, none empty"
        ));
    }
    let slot = match to.as_str() {
        field::HIRE_DATE => Some(DateSlot::Hire),
        field::TERMINATION_DATE => Some(DateSlot::Termination),
        field::LAST_DAY_OF_WORK => Some(DateSlot::LastDayOfWork),
        _ => None,
    };
    // The email is the profile's key and the classifier compares dates: both transforms are
    // built in, so an edit to the map cannot turn them off.
    let kind = match (to.as_str(), slot, entry.transform) {
        (field::EMAIL, _, None | Some(Transform::Lowercase | Transform::Email)) => {
            Kind::Email { lowercase: true }
        }
        (field::EMAIL, _, Some(_)) => {
            return Err(format!(
                "field {to:?} is always a lower-cased email address; drop its transform"
            ))
        }
        (_, Some(slot), None | Some(Transform::Date)) => Kind::Date(Some(slot)),
        (_, Some(_), Some(_)) => {
            return Err(format!("field {to:?} is always a date; drop its transform"))
        }
        (_, None, None) => Kind::Text,
        (_, None, Some(Transform::Lowercase)) => Kind::Lowercase,
        (_, None, Some(Transform::Date)) => Kind::Date(None),
        (_, None, Some(Transform::Email)) => Kind::Email { lowercase: false },
    };
    let deciding = DECIDING.contains(&to.as_str());
    Ok(Field {
        to,
        from,
        kind,
        deciding,
    })
}

fn not_an_object(found: &'static str) -> RowError {
    RowError {
        employee_id: None,
        email: None,
        problem: RowProblem::NotAnObject { found },
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Dates {
    hire: Option<NaiveDate>,
    termination: Option<NaiveDate>,
    last_day_of_work: Option<NaiveDate>,
}

impl Dates {
    fn set(&mut self, slot: Option<DateSlot>, date: NaiveDate) {
        match slot {
            Some(DateSlot::Hire) => self.hire = Some(date),
            Some(DateSlot::Termination) => self.termination = Some(date),
            Some(DateSlot::LastDayOfWork) => self.last_day_of_work = Some(date),
            None => {}
        }
    }
}

/// A report row after normalization.
#[derive(Debug, Clone)]
pub struct NormalizedRow {
    raw: Raw,
    fields: Arc<Fields>,
    /// The values back to back; `spans[i]` locates map field i (`None`: the row lacks it).
    text: String,
    spans: Vec<Option<Range<usize>>>,
    source_priority: i64,
    dates: Dates,
    /// Values left out because they could not be used.
    warnings: Vec<RowProblem>,
}

impl NormalizedRow {
    /// The values this row left out (optional columns only), each with its reason.
    pub fn warnings(&self) -> impl Iterator<Item = RowWarning<'_>> {
        self.warnings.iter().map(|problem| RowWarning {
            problem,
            employee_id: self.employee_id(),
            email: self.email(),
        })
    }

    /// The report row as read; events carry it (plus `UserProfile`) as their rawJSON.
    pub fn raw(&self) -> Map<String, Value> {
        match &self.raw {
            Raw::Object(raw) => raw.clone(),
            // The stream checked the text is JSON before handing it on.
            Raw::Text(text) => serde_json::from_str(text).unwrap_or_default(),
        }
    }

    /// The profile fields the row gives, in map order, without the runtime's own
    /// (`sourcepriority`, `sourceoftruth`).
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields
            .list
            .iter()
            .zip(&self.spans)
            .filter_map(|(field, span)| Some((field.to.as_str(), &self.text[span.clone()?])))
    }

    /// The row's value for a profile field, `None` when the report lacks it.
    pub fn get(&self, name: &str) -> Option<&str> {
        let span = self.spans[*self.fields.position.get(name)?].clone()?;
        Some(&self.text[span])
    }

    /// The row's text for a profile field ("" when the report lacks it).
    pub fn text(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    pub fn email(&self) -> &str {
        self.text(field::EMAIL)
    }

    pub fn employee_id(&self) -> &str {
        self.text(field::EMPLOYEE_ID)
    }

    pub fn display_name(&self) -> &str {
        self.text(field::DISPLAY_NAME)
    }

    pub fn hire_date(&self) -> Option<NaiveDate> {
        self.dates.hire
    }

    /// The date of the configured deactivation field.
    pub fn deactivation_date(&self, field: DeactivationField) -> Option<NaiveDate> {
        match field {
            DeactivationField::LastDayOfWork => self.dates.last_day_of_work,
            DeactivationField::TerminationDate => self.dates.termination,
        }
    }

    /// The user profile Workday gives: the row's fields, then `sourcepriority` and
    /// `sourceoftruth`.
    pub fn profile(&self) -> Profile {
        self.profile_entries(None)
            .map(|(name, value)| (name.to_owned(), value.into()))
            .collect()
    }

    /// [`NormalizedRow::profile`] with `extra` (a field the runtime sets) added, as JSON
    /// text, written without building the map: a first-run sync makes one for every row of
    /// the report.
    pub fn profile_json(&self, extra: Option<(&str, &str)>) -> String {
        let mut out = Vec::with_capacity(2 * self.text.len() + 16 * self.spans.len());
        let mut json = serde_json::Serializer::new(&mut out);
        let mut map = json
            .serialize_map(None)
            .expect("writing JSON to memory cannot fail");
        for (name, value) in self.profile_entries(extra) {
            map.serialize_entry(name, &value)
                .expect("writing JSON to memory cannot fail");
        }
        SerializeMap::end(map).expect("writing JSON to memory cannot fail");
        // Held until the whole report is read: no room to spare.
        out.shrink_to_fit();
        // serde_json writes valid UTF-8.
        String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into())
    }

    /// The profile's fields in order: the row's, then `sourcepriority`, `sourceoftruth`
    /// and `extra`. None of these names can come from the report (the map refuses them),
    /// so none repeats.
    fn profile_entries<'s>(
        &'s self,
        extra: Option<(&'s str, &'s str)>,
    ) -> impl Iterator<Item = (&'s str, ProfileValue<'s>)> {
        let set = [
            Some((
                field::SOURCE_PRIORITY,
                ProfileValue::Number(self.source_priority),
            )),
            Some((field::SOURCE_OF_TRUTH, ProfileValue::Text(SOURCE_OF_TRUTH))),
            extra.map(|(name, value)| (name, ProfileValue::Text(value))),
        ];
        self.fields()
            .map(|(name, value)| (name, ProfileValue::Text(value)))
            .chain(set.into_iter().flatten())
    }
}

/// A profile value as a row gives it.
#[derive(Debug, Clone, Copy)]
enum ProfileValue<'s> {
    Text(&'s str),
    Number(i64),
}

impl From<ProfileValue<'_>> for Value {
    fn from(value: ProfileValue<'_>) -> Self {
        match value {
            ProfileValue::Text(text) => Value::String(text.to_owned()),
            ProfileValue::Number(number) => number.into(),
        }
    }
}

impl serde::Serialize for ProfileValue<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ProfileValue::Text(text) => serializer.serialize_str(text),
            ProfileValue::Number(number) => serializer.serialize_i64(*number),
        }
    }
}

/// A report row that could not be normalized; it is skipped and counted, and the rest of
/// the report goes on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct RowError {
    /// The row's employee id, when it could be read.
    pub employee_id: Option<String>,
    /// The row's email (lower-cased), when it could be read.
    pub email: Option<String>,
    pub problem: RowProblem,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.problem)?;
        match (&self.employee_id, &self.email) {
            (Some(id), Some(email)) => write!(f, " (employee {}, {})", shown(id), shown(email)),
            (Some(id), None) => write!(f, " (employee {})", shown(id)),
            (None, Some(email)) => write!(f, " ({})", shown(email)),
            (None, None) => Ok(()),
        }
    }
}

/// A value a row left out: the row itself was used.
#[derive(Debug, Clone, Copy)]
pub struct RowWarning<'r> {
    pub problem: &'r RowProblem,
    pub employee_id: &'r str,
    pub email: &'r str,
}

impl fmt::Display for RowWarning<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}; left out of the profile (employee {}, {})",
            self.problem,
            shown(self.employee_id),
            shown(self.email)
        )
    }
}

/// How much of a report value a message quotes.
const SHOWN_CHARS: usize = 80;

/// A report value for a message, cut short: a skipped row's reason names its value, not
/// a kilobyte of it.
fn shown(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(SHOWN_CHARS) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!("{}…", &value[..end])),
    }
}

/// Why a row, or one of its values, could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("the row is {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("the row is {bytes} bytes long, more than max_row_bytes ({limit})")]
    RowTooLong { bytes: u64, limit: usize },
    #[error("{key} is {found}; expected text, a number or a boolean")]
    NotScalar { key: String, found: &'static str },
    #[error("{key} is {length} bytes long, more than max_value_length ({limit})")]
    TooLong {
        key: String,
        length: usize,
        limit: usize,
    },
    #[error("{key} {value:?} is not an email address: {reason}")]
    BadEmail {
        key: String,
        value: String,
        reason: &'static str,
    },
    #[error("{key} {value:?} is not a date in the format {format} (workday_date_format)")]
    BadDate {
        key: String,
        value: String,
        format: String,
    },
}
