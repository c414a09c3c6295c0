//! Integration instances (a configured plugin) and their integration context.

use super::Store;
use anyhow::{Context, Result};
use rusqlite::{params, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A configured integration instance as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Instance {
    pub name: String,
    pub plugin: String,
    /// Non-secret parameters.
    pub params: Map<String, Value>,
    /// Secret parameters; only the host's capabilities read them.
    #[serde(skip_serializing)]
    pub secrets: Map<String, Value>,
    /// Allow-list entries added by the administrator on top of the manifest's hosts.
    pub allow_hosts: Vec<String>,
    /// Per-instance sandbox limits (`deadline_ms`, `memory_mib`); absent keys use defaults.
    pub limits: Map<String, Value>,
    pub enabled: bool,
}

/// What `instance list` shows: an instance without its secrets.
#[derive(Debug, Clone, Serialize)]
pub struct InstanceRecord {
    pub name: String,
    pub plugin: String,
    pub enabled: bool,
    pub created_at: String,
}

impl Store {
    /// Adds a new instance; fails if the name is taken.
    pub fn add_instance(&self, instance: &Instance) -> Result<()> {
        self.conn()
            .execute(
                "INSERT INTO instances (name, plugin, params, secrets, allow_hosts, limits, enabled)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    instance.name,
                    instance.plugin,
                    Value::Object(instance.params.clone()).to_string(),
                    Value::Object(instance.secrets.clone()).to_string(),
                    serde_json::to_string(&instance.allow_hosts)?,
                    Value::Object(instance.limits.clone()).to_string(),
                    instance.enabled,
                ],
            )
            .map_err(|e| match e {
                rusqlite::Error::SqliteFailure(f, _)
                    if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    anyhow::anyhow!("an instance named {:?} already exists", instance.name)
                }
                other => anyhow::Error::new(other).context("saving the instance"),
            })?;
        Ok(())
    }

    /// The instance named `name`, if any.
    pub fn instance(&self, name: &str) -> Result<Option<Instance>> {
        self.conn()
            .query_row(
                "SELECT name, plugin, params, secrets, allow_hosts, limits, enabled
                 FROM instances WHERE name = ?1",
                [name],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, String>(5)?,
                        row.get::<_, bool>(6)?,
                    ))
                },
            )
            .optional()?
            .map(|(name, plugin, params, secrets, allow, limits, enabled)| {
                Ok(Instance {
                    params: json_object(&params).context("instance parameters")?,
                    secrets: json_object(&secrets).context("instance secrets")?,
                    allow_hosts: serde_json::from_str(&allow).context("instance allow-list")?,
                    limits: json_object(&limits).context("instance limits")?,
                    name,
                    plugin,
                    enabled,
                })
            })
            .transpose()
    }

    /// Every instance, by name.
    pub fn instances(&self) -> Result<Vec<InstanceRecord>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT name, plugin, enabled, created_at FROM instances ORDER BY name")?;
        let rows = stmt.query_map([], |row| {
            Ok(InstanceRecord {
                name: row.get(0)?,
                plugin: row.get(1)?,
                enabled: row.get(2)?,
                created_at: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Removes an instance and its context; false when there was none.
    pub fn remove_instance(&self, name: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM instances WHERE name = ?1", [name])?
            > 0)
    }

    /// The instance's integration context ("{}" when never set).
    pub fn integration_context(&self, instance: &str) -> Result<String> {
        Ok(self
            .conn()
            .query_row(
                "SELECT json FROM integration_context WHERE instance = ?1",
                [instance],
                |row| row.get(0),
            )
            .optional()?
            .unwrap_or_else(|| "{}".to_owned()))
    }

    /// Replaces the instance's integration context.
    pub fn set_integration_context(&self, instance: &str, json: &str) -> Result<()> {
        self.conn().execute(
            "INSERT INTO integration_context (instance, json) VALUES (?1, ?2)
             ON CONFLICT(instance) DO UPDATE SET json = excluded.json",
            params![instance, json],
        )?;
        Ok(())
    }
}

fn json_object(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str(text)? {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("expected a JSON object"),
    }
}
