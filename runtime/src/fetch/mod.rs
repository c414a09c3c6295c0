//! Workday report classification, with no I/O: the incoming field map,
//! row normalization, the pure classifier (row + stored profile → incident event or a drop
//! with its reason), first-run selection and orphan detection. The fetch state machine reads
//! the report and the store and calls these, so a dry-run plan and a real fetch agree.
//!
//! Per report: [`IncomingMap::normalize`] each row, [`ProfileIndex::find`] its stored
//! profile (held compact, [`StoredProfile`]), [`classify`] it; record every matched profile
//! in [`ReportMatches`] (malformed
//! rows too, by the identity in their [`RowError`]) and finish with [`orphan_events`]; the
//! fetch stops for approval when [`RemovalGuard`] finds it would terminate or orphan too
//! many people.

mod classify;
mod compact_threads;
mod dates;
mod email;
mod event;
mod first_run;
pub mod generate;
mod index;
mod machine;
mod normalize;
mod orphans;
mod params;
mod removal_guard;
mod report;
mod row_json;
mod stored;
mod stream;
mod text_index;
mod values;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use classify::{classify, Decision, DropReason};
pub use dates::DateFormat;
pub use event::{Event, IncidentType};
pub use first_run::{first_run_profiles, FirstRun};
pub use index::{LoadProfile, ProfileIndex};
pub use machine::{
    incident_fields, plan, Fetch, FetchState, FetchSummary, OnPlanned, Plan, Planner, ReadReport,
    ReadRow,
};
pub use normalize::{IncomingMap, MapError, NormalizedRow, RowError, RowProblem, RowWarning};
pub use orphans::{known_people, orphan_events, ReportMatches};
pub use params::{DeactivationField, ParamError, WorkdayParams, DEFAULT_MAX_VALUE_LENGTH};
pub use removal_guard::{RemovalGuard, RemovalHold, Removals, DEFAULT_MAX_REMOVAL_PERCENT};
pub use stored::StoredProfile;
pub use stream::{read_rows, NotJson, PrepareRow, RawRow, ReadError, ReportLimits};
pub use values::json_type;

/// How many threads to share CPU-bound work between: one per core, from 1 to `max`.
fn threads_up_to(max: usize) -> usize {
    std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, max)
}

/// A user profile: its fields by cli name.
pub type Profile = serde_json::Map<String, serde_json::Value>;

/// Profile field names (cli names) the classifier reads or writes.
mod field {
    pub const EMAIL: &str = "email";
    pub const USERNAME: &str = "username";
    pub const EMPLOYEE_ID: &str = "employeeid";
    pub const DISPLAY_NAME: &str = "displayname";
    pub const EMPLOYMENT_STATUS: &str = "employmentstatus";
    pub const PREHIRE_FLAG: &str = "prehireflag";
    pub const REHIRED_EMPLOYEE: &str = "rehiredemployee";
    pub const HIRE_DATE: &str = "hiredate";
    pub const TERMINATION_DATE: &str = "terminationdate";
    pub const LAST_DAY_OF_WORK: &str = "lastdayofwork";
    pub const AD_ACCOUNT_STATUS: &str = "adaccountstatus";
    pub const IS_PROCESSED: &str = "isprocessed";
    pub const SOURCE_PRIORITY: &str = "sourcepriority";
    pub const SOURCE_OF_TRUTH: &str = "sourceoftruth";
    pub const CONVERSION_HIRE: &str = "conversionhire";
    pub const TERMINATION_TRIGGER: &str = "terminationtrigger";
    pub const OLD_USER_DATA: &str = "olduserdata";
    pub const MERGED_USER_PROFILE: &str = "mergeduserprofile";
}

/// The `sourceoftruth` of every profile this integration writes.
pub const SOURCE_OF_TRUTH: &str = "Workday IAM";
