//! What one call needs to know about its instance: parameters (with defaults and types
//! checked), secrets (references read now), the network policy (which hosts it may reach,
//! and the few its credentials go to) and the LDAP directory built from the manifest and
//! the instance, and limits.

use super::ldap::LdapConfig;
use super::manifest::{template_params, Credentials, LdapSpec, Manifest, ParamType};
use super::net::{AllowEntry, InjectedHeader, NetPolicy, ScopedCredentials};
use crate::store::Instance;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;

/// Sandbox limits of an instance; every field has a default.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Wall-clock budget of one call into the plugin.
    pub deadline_ms: u64,
    /// Linear memory the plugin may grow to.
    pub memory_mib: usize,
    /// Timeout of one outbound HTTP request.
    pub http_timeout_ms: u64,
    /// Largest HTTP response body handed to the plugin.
    pub max_response_mib: usize,
    /// Timeout of connecting to the LDAP directory, and of each LDAP operation.
    pub ldap_timeout_ms: u64,
    /// A PEM file with a private CA to trust for HTTPS, besides the public roots.
    pub ca_file: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline_ms: 30_000,
            memory_mib: 64,
            http_timeout_ms: 20_000,
            max_response_mib: 16,
            ldap_timeout_ms: 20_000,
            ca_file: None,
        }
    }
}

impl Limits {
    pub fn from_map(map: &Map<String, Value>) -> Result<Self> {
        let limits: Limits = serde_json::from_value(Value::Object(map.clone())).context(
            "instance limits (deadline_ms, memory_mib, http_timeout_ms, max_response_mib, ldap_timeout_ms)",
        )?;
        let max_mib = super::engine::MAX_MEMORY_CAP_BYTES >> 20;
        if limits.memory_mib == 0 || limits.memory_mib > max_mib {
            bail!("memory_mib must be between 1 and {max_mib}");
        }
        if limits.deadline_ms == 0
            || limits.http_timeout_ms == 0
            || limits.max_response_mib == 0
            || limits.ldap_timeout_ms == 0
        {
            bail!("deadline_ms, http_timeout_ms, max_response_mib and ldap_timeout_ms must be above 0");
        }
        Ok(limits)
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms)
    }

    pub fn memory_bytes(&self) -> usize {
        self.memory_mib << 20
    }
}

/// An instance ready to be called.
#[derive(Clone)]
pub struct InstanceSettings {
    pub name: Arc<str>,
    /// Non-secret parameters, typed, defaults applied.
    pub params: Map<String, Value>,
    pub params_json: Arc<str>,
    pub net: Arc<NetPolicy>,
    /// The directory of a plugin with an `[ldap]` section.
    pub ldap: Option<Arc<LdapConfig>>,
    pub limits: Limits,
    /// The integration context at the start of the call.
    pub context: String,
}

impl InstanceSettings {
    /// Builds the settings of a stored instance; `context` is its integration context.
    pub fn new(manifest: &Manifest, instance: &Instance, context: String) -> Result<Self> {
        let params = with_defaults(manifest, &instance.params)?;
        let secrets = super::secrets::resolve(manifest, &instance.name, &instance.secrets)?;
        let limits = Limits::from_map(&instance.limits)?;
        let credential_scope = manifest.credential_hosts();
        let mut allow = Vec::new();
        let mut credential_hosts = Vec::new();
        for entry in &manifest.hosts {
            if let Some(expanded) = expand_host(entry, &params)? {
                let parsed = AllowEntry::parse(&expanded)
                    .with_context(|| format!("manifest host {entry:?}"))?;
                if credential_scope.contains(&entry.as_str()) {
                    credential_hosts.push(parsed.clone());
                }
                allow.push(parsed);
            }
        }
        // Hosts the administrator adds are reachable, but never get the credentials.
        for entry in &instance.allow_hosts {
            allow.push(AllowEntry::parse(entry)?);
        }
        let credentials = match &manifest.credentials {
            // Optional credentials that are not set are simply not sent.
            Some(c) if c.param_names().iter().all(|n| secrets.contains_key(n)) => {
                Some(ScopedCredentials {
                    header: credential_header(c, &secrets)?,
                    hosts: credential_hosts,
                })
            }
            _ => None,
        };
        let net = NetPolicy {
            allow,
            credentials,
            timeout: Duration::from_millis(limits.http_timeout_ms),
            max_response_bytes: limits.max_response_mib << 20,
            extra_root: limits
                .ca_file
                .as_deref()
                .map(load_certificate)
                .transpose()?,
        };
        let ldap = match &manifest.ldap {
            Some(spec) => Some(Arc::new(
                ldap_config(spec, &params, &secrets, &limits)
                    .context("the plugin's [ldap] directory")?,
            )),
            None => None,
        };
        Ok(Self {
            name: instance.name.as_str().into(),
            params_json: Value::Object(params.clone()).to_string().into(),
            params,
            net: Arc::new(net),
            ldap,
            limits,
            context,
        })
    }

    /// Settings with no parameters, network or context: for checking a plugin.
    pub fn for_inspection(manifest: &Manifest) -> Self {
        Self {
            name: format!("{}-inspection", manifest.name).into(),
            params: Map::new(),
            params_json: "{}".into(),
            net: Arc::new(NetPolicy {
                allow: Vec::new(),
                credentials: None,
                timeout: Duration::from_secs(1),
                max_response_bytes: 0,
                extra_root: None,
            }),
            ldap: None,
            limits: Limits {
                deadline_ms: 2_000,
                ..Limits::default()
            },
            context: "{}".to_owned(),
        }
    }

    /// A boolean parameter (host IAM flags default to true).
    pub fn flag(&self, name: &str) -> bool {
        match self.params.get(name) {
            Some(Value::Bool(b)) => *b,
            _ => true,
        }
    }

    pub fn param_str(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }
}

/// Checks parameters given as text against the manifest and types them. Secret and
/// non-secret parameters are returned apart. `referenced` names the secret parameters given
/// as references instead, which count as present.
pub fn parse_params(
    manifest: &Manifest,
    given: &[(String, String)],
    referenced: &[&str],
) -> Result<(Map<String, Value>, Map<String, Value>)> {
    let mut params = Map::new();
    let mut secrets = Map::new();
    for (name, text) in given {
        let Some(spec) = manifest.param(name) else {
            let known: Vec<String> = manifest.all_params().into_iter().map(|p| p.name).collect();
            bail!(
                "plugin {} has no parameter {name:?} (known: {})",
                manifest.name,
                known.join(", ")
            );
        };
        let value = typed(spec.kind, text).with_context(|| format!("parameter {name}"))?;
        if spec.secret {
            secrets.insert(name.clone(), value);
        } else {
            params.insert(name.clone(), value);
        }
    }
    for spec in manifest.all_params() {
        let present = params.contains_key(&spec.name)
            || secrets.contains_key(&spec.name)
            || referenced.contains(&spec.name.as_str());
        if spec.required && !present && spec.default.is_none() {
            bail!(
                "plugin {} needs the parameter {:?}: {}",
                manifest.name,
                spec.name,
                spec.help
            );
        }
    }
    Ok((params, secrets))
}

/// A parameter's text as its declared type.
pub(super) fn typed(kind: ParamType, text: &str) -> Result<Value> {
    Ok(match kind {
        ParamType::String => Value::String(text.to_owned()),
        ParamType::Url => {
            let url = url::Url::parse(text).with_context(|| format!("{text:?} is not a URL"))?;
            // It would sit in clear among the parameters, and override the host's credentials.
            if !url.username().is_empty() || url.password().is_some() {
                bail!(
                    "the URL carries a user name or password (user@host); give credentials as secret parameters"
                );
            }
            Value::String(text.trim_end_matches('/').to_owned())
        }
        ParamType::Bool => match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Value::Bool(true),
            "false" | "no" | "0" => Value::Bool(false),
            _ => bail!("{text:?} is not true or false"),
        },
        ParamType::Int => Value::from(
            text.parse::<i64>()
                .with_context(|| format!("{text:?} is not an integer"))?,
        ),
        ParamType::Json => {
            serde_json::from_str(text).with_context(|| format!("{text:?} is not JSON"))?
        }
    })
}

fn with_defaults(manifest: &Manifest, given: &Map<String, Value>) -> Result<Map<String, Value>> {
    let mut params = given.clone();
    for spec in manifest.all_params() {
        if spec.secret || params.contains_key(&spec.name) {
            continue;
        }
        if let Some(default) = &spec.default {
            params.insert(spec.name.clone(), typed(spec.kind, default)?);
        }
    }
    Ok(params)
}

/// Expands `{param}` in a manifest host to that URL parameter's origin; `None` when the
/// parameter is unset.
fn expand_host(entry: &str, params: &Map<String, Value>) -> Result<Option<String>> {
    let names = template_params(entry);
    let [name] = names.as_slice() else {
        return Ok(Some(entry.to_owned()));
    };
    let Some(value) = params.get(name).and_then(Value::as_str) else {
        return Ok(None);
    };
    let url = url::Url::parse(value).with_context(|| format!("parameter {name} is not a URL"))?;
    Ok(Some(entry.replace(
        &format!("{{{name}}}"),
        &url.origin().ascii_serialization(),
    )))
}

/// A parameter's value as text, from the secrets or (for `plain_too`) the plain parameters.
fn param_text(
    name: &str,
    secrets: &Map<String, Value>,
    plain_too: Option<&Map<String, Value>>,
) -> Result<String> {
    match secrets
        .get(name)
        .or_else(|| plain_too.and_then(|p| p.get(name)))
    {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None if plain_too.is_some() => bail!("the parameter {name:?} is not set on this instance"),
        None => bail!("the secret parameter {name:?} is not set on this instance"),
    }
}

/// The directory an `[ldap]` section names, from the instance's parameters and secrets.
fn ldap_config(
    spec: &LdapSpec,
    params: &Map<String, Value>,
    secrets: &Map<String, Value>,
    limits: &Limits,
) -> Result<LdapConfig> {
    let text = |name: &str| param_text(name, secrets, Some(params));
    let allow_plain = spec
        .allow_plain
        .as_ref()
        .and_then(|name| params.get(name))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let ca_file = match &spec.ca_file {
        Some(name) => params
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(std::path::PathBuf::from),
        None => None,
    };
    LdapConfig::new(
        &text(&spec.url)?,
        allow_plain,
        text(&spec.bind_dn)?,
        param_text(&spec.password, secrets, None)?,
        ca_file,
        Duration::from_millis(limits.ldap_timeout_ms),
    )
}

fn credential_header(creds: &Credentials, secrets: &Map<String, Value>) -> Result<InjectedHeader> {
    let secret = |name: &str| param_text(name, secrets, None);
    Ok(match creds {
        Credentials::Bearer { token, .. } => InjectedHeader {
            name: "Authorization".to_owned(),
            value: format!("Bearer {}", secret(token)?),
        },
        Credentials::Basic {
            username, password, ..
        } => {
            use base64::Engine as _;
            let pair = format!("{}:{}", secret(username)?, secret(password)?);
            InjectedHeader {
                name: "Authorization".to_owned(),
                value: format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                ),
            }
        }
        Credentials::Header { header, value, .. } => {
            let mut rendered = value.clone();
            for name in template_params(value) {
                rendered = rendered.replace(&format!("{{{name}}}"), &secret(&name)?);
            }
            InjectedHeader {
                name: header.clone(),
                value: rendered,
            }
        }
    })
}

fn load_certificate(path: &str) -> Result<reqwest::Certificate> {
    let pem = std::fs::read(path).with_context(|| format!("reading the CA file {path}"))?;
    reqwest::Certificate::from_pem(&pem).with_context(|| format!("{path} is not a PEM certificate"))
}
