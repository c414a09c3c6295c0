//! Integration instances (a configured plugin) and their integration context. A secret
//! parameter is stored sealed, bound to its instance and name, or as a reference (`env:`,
//! `file:`) that the host reads at each call; it is never in the file in clear.

use super::db::{params, OptionalExtension};
use super::seal::Cipher;
use super::Store;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A configured integration instance as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Instance {
    pub name: String,
    pub plugin: String,
    /// Non-secret parameters.
    pub params: Map<String, Value>,
    /// Secret parameters; only the host's capabilities read them.
    #[serde(skip_serializing)]
    pub secrets: BTreeMap<String, Secret>,
    /// Allow-list entries added by the administrator on top of the manifest's hosts.
    pub allow_hosts: Vec<String>,
    /// Per-instance sandbox limits (`deadline_ms`, `memory_mib`); absent keys use defaults.
    pub limits: Map<String, Value>,
    pub enabled: bool,
}

#[cfg(test)]
impl Instance {
    /// An enabled instance of `plugin` with nothing configured, for tests.
    pub fn bare(name: &str, plugin: &str) -> Self {
        Self {
            name: name.into(),
            plugin: plugin.into(),
            params: Map::new(),
            secrets: BTreeMap::new(),
            allow_hosts: vec![],
            limits: Map::new(),
            enabled: true,
        }
    }
}

/// A secret parameter as an instance holds it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Secret {
    /// The value itself (sealed in the store).
    Value(Value),
    /// The value of this environment variable, read at each call.
    Env(String),
    /// The content of this file, read at each call.
    File(PathBuf),
}

impl Secret {
    /// A literal text value.
    pub fn text(value: &str) -> Self {
        Secret::Value(Value::from(value))
    }
}

/// Shows a reference but never a value.
impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Secret::Value(_) => f.write_str("<secret, set>"),
            Secret::Env(name) => write!(f, "env:{name}"),
            Secret::File(path) => write!(f, "file:{}", path.display()),
        }
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
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
                    self.stored_secrets(&instance.name, &instance.secrets)?,
                    serde_json::to_string(&instance.allow_hosts)?,
                    Value::Object(instance.limits.clone()).to_string(),
                    instance.enabled,
                ],
            )
            .map_err(|e| match e {
                super::db::DbError::Constraint(_) => {
                    anyhow::anyhow!("an instance named {:?} already exists", instance.name)
                }
                other => anyhow::Error::new(other).context("saving the instance"),
            })?;
        Ok(())
    }

    /// Saves a changed instance (its name and plugin stay); false when there is none.
    pub fn update_instance(&self, instance: &Instance) -> Result<bool> {
        let changed = self
            .conn()
            .execute(
                "UPDATE instances SET params = ?2, secrets = ?3, allow_hosts = ?4, limits = ?5,
                     enabled = ?6
                 WHERE name = ?1",
                params![
                    instance.name,
                    Value::Object(instance.params.clone()).to_string(),
                    self.stored_secrets(&instance.name, &instance.secrets)?,
                    serde_json::to_string(&instance.allow_hosts)?,
                    Value::Object(instance.limits.clone()).to_string(),
                    instance.enabled,
                ],
            )
            .context("saving the instance")?;
        Ok(changed > 0)
    }

    /// The instance named `name`, if any.
    pub fn instance(&self, name: &str) -> Result<Option<Instance>> {
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE name = ?1");
        self.conn()
            .query_row(&sql, [name], StoredInstance::read)
            .optional()?
            .map(|stored| stored.open(self))
            .transpose()
    }

    /// The instances named, each with its integration context ("{}" when never set), read
    /// at once: what a command on several apps needs before it runs. Names with no
    /// instance are left out.
    pub fn instances_with_context(&self, names: &[&str]) -> Result<Vec<(Instance, String)>> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=names.len()).map(|n| format!("?{n}")).collect();
        let sql = format!(
            "SELECT {INSTANCE_COLUMNS}, coalesce(c.json, '{{}}') FROM instances
             LEFT JOIN integration_context AS c ON c.instance = instances.name
             WHERE instances.name IN ({})",
            placeholders.join(", ")
        );
        let params: Vec<super::db::Value> = names
            .iter()
            .map(|name| super::db::Value::Text((*name).to_owned()))
            .collect();
        let rows = self.conn().prepare(&sql)?.query_map(params, |row| {
            Ok((StoredInstance::read(row)?, row.get::<String>(7)?))
        })?;
        rows.map(|row| {
            let (stored, context) = row?;
            Ok((stored.open(self)?, context))
        })
        .collect()
    }

    /// Every instance, by name.
    pub fn instances(&self) -> Result<Vec<InstanceRecord>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT name, plugin, enabled, created_at FROM instances ORDER BY name")?;
        let rows = stmt.query_map((), |row| {
            Ok(InstanceRecord {
                name: row.get(0)?,
                plugin: row.get(1)?,
                enabled: row.get(2)?,
                created_at: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<super::db::DbResult<_>>()?)
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

/// The columns [`StoredInstance::read`] reads, in its order.
const INSTANCE_COLUMNS: &str =
    "instances.name, plugin, params, secrets, allow_hosts, limits, enabled";

/// An instance's row as stored: JSON text and sealed secrets.
struct StoredInstance {
    name: String,
    plugin: String,
    params: String,
    secrets: String,
    allow_hosts: String,
    limits: String,
    enabled: bool,
}

impl StoredInstance {
    fn read(row: &super::db::Row) -> super::db::DbResult<Self> {
        Ok(StoredInstance {
            name: row.get(0)?,
            plugin: row.get(1)?,
            params: row.get(2)?,
            secrets: row.get(3)?,
            allow_hosts: row.get(4)?,
            limits: row.get(5)?,
            enabled: row.get(6)?,
        })
    }

    /// The instance, its JSON parsed and its secrets opened.
    fn open(self, store: &Store) -> Result<Instance> {
        let name = self.name;
        Ok(Instance {
            params: json_object(&self.params).context("instance parameters")?,
            secrets: store
                .read_secrets(&name, &self.secrets)
                .with_context(|| format!("the secrets of instance {name:?}"))?,
            allow_hosts: serde_json::from_str(&self.allow_hosts).context("instance allow-list")?,
            limits: json_object(&self.limits).context("instance limits")?,
            plugin: self.plugin,
            enabled: self.enabled,
            name,
        })
    }
}

/// Where a secret is sealed: a value sealed for one instance or parameter does not open as
/// another's.
fn place(instance: &str, param: &str) -> String {
    format!("instance {instance:?} secret {param:?}")
}

impl Store {
    /// The `secrets` column: each value sealed, each reference as it is.
    fn stored_secrets(&self, instance: &str, secrets: &BTreeMap<String, Secret>) -> Result<String> {
        let mut stored = Map::new();
        for (name, secret) in secrets {
            let entry = match secret {
                Secret::Value(value) => {
                    let sealed = self
                        .cipher()?
                        .seal(&place(instance, name), value.to_string().as_bytes())?;
                    json!({ "sealed": sealed })
                }
                Secret::Env(var) => json!({ "env": var }),
                Secret::File(path) => json!({ "file": path }),
            };
            stored.insert(name.clone(), entry);
        }
        Ok(Value::Object(stored).to_string())
    }

    fn read_secrets(&self, instance: &str, text: &str) -> Result<BTreeMap<String, Secret>> {
        let mut secrets = BTreeMap::new();
        for (name, entry) in json_object(text)? {
            let secret = if let Some(sealed) = entry.get("sealed").and_then(Value::as_str) {
                let plain = self.cipher()?.open(&place(instance, &name), sealed)?;
                Secret::Value(serde_json::from_slice(&plain).context("an opened secret")?)
            } else if let Some(var) = entry.get("env").and_then(Value::as_str) {
                Secret::Env(var.to_owned())
            } else if let Some(path) = entry.get("file").and_then(Value::as_str) {
                Secret::File(path.into())
            } else {
                bail!("the stored secret {name:?} is neither sealed nor a reference");
            };
            secrets.insert(name, secret);
        }
        Ok(secrets)
    }

    /// (instance, `secrets` column) of every instance with secrets.
    fn stored_secret_columns(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT name, secrets FROM instances WHERE secrets <> '{}'")?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<super::db::DbResult<_>>()?)
    }

    /// Opens every sealed secret with `old` and seals it again with `new`, in place (part
    /// of a key rotation's transaction). Returns how many it re-sealed.
    pub(super) fn reseal_secrets(&self, old: &Cipher, new: &Cipher) -> Result<usize> {
        let mut count = 0;
        for (instance, text) in self.stored_secret_columns()? {
            let mut stored = json_object(&text)
                .with_context(|| format!("the secrets of instance {instance:?}"))?;
            for (name, entry) in stored.iter_mut() {
                let Some(sealed) = entry.get("sealed").and_then(Value::as_str) else {
                    continue;
                };
                let place = place(&instance, name);
                let plain = old.open(&place, sealed)?;
                *entry = json!({ "sealed": new.seal(&place, &plain)? });
                count += 1;
            }
            self.conn().execute(
                "UPDATE instances SET secrets = ?2 WHERE name = ?1",
                params![instance, Value::Object(stored).to_string()],
            )?;
        }
        Ok(count)
    }

    /// Seals the secrets a database from before sealing holds in clear (a migration step:
    /// runs once, in the migration's transaction). Returns how many it sealed.
    pub(super) fn seal_clear_secrets(&self) -> Result<usize> {
        let mut count = 0;
        for (name, clear) in self.stored_secret_columns()? {
            let secrets: BTreeMap<String, Secret> = json_object(&clear)
                .with_context(|| format!("the clear-text secrets of instance {name:?}"))?
                .into_iter()
                .map(|(param, value)| (param, Secret::Value(value)))
                .collect();
            count += secrets.len();
            self.conn().execute(
                "UPDATE instances SET secrets = ?2 WHERE name = ?1",
                params![name, self.stored_secrets(&name, &secrets)?],
            )?;
        }
        Ok(count)
    }
}

fn json_object(text: &str) -> Result<Map<String, Value>> {
    match serde_json::from_str(text)? {
        Value::Object(map) => Ok(map),
        _ => anyhow::bail!("expected a JSON object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_read_at_once_with_their_contexts_and_their_secrets_open() {
        let store = Store::open_in_memory().unwrap();
        let mut app = Instance::bare("app", "memory-app");
        app.secrets.insert("token".into(), Secret::text("s3cret"));
        store.add_instance(&app).unwrap();
        store
            .add_instance(&Instance::bare("fresh", "memory-app"))
            .unwrap();
        store
            .add_instance(&Instance::bare("other", "memory-app"))
            .unwrap();
        store
            .set_integration_context("app", r#"{"cursor":7}"#)
            .unwrap();

        let read = store
            .instances_with_context(&["fresh", "app", "missing"])
            .unwrap();
        let by_name: BTreeMap<&str, &(Instance, String)> = read
            .iter()
            .map(|entry| (entry.0.name.as_str(), entry))
            .collect();
        assert_eq!(
            by_name.keys().copied().collect::<Vec<_>>(),
            ["app", "fresh"]
        );
        assert_eq!(by_name["app"].0, app, "the secret opens as it was stored");
        assert_eq!(by_name["app"].1, r#"{"cursor":7}"#);
        assert_eq!(by_name["fresh"].1, "{}", "no context set yet");
        assert!(store.instances_with_context(&[]).unwrap().is_empty());
    }
}
