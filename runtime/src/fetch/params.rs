//! The Workday instance parameters that shape classification, read from the
//! instance's JSON parameters. Fetch-only parameters (report URL, `max_fetch`, first run,
//! samples) belong to the fetch state machine.

use super::{field, values, DateFormat};
use chrono::NaiveDate;
use serde_json::{Map, Value};

/// Which report date means "deactivated" (`deactivation_date_field`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeactivationField {
    #[default]
    LastDayOfWork,
    TerminationDate,
}

impl DeactivationField {
    /// The profile field holding the date.
    pub fn field(self) -> &'static str {
        match self {
            Self::LastDayOfWork => field::LAST_DAY_OF_WORK,
            Self::TerminationDate => field::TERMINATION_DATE,
        }
    }

    /// Accepts the profile field or any spelling of it: `Last_Day_of_Work`,
    /// `Termination Date` (lower-cased, separators dropped, as the Workday integration does).
    fn parse(text: &str) -> Option<Self> {
        let key: String = text
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        [Self::LastDayOfWork, Self::TerminationDate]
            .into_iter()
            .find(|f| f.field() == key)
    }
}

/// A parameter that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("Workday parameter {name}: {problem}")]
pub struct ParamError {
    pub name: &'static str,
    pub problem: String,
}

/// Classification parameters; [`Default`] gives the spec's defaults.
#[derive(Debug, Clone)]
pub struct WorkdayParams {
    /// `workday_date_format`: how the report writes dates.
    pub date_format: DateFormat,
    /// `deactivation_date_field` (the spec has no default; last day of work is the usual one).
    pub deactivation_date_field: DeactivationField,
    /// `days_before_hire_to_sync`: `None` syncs hires at once, `0` on the hire date.
    pub days_before_hire_to_sync: Option<i64>,
    /// `days_before_hire_to_enable_ad`: `None` enables AD at once.
    pub days_before_hire_to_enable_ad: Option<i64>,
    /// `source_priority`: lower numbers win; profiles of a higher-priority source are left alone.
    pub source_priority: i64,
    /// `max_value_length`: the longest report value (in bytes) the fetch accepts.
    pub max_value_length: usize,
}

/// Generous for any HR value (names, titles, addresses), small enough that a value cannot
/// bloat profiles, incidents, mails or directory attributes.
pub const DEFAULT_MAX_VALUE_LENGTH: usize = 1024;

impl Default for WorkdayParams {
    fn default() -> Self {
        Self {
            date_format: DateFormat::default(),
            deactivation_date_field: DeactivationField::default(),
            days_before_hire_to_sync: None,
            days_before_hire_to_enable_ad: None,
            source_priority: 1,
            max_value_length: DEFAULT_MAX_VALUE_LENGTH,
        }
    }
}

impl WorkdayParams {
    /// Reads the parameters from an instance's parameters, by their spec names. Missing,
    /// null or blank values take the defaults; numbers may be JSON numbers or text, since
    /// admins type them.
    pub fn from_instance(params: &Map<String, Value>) -> Result<Self, ParamError> {
        let mut out = Self::default();
        if let Some(spec) = given(params, "workday_date_format") {
            out.date_format = DateFormat::new(&spec).map_err(|problem| ParamError {
                name: "workday_date_format",
                problem,
            })?;
        }
        if let Some(text) = given(params, "deactivation_date_field") {
            out.deactivation_date_field =
                DeactivationField::parse(&text).ok_or_else(|| ParamError {
                    name: "deactivation_date_field",
                    problem: format!("{text:?} is neither lastdayofwork nor terminationdate"),
                })?;
        }
        out.days_before_hire_to_sync = days(params, "days_before_hire_to_sync")?;
        out.days_before_hire_to_enable_ad = days(params, "days_before_hire_to_enable_ad")?;
        if let Some(text) = given(params, "source_priority") {
            out.source_priority = match text.parse::<i64>() {
                Ok(priority) if priority >= 1 => priority,
                _ => {
                    return Err(ParamError {
                        name: "source_priority",
                        problem: format!("{text:?} is not a whole number of 1 or more"),
                    })
                }
            };
        }
        if let Some(limit) = whole_number(params, "max_value_length", "bytes")? {
            out.max_value_length = limit as usize;
        }
        Ok(out)
    }

    /// Whether a hire on `hire` is close enough to sync (`days_before_hire_to_sync`).
    pub fn sync_reached(&self, hire: NaiveDate, today: NaiveDate) -> bool {
        reached(self.days_before_hire_to_sync, hire, today)
    }

    /// Whether a hire on `hire` is close enough to enable AD (`days_before_hire_to_enable_ad`).
    pub fn ad_reached(&self, hire: NaiveDate, today: NaiveDate) -> bool {
        reached(self.days_before_hire_to_enable_ad, hire, today)
    }
}

/// `reached(N)`: no limit, or the hire date is at most N days away (past hire
/// dates always are).
fn reached(limit: Option<i64>, hire: NaiveDate, today: NaiveDate) -> bool {
    limit.is_none_or(|days| (hire - today).num_days() <= days)
}

/// The parameter's canonical text, `None` when missing or blank.
fn given(params: &Map<String, Value>, name: &str) -> Option<String> {
    let text = values::text(params.get(name));
    (!text.is_empty()).then(|| text.into_owned())
}

/// A size parameter: a whole number of `unit`, 1 or more; `None` when not given.
pub(super) fn whole_number(
    params: &Map<String, Value>,
    name: &'static str,
    unit: &str,
) -> Result<Option<u64>, ParamError> {
    given(params, name)
        .map(|text| match text.parse::<u64>() {
            Ok(limit) if limit >= 1 => Ok(limit),
            _ => Err(ParamError {
                name,
                problem: format!("{text:?} is not a whole number of {unit}, 1 or more"),
            }),
        })
        .transpose()
}

fn days(params: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, ParamError> {
    given(params, name)
        .map(|text| {
            text.parse::<i64>().map_err(|_| ParamError {
                name,
                problem: format!(
                    "{text:?} is not a whole number of days (leave it empty for no limit)"
                ),
            })
        })
        .transpose()
}
