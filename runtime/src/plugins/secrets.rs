//! Secret parameters at call time. A stored value is used as it is; a reference
//! (`env:NAME`, `file:PATH`) is read afresh for every call and never written back, so the
//! store never holds its value and rotating the variable or the file needs no `ilm
//! instance` change. What [`resolve`] returns lives only in one call's settings.

use super::manifest::Manifest;
use super::settings::typed;
use crate::store::Secret;
use anyhow::{bail, Context, Result};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Parses `env:NAME` or `file:PATH`; a relative path is made absolute from `base`.
pub fn parse_reference(text: &str, base: &Path) -> Result<Secret> {
    if let Some(name) = text.strip_prefix("env:") {
        let valid = !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            bail!("{text:?}: {name:?} is not an environment variable name");
        }
        return Ok(Secret::Env(name.to_owned()));
    }
    if let Some(path) = text.strip_prefix("file:") {
        if path.is_empty() {
            bail!("{text:?} names no file");
        }
        return Ok(Secret::File(base.join(path)));
    }
    bail!("{text:?} is not a reference: use env:VARIABLE or file:PATH")
}

/// Every secret of `instance`, references read now, typed as the manifest declares.
pub fn resolve(
    manifest: &Manifest,
    instance: &str,
    secrets: &BTreeMap<String, Secret>,
) -> Result<Map<String, Value>> {
    let mut resolved = Map::new();
    for (name, secret) in secrets {
        let value = resolve_one(manifest, name, secret)
            .with_context(|| format!("the secret parameter {name:?} of instance {instance:?}"))?;
        resolved.insert(name.clone(), value);
    }
    Ok(resolved)
}

/// One secret's value now.
pub fn resolve_one(manifest: &Manifest, name: &str, secret: &Secret) -> Result<Value> {
    let text = match secret {
        Secret::Value(value) => return Ok(value.clone()),
        Secret::Env(var) => std::env::var(var).map_err(|_| {
            anyhow::anyhow!(
                "it refers to the environment variable {var}, which is not set for this process"
            )
        })?,
        Secret::File(path) => {
            let text = std::fs::read_to_string(path).with_context(|| {
                format!(
                    "it refers to the file {}, which cannot be read",
                    path.display()
                )
            })?;
            // `echo token > file` leaves a newline that is not part of the secret.
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let kind = manifest
        .param(name)
        .with_context(|| format!("plugin {} has no parameter {name:?}", manifest.name))?
        .kind;
    typed(kind, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse_into_a_variable_or_an_absolute_file() {
        let base = Path::new("/etc/ilm");
        assert_eq!(
            parse_reference("env:GITHUB_TOKEN", base).unwrap(),
            Secret::Env("GITHUB_TOKEN".into())
        );
        assert_eq!(
            parse_reference("file:gh.token", base).unwrap(),
            Secret::File("/etc/ilm/gh.token".into())
        );
        assert_eq!(
            parse_reference("file:/run/secrets/t", base).unwrap(),
            Secret::File("/run/secrets/t".into())
        );
        for bad in ["env:", "env:1X", "env:A-B", "file:", "vault:x", "token"] {
            assert!(parse_reference(bad, base).is_err(), "{bad}");
        }
    }
}
