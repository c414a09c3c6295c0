//! The incident a Workday fetch creates: name = the user's email, type,
//! details, and rawJSON = the report row plus `UserProfile`.

use super::Profile;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
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
    raw_json: RawJson,
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
            raw_json: RawJson::new(&raw_json),
            changed_fields,
        }
    }

    /// The report row plus `UserProfile`.
    pub fn raw_json(&self) -> Map<String, Value> {
        self.raw_json.object()
    }

    /// The user profile the incident carries.
    pub fn user_profile(&self) -> Option<Profile> {
        match self.raw_json().remove(Self::USER_PROFILE) {
            Some(Value::Object(profile)) => Some(profile),
            _ => None,
        }
    }
}

/// A JSON object kept as its text: a fetch holds every event it plans (thousands on a
/// large report, each with a row and one to three profiles), and as text an event takes a
/// fraction of the memory of a parsed map.
#[derive(Debug, Clone)]
struct RawJson(Box<RawValue>);

impl RawJson {
    fn new(object: &Map<String, Value>) -> Self {
        // A map of JSON values always serializes.
        let text = serde_json::to_string(object).unwrap_or_else(|_| "{}".to_owned());
        Self(RawValue::from_string(text).unwrap_or_else(|_| empty()))
    }

    fn object(&self) -> Map<String, Value> {
        // The text is what `new` or the deserializer made of an object.
        serde_json::from_str(self.0.get()).unwrap_or_default()
    }
}

fn empty() -> Box<RawValue> {
    RawValue::from_string("{}".to_owned()).expect("an empty object is JSON")
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RawJson {
    /// From any deserializer, a stored fetch state's parsed value included.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::Object(object) => Ok(Self::new(&object)),
            other => Err(serde::de::Error::custom(format!(
                "rawJSON is {}, not an object",
                super::values::json_type(&other)
            ))),
        }
    }
}
