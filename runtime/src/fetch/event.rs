//! The incident a Workday fetch creates: name = the user's email, type,
//! details, and rawJSON = the report row plus `UserProfile`.

use super::Profile;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::fmt;

/// The incident types a Workday fetch creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum IncidentType {
    #[serde(rename = "IAM - New Hire")]
    NewHire,
    #[serde(rename = "IAM - AD User Activation")]
    AdUserActivation,
    #[serde(rename = "IAM - AD User Deactivation")]
    AdUserDeactivation,
    #[serde(rename = "IAM - Rehire User")]
    RehireUser,
    #[serde(rename = "IAM - Terminate User")]
    TerminateUser,
    #[serde(rename = "IAM - Update User")]
    UpdateUser,
    #[serde(rename = "IAM - Sync User")]
    SyncUser,
}

impl IncidentType {
    /// The type's name, as incidents and playbooks spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::NewHire => "IAM - New Hire",
            Self::AdUserActivation => "IAM - AD User Activation",
            Self::AdUserDeactivation => "IAM - AD User Deactivation",
            Self::RehireUser => "IAM - Rehire User",
            Self::TerminateUser => "IAM - Terminate User",
            Self::UpdateUser => "IAM - Update User",
            Self::SyncUser => "IAM - Sync User",
        }
    }
}

impl fmt::Display for IncidentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One incident to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The user's email.
    pub name: String,
    #[serde(rename = "type")]
    pub incident_type: IncidentType,
    pub details: String,
    /// The report row plus `UserProfile` (the profile the playbooks act on).
    #[serde(rename = "rawJSON")]
    pub raw_json: Map<String, Value>,
    /// The profile fields that differ from the stored profile, for plans and summaries.
    pub changed_fields: Vec<String>,
}

impl Event {
    /// The rawJSON key of the user profile (mapped to the incident's `userprofile`).
    pub const USER_PROFILE: &'static str = "UserProfile";

    pub(crate) fn new(
        incident_type: IncidentType,
        details: String,
        mut raw_json: Map<String, Value>,
        user_profile: Profile,
        changed_fields: Vec<String>,
    ) -> Self {
        let name = super::values::field(&user_profile, super::field::EMAIL).into_owned();
        raw_json.insert(Self::USER_PROFILE.into(), Value::Object(user_profile));
        Self {
            name,
            incident_type,
            details,
            raw_json,
            changed_fields,
        }
    }

    /// The user profile the incident carries.
    pub fn user_profile(&self) -> Option<&Profile> {
        self.raw_json
            .get(Self::USER_PROFILE)
            .and_then(Value::as_object)
    }
}
