//! The instance settings `ilm instance add` and `ilm instance edit` both take (parameters,
//! secrets, allow-list, limits), and how they apply to an instance: checked against the
//! plugin's manifest, then against the settings the host would build, before anything is
//! saved.

use super::output;
use crate::plugins::{secrets, settings::parse_params, InstanceSettings, Manifest};
use crate::store::{Instance, Secret};
use anyhow::{bail, Context as _, Result};
use clap::Args;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Args)]
pub struct SettingArgs {
    /// A non-secret parameter, NAME=VALUE (repeatable).
    #[arg(long = "param", value_parser = output::key_value)]
    params: Vec<(String, String)>,
    /// A secret parameter, NAME=VALUE (repeatable). Prefer --secret-env: argv is visible to other users.
    #[arg(long = "secret", value_parser = output::key_value)]
    secrets: Vec<(String, String)>,
    /// A secret parameter copied now from an environment variable, NAME=VARIABLE
    /// (repeatable); it is stored sealed.
    #[arg(long = "secret-env", value_parser = output::key_value)]
    secret_env: Vec<(String, String)>,
    /// A secret parameter read at each call instead of stored: NAME=env:VARIABLE or
    /// NAME=file:PATH (repeatable).
    #[arg(long = "secret-ref", value_parser = output::key_value)]
    secret_ref: Vec<(String, String)>,
    /// An extra allow-list entry, e.g. https://*.example.com (repeatable).
    #[arg(long = "allow")]
    allow: Vec<String>,
    /// Deadline of one call into the plugin, in milliseconds.
    #[arg(long)]
    deadline_ms: Option<u64>,
    /// Memory cap of the plugin, in MiB.
    #[arg(long)]
    memory_mib: Option<usize>,
    /// Timeout of one outbound HTTP request, in milliseconds.
    #[arg(long)]
    http_timeout_ms: Option<u64>,
    /// Largest HTTP response handed to the plugin, in MiB (large HR reports need more).
    #[arg(long)]
    max_response_mib: Option<usize>,
    /// A PEM file with a private CA to trust for the instance's HTTPS servers.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl SettingArgs {
    /// Applies these settings over `instance` (empty for a new one); the values it already
    /// has count as given when required parameters are checked.
    pub fn apply(self, manifest: &Manifest, instance: &mut Instance) -> Result<()> {
        let mut given = self.params.clone();
        for (name, value) in self.secrets {
            if !manifest.param(&name).is_some_and(|p| p.secret) {
                bail!(
                    "{name:?} is not a secret parameter of {}; pass it with --param",
                    manifest.name
                );
            }
            given.push((name, value));
        }
        for (name, var) in self.secret_env {
            let value = std::env::var(&var).with_context(|| {
                format!("--secret-env {name}: environment variable {var} is not set")
            })?;
            given.push((name, value));
        }
        let cwd = std::env::current_dir().context("the current directory")?;
        let mut references = BTreeMap::new();
        for (name, text) in &self.secret_ref {
            if !manifest.param(name).is_some_and(|p| p.secret) {
                bail!(
                    "--secret-ref {name}: not a secret parameter of {}",
                    manifest.name
                );
            }
            let reference = secrets::parse_reference(text, &cwd)
                .with_context(|| format!("--secret-ref {name}"))?;
            references.insert(name.clone(), reference);
        }
        // What the instance has already satisfies the required check, like a reference.
        let present: Vec<&str> = references
            .keys()
            .chain(instance.params.keys())
            .chain(instance.secrets.keys())
            .map(String::as_str)
            .collect();
        let (params, values) = parse_params(manifest, &given, &present)?;
        if let Some(p) = self.params.iter().find(|(n, _)| values.contains_key(n)) {
            bail!(
                "{:?} is a secret parameter: pass it with --secret, --secret-env or --secret-ref",
                p.0
            );
        }
        if let Some(name) = references.keys().find(|n| values.contains_key(*n)) {
            bail!("{name:?} is given both as a value and as a reference");
        }
        instance.params.extend(params);
        instance.secrets.extend(
            values
                .into_iter()
                .map(|(name, value)| (name, Secret::Value(value))),
        );
        instance.secrets.extend(references);
        instance.allow_hosts.extend(self.allow);
        let mut set = |key: &str, value: Option<u64>| {
            if let Some(v) = value {
                instance.limits.insert(key.to_owned(), Value::from(v));
            }
        };
        set("deadline_ms", self.deadline_ms);
        set("memory_mib", self.memory_mib.map(|m| m as u64));
        set("http_timeout_ms", self.http_timeout_ms);
        set("max_response_mib", self.max_response_mib.map(|m| m as u64));
        if let Some(path) = &self.ca_file {
            let path = std::fs::canonicalize(path)
                .with_context(|| format!("--ca-file {}", path.display()))?;
            instance
                .limits
                .insert("ca_file".into(), Value::from(path.display().to_string()));
        }
        Ok(())
    }
}

/// An instance of `plugin` with nothing set yet.
pub fn empty_instance(name: &str, plugin: &str, enabled: bool) -> Instance {
    Instance {
        name: name.to_owned(),
        plugin: plugin.to_owned(),
        params: Map::new(),
        secrets: BTreeMap::new(),
        allow_hosts: Vec::new(),
        limits: Map::new(),
        enabled,
    }
}

/// Checks `instance` the way the host will build its settings (limits, allow-list entries,
/// credentials), with each secret reference resolved here and now; one that gives nothing
/// yet may well resolve where the runtime runs, so it only warns.
pub fn check(manifest: &Manifest, instance: &Instance) -> Result<()> {
    let mut probe = instance.clone();
    for (name, secret) in &instance.secrets {
        if matches!(secret, Secret::Value(_)) {
            continue;
        }
        let value = match secrets::resolve_one(manifest, name, secret) {
            Ok(value) => value,
            Err(err) => {
                eprintln!("warning: secret {name}: {err:#}; calls fail until it resolves");
                Value::from("unresolved")
            }
        };
        probe.secrets.insert(name.clone(), Secret::Value(value));
    }
    InstanceSettings::new(manifest, &probe, "{}".to_owned()).with_context(|| {
        format!(
            "instance {:?} is misconfigured; nothing was saved",
            instance.name
        )
    })?;
    Ok(())
}

/// Removes the parameters or secrets named in `names`; a required one without a default
/// cannot go.
pub fn unset(manifest: &Manifest, instance: &mut Instance, names: &[String]) -> Result<()> {
    for name in names {
        let Some(spec) = manifest.param(name) else {
            bail!(
                "--unset {name}: plugin {} has no such parameter",
                manifest.name
            );
        };
        if spec.required && spec.default.is_none() {
            bail!(
                "--unset {name}: plugin {} needs it; give a new value with --{} instead",
                manifest.name,
                if spec.secret { "secret-env" } else { "param" }
            );
        }
        let removed =
            instance.params.remove(name).is_some() | instance.secrets.remove(name).is_some();
        if !removed {
            bail!(
                "--unset {name}: instance {:?} has no value for it",
                instance.name
            );
        }
    }
    Ok(())
}
