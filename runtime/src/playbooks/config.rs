//! `playbooks/config.toml`: which playbook runs each incident type, and the playbook inputs
//! (notification addresses, password policy, limits) an administrator sets without editing
//! a script, the budget of a run (`[limits]`), and where people reach the web console
//! (`[console]`).

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
    #[serde(default)]
    pub console: ConsoleConfig,
}

/// `[console]`: where people reach the web console that `ilm serve` serves.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Its public base URL (`https://ilm.example.com`); mails that ask a question link to
    /// its Approvals page. Without it they carry no link.
    pub url: Option<String>,
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
        let config: Self =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        if let Some(given) = &config.console.url {
            let web = url::Url::parse(given)
                .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
            anyhow::ensure!(
                web,
                "[console] url in {} must be the console's address, like \
                 \"https://ilm.example.com\", not {given:?}",
                path.display()
            );
        }
        Ok(config)
    }

    /// Where incident `id`'s question is answered in the console, when its URL is set.
    pub fn approval_link(&self, id: i64) -> Option<String> {
        let base = self.console.url.as_deref()?.trim_end_matches('/');
        Some(format!("{base}/console/approvals#incident-{id}"))
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
