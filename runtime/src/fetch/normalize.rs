//! The incoming field map (spec §9.1) and row normalization (§5.3).
//!
//! The map is data the admin edits without a rebuild (`playbooks/mappers/workday-incoming.toml`):
//! report key(s) → profile field, with an optional transform. It is declarative rather
//! than a script so a 100,000-row report normalizes in well under a second. Normalizing a
//! row gives its profile fields in map order, dates as `MM/DD/YYYY`, the email lower-cased
//! and every value as canonical text, then `sourcepriority` and `sourceoftruth`.

use super::dates::profile_date;
use super::params::DeactivationField;
use super::{field, values, Profile, WorkdayParams, SOURCE_OF_TRUTH};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

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
}

impl Field {
    /// The first source key with a value; a key present only as `null` counts as empty.
    fn source<'r>(&self, row: &'r Map<String, Value>) -> Option<(&str, &'r Value)> {
        let mut null = None;
        for key in &self.from {
            match row.get(key) {
                Some(value @ Value::Null) => null = null.or(Some((key.as_str(), value))),
                Some(value) => return Some((key, value)),
                None => {}
            }
        }
        null
    }
}

/// The compiled incoming map.
#[derive(Debug, Clone)]
pub struct IncomingMap {
    fields: Vec<Field>,
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
        let mut seen = HashSet::new();
        let mut fields = Vec::with_capacity(file.fields.len());
        for entry in file.fields {
            let field = compile(entry).map_err(&error)?;
            if !seen.insert(field.to.clone()) {
                return Err(error(format!("field {:?} is mapped twice", field.to)));
            }
            fields.push(field);
        }
        if let Some(missing) = REQUIRED.iter().find(|name| !seen.contains(**name)) {
            return Err(error(format!(
                "no field maps to {missing:?}; email, employeeid and hiredate identify a row"
            )));
        }
        Ok(Self { fields })
    }

    /// Normalizes one report row (spec §5.3). Rows that cannot be read (not an object, a
    /// value that is not a scalar, a date not in the configured format) are errors naming
    /// the row's employee id and email when those could be read.
    pub fn normalize(&self, row: Value, params: &WorkdayParams) -> Result<NormalizedRow, RowError> {
        let raw = match row {
            Value::Object(raw) => raw,
            other => {
                return Err(RowError {
                    employee_id: None,
                    email: None,
                    problem: RowProblem::NotAnObject {
                        found: json_type(&other),
                    },
                })
            }
        };
        let mut profile = Map::with_capacity(self.fields.len() + 2);
        let mut dates = Dates::default();
        for field in &self.fields {
            let Some((key, value)) = field.source(&raw) else {
                continue;
            };
            let text = scalar_text(value).ok_or_else(|| {
                self.error(
                    &raw,
                    RowProblem::NotScalar {
                        key: key.to_owned(),
                        found: json_type(value),
                    },
                )
            })?;
            let text = match field.kind {
                Kind::Text => text.into_owned(),
                Kind::Lowercase => text.to_lowercase(),
                Kind::Date(_) if text.is_empty() => String::new(),
                Kind::Date(slot) => {
                    let date = params.date_format.parse(&text).ok_or_else(|| {
                        self.error(
                            &raw,
                            RowProblem::BadDate {
                                key: key.to_owned(),
                                value: text.to_string(),
                                format: params.date_format.as_str().to_owned(),
                            },
                        )
                    })?;
                    dates.set(slot, date);
                    profile_date(date)
                }
            };
            profile.insert(field.to.clone(), Value::String(text));
        }
        profile.insert(field::SOURCE_PRIORITY.into(), params.source_priority.into());
        profile.insert(field::SOURCE_OF_TRUTH.into(), SOURCE_OF_TRUTH.into());
        Ok(NormalizedRow {
            raw,
            profile,
            dates,
        })
    }

    /// A row error, with the row's identity read as leniently as possible: the state
    /// machine still matches the row to its stored profile so it is never taken for an orphan.
    fn error(&self, raw: &Map<String, Value>, problem: RowProblem) -> RowError {
        let identity = |name: &str| {
            let field = self.fields.iter().find(|f| f.to == name)?;
            let (_, value) = field.source(raw)?;
            let text = values::text(Some(value));
            (!text.is_empty()).then(|| text.into_owned())
        };
        RowError {
            employee_id: identity(field::EMPLOYEE_ID),
            email: identity(field::EMAIL).map(|email| email.to_lowercase()),
            problem,
        }
    }
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
        (field::EMAIL, _, None | Some(Transform::Lowercase)) => Kind::Lowercase,
        (field::EMAIL, _, Some(_)) => {
            return Err(format!(
                "field {to:?} is always lower-cased; drop its transform"
            ))
        }
        (_, Some(slot), None | Some(Transform::Date)) => Kind::Date(Some(slot)),
        (_, Some(_), Some(_)) => {
            return Err(format!("field {to:?} is always a date; drop its transform"))
        }
        (_, None, None) => Kind::Text,
        (_, None, Some(Transform::Lowercase)) => Kind::Lowercase,
        (_, None, Some(Transform::Date)) => Kind::Date(None),
    };
    Ok(Field { to, from, kind })
}

/// The canonical text of a scalar report value; `None` for objects and arrays.
fn scalar_text(value: &Value) -> Option<Cow<'_, str>> {
    (!value.is_object() && !value.is_array()).then(|| values::text(Some(value)))
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
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
#[derive(Debug, Clone, PartialEq)]
pub struct NormalizedRow {
    raw: Map<String, Value>,
    profile: Profile,
    dates: Dates,
}

impl NormalizedRow {
    /// The report row as read; events carry it (plus `UserProfile`) as their rawJSON.
    pub fn raw(&self) -> &Map<String, Value> {
        &self.raw
    }

    /// The profile fields Workday gives for this row.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The profile fields, without the rest of the row.
    pub fn into_profile(self) -> Profile {
        self.profile
    }

    /// The row's text for a profile field ("" when the report lacks it).
    pub fn text(&self, name: &str) -> &str {
        self.profile.get(name).and_then(Value::as_str).unwrap_or("")
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

    /// The date of the configured deactivation field (`DD` in spec §5.8).
    pub fn deactivation_date(&self, field: DeactivationField) -> Option<NaiveDate> {
        match field {
            DeactivationField::LastDayOfWork => self.dates.last_day_of_work,
            DeactivationField::TerminationDate => self.dates.termination,
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
            (Some(id), Some(email)) => write!(f, " (employee {id}, {email})"),
            (Some(id), None) => write!(f, " (employee {id})"),
            (None, Some(email)) => write!(f, " ({email})"),
            (None, None) => Ok(()),
        }
    }
}

/// Why a row could not be normalized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RowProblem {
    #[error("the row is {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("{key} is {found}; expected text, a number or a boolean")]
    NotScalar { key: String, found: &'static str },
    #[error("{key} {value:?} is not a date in the format {format} (workday_date_format)")]
    BadDate {
        key: String,
        value: String,
        format: String,
    },
}
