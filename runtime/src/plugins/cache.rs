//! Precompiled components, cached on disk by the component's content hash and the engine's
//! compatibility hash, so a plugin is compiled once and then loads in about a millisecond.
//! A fresh compile is written only once the plugin is accepted, so a refused one leaves
//! nothing behind.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;
use wasmtime::Engine;

/// A component read from the cache, or compiled and not yet cached.
pub struct Compiled {
    pub component: Component,
    /// Where a fresh compile goes once the plugin is accepted.
    unsaved: Option<PathBuf>,
}

impl Compiled {
    /// Caches a fresh compile; a plugin already cached is left as it is.
    pub fn keep(&mut self) {
        if let Some(path) = self.unsaved.take() {
            if let Err(err) = store(&self.component, &path) {
                tracing::warn!(path = %path.display(), "could not cache the precompiled plugin: {err:#}");
            }
        }
    }
}

/// Loads `wasm_path` as a component, from the cache when possible.
pub fn load_component(engine: &Engine, cache_dir: &Path, wasm_path: &Path) -> Result<Compiled> {
    let bytes =
        std::fs::read(wasm_path).with_context(|| format!("reading {}", wasm_path.display()))?;
    let cached = cache_path(engine, cache_dir, &bytes);
    if cached.exists() {
        // SAFETY: the file was written by `Component::serialize` of this same engine
        // configuration (its hash is in the name) into the runtime's own data directory.
        if let Ok(component) = unsafe { Component::deserialize_file(engine, &cached) } {
            return Ok(Compiled {
                component,
                unsaved: None,
            });
        }
        tracing::warn!(path = %cached.display(), "unreadable precompiled plugin; compiling again");
    }
    let component = Component::new(engine, &bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a valid WebAssembly component ({}); rebuild the plugin or reinstall it",
            wasm_path.display(),
            e.root_cause()
        )
    })?;
    Ok(Compiled {
        component,
        unsaved: Some(cached),
    })
}

fn cache_path(engine: &Engine, cache_dir: &Path, bytes: &[u8]) -> PathBuf {
    let content = hex::encode(Sha256::digest(bytes));
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    cache_dir.join(format!("{content}-{:016x}.cwasm", hasher.finish()))
}

fn store(component: &Component, path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, component.serialize()?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
