//! `playbooks/config.toml`: which playbook runs each incident type, and the playbook inputs
//! (notification addresses, password policy, limits) an administrator sets without editing
//! a script, and the budget of a run (`[limits]`).

use super::budget::Limits;
use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaybookConfig {
    /// Incident type → playbook (a script name in the playbooks folder).
    #[serde(default)]
    pub types: BTreeMap<String, String>,
    /// Inputs every playbook sees as `inputs`.
    #[serde(default)]
    pub inputs: Map<String, Value>,
    /// The budget of each playbook run.
    #[serde(default)]
    pub limits: Limits,
}

impl PlaybookConfig {
    /// Reads `<dir>/config.toml`; a missing file is an empty configuration.
    pub fn load(dir: &Path) -> Result<Self> {
        let path = dir.join("config.toml");
        if !path.exists() {
            return Ok(Self::default());
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))
    }

    /// The playbook for an incident type.
    pub fn playbook_for(&self, incident_type: &str) -> Result<&str> {
        self.types.get(incident_type).map(String::as_str).with_context(|| {
            format!(
                "no playbook for incident type {incident_type:?}; map it under [types] in playbooks/config.toml (known: {})",
                self.types.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })
    }
}
