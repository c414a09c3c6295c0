//! The plugin host: loads WebAssembly components with their manifests, checks them, and
//! runs each call in a fresh sandbox with a deadline and a memory cap.

mod app;
mod bindings;
mod cache;
pub mod conformance;
mod engine;
mod ldap;
pub mod manifest;
pub mod manifest_diff;
pub mod net;
mod retry;
mod sandbox;
pub mod secrets;
pub mod settings;
mod wasi;

pub use app::WasmApp;
pub use manifest::Manifest;
pub use sandbox::CallState;
pub use settings::{InstanceSettings, Limits};

use anyhow::{bail, Context, Result};
use bindings::{Plugin, PluginPre};
use retry::RetryPolicy;
use sandbox::MemoryLimiter;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wasmtime::component::{types::ComponentItem, Component, Linker};
use wasmtime::{Engine, Store};

pub use bindings::ilm::plugin::types::{AppError, AppUser, FetchResult, Field, Lookup};

/// Where plugins and their precompiled forms live.
pub struct HostConfig {
    pub plugins_dir: PathBuf,
    pub cache_dir: PathBuf,
}

/// The engine, the capabilities every plugin may import, and the plugins loaded so far.
pub struct Host {
    engine: Engine,
    linker: Linker<CallState>,
    config: HostConfig,
    loaded: Mutex<HashMap<String, Arc<LoadedPlugin>>>,
}

/// A checked plugin, ready to instantiate.
pub struct LoadedPlugin {
    pub manifest: Manifest,
    pub wasm_path: PathBuf,
    pre: PluginPre<CallState>,
    compiled: cache::Compiled,
}

/// Why a call into a plugin failed; names the plugin, the instance and the command.
#[derive(Debug, thiserror::Error)]
#[error("plugin {plugin} (instance {instance}) failed in {command}: {cause}")]
pub struct PluginError {
    pub plugin: String,
    pub instance: String,
    pub command: String,
    pub cause: FailureCause,
}

#[derive(Debug, thiserror::Error)]
pub enum FailureCause {
    #[error("it ran past its {0} ms deadline and was stopped")]
    Deadline(u64),
    #[error("it tried to use more than its {0} MiB memory cap and was stopped")]
    Memory(usize),
    #[error("it trapped ({0})")]
    Trap(String),
    #[error("{0}")]
    Host(String),
}

/// The result of one sandboxed call, with the integration context if the guest changed it.
pub struct CallOutput<R> {
    pub value: R,
    pub new_context: Option<String>,
}

impl Host {
    pub fn new(config: HostConfig) -> Result<Self> {
        let engine = engine::new_engine()?;
        let mut linker = Linker::new(&engine);
        Plugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |state| state)?;
        wasi::add_to_linker(&mut linker)?;
        Ok(Self {
            engine,
            linker,
            config,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    pub fn plugins_dir(&self) -> &Path {
        &self.config.plugins_dir
    }

    /// Names of the plugins installed in the plugins folder (those with a manifest).
    pub fn installed(&self) -> Result<Vec<String>> {
        let dir = &self.config.plugins_dir;
        if !dir.exists() {
            return Ok(Vec::new());
        }
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the plugins folder {}", dir.display()))?
            .filter_map(|entry| {
                let path = entry.ok()?.path();
                (path.extension()? == "toml")
                    .then(|| path.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// The plugin named `name`, loaded and checked once per process.
    pub fn plugin(&self, name: &str) -> Result<Arc<LoadedPlugin>> {
        if let Some(plugin) = self.lock_loaded().get(name) {
            return Ok(plugin.clone());
        }
        let dir = &self.config.plugins_dir;
        let manifest_path = dir.join(format!("{name}.toml"));
        if !manifest_path.exists() {
            bail!(
                "no plugin named {name:?} in {} (installed: {}); install it with `ilm plugin install PATH`",
                dir.display(),
                self.installed()?.join(", ")
            );
        }
        let mut plugin = self.load(&manifest_path, &dir.join(format!("{name}.wasm")))?;
        if plugin.manifest.name != name {
            bail!(
                "{} declares the plugin name {:?}; the file must be named {}.toml",
                manifest_path.display(),
                plugin.manifest.name,
                plugin.manifest.name
            );
        }
        plugin.keep_compiled();
        let plugin = Arc::new(plugin);
        self.lock_loaded().insert(name.to_owned(), plugin.clone());
        Ok(plugin)
    }

    fn lock_loaded(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<LoadedPlugin>>> {
        // A panic while holding the lock leaves the map itself consistent.
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Loads a component and its manifest from anywhere and checks that they agree. A fresh
    /// compile is cached only by [`LoadedPlugin::keep_compiled`], once the plugin is accepted.
    pub fn load(&self, manifest_path: &Path, wasm_path: &Path) -> Result<LoadedPlugin> {
        let manifest = Manifest::load(manifest_path)?;
        if !wasm_path.exists() {
            bail!(
                "the component {} named by {} is missing",
                wasm_path.display(),
                manifest_path.display()
            );
        }
        let compiled = cache::load_component(&self.engine, &self.config.cache_dir, wasm_path)?;
        let component = &compiled.component;
        // Imports first: every one the host does not grant this plugin is named at once.
        wasi::check_imports(&self.engine, &manifest, component)?;
        let instance_pre = self.linker.instantiate_pre(component).map_err(|e| {
            anyhow::anyhow!(
                "plugin {:?} needs a capability this host does not grant: {e:#}",
                manifest.name
            )
        })?;
        self.check_wit_version(&manifest, component)?;
        let pre = PluginPre::new(instance_pre).map_err(|e| {
            anyhow::anyhow!(
                "plugin {:?} does not implement the ilm:plugin world: {e:#}",
                manifest.name
            )
        })?;
        let plugin = LoadedPlugin {
            manifest,
            wasm_path: wasm_path.to_owned(),
            pre,
            compiled,
        };
        plugin.check_describe(self)?;
        Ok(plugin)
    }

    /// The component's exported `ilm:plugin/iam@X` must carry the manifest's version.
    fn check_wit_version(&self, manifest: &Manifest, component: &Component) -> Result<()> {
        let exported: Vec<String> = component
            .component_type()
            .exports(&self.engine)
            .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentInstance(_)))
            .filter_map(|(name, _)| name.strip_prefix("ilm:plugin/iam@").map(str::to_owned))
            .collect();
        match exported.as_slice() {
            [version] if *version == manifest.wit => Ok(()),
            [version] => bail!(
                "plugin {:?}: the manifest says WIT {} but the component was built against ilm:plugin@{version}",
                manifest.name,
                manifest.wit
            ),
            _ => bail!("plugin {:?}: the component does not export ilm:plugin/iam", manifest.name),
        }
    }

    /// Runs `f` against a fresh instance of `plugin` for `instance`, within its limits.
    pub fn call<R>(
        &self,
        plugin: &LoadedPlugin,
        instance: &InstanceSettings,
        command: &str,
        f: impl FnOnce(&Plugin, &mut Store<CallState>) -> wasmtime::Result<R>,
    ) -> Result<CallOutput<R>, PluginError> {
        let limits = &instance.limits;
        let state = CallState {
            plugin: plugin.manifest.name.as_str().into(),
            instance: instance.name.clone(),
            params_json: instance.params_json.clone(),
            net: instance.net.clone(),
            deadline: std::time::Instant::now() + limits.deadline(),
            retry: RetryPolicy::for_call(limits.deadline()),
            ldap: instance.ldap.clone().map(ldap::LdapSession::new),
            context: instance.context.clone(),
            context_changed: false,
            limits: MemoryLimiter {
                max_bytes: limits.memory_bytes(),
                exceeded: false,
            },
            wasi: None,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|state| &mut state.limits);
        store.set_epoch_deadline(engine::deadline_ticks(limits.deadline()));
        store.epoch_deadline_trap();

        let result = plugin
            .pre
            .instantiate(&mut store)
            .and_then(|bindings| f(&bindings, &mut store));
        let state = store.into_data();
        match result {
            Ok(value) => Ok(CallOutput {
                value,
                new_context: state.context_changed.then_some(state.context),
            }),
            Err(err) => Err(PluginError {
                plugin: plugin.manifest.name.clone(),
                instance: instance.name.to_string(),
                command: command.to_owned(),
                cause: classify_failure(&err, &state, limits),
            }),
        }
    }
}

fn classify_failure(err: &wasmtime::Error, state: &CallState, limits: &Limits) -> FailureCause {
    if state.limits.exceeded {
        return FailureCause::Memory(limits.memory_mib);
    }
    match err.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => FailureCause::Deadline(limits.deadline_ms),
        Some(wasmtime::Trap::UnreachableCodeReached) => FailureCause::Trap(
            "unreachable code reached: the plugin panicked or aborted".to_owned(),
        ),
        Some(trap) => FailureCause::Trap(trap.to_string()),
        None => FailureCause::Host(format!("{:#}", err)),
    }
}

impl LoadedPlugin {
    /// Caches the compiled component of an accepted plugin (a no-op when it came from the cache).
    pub fn keep_compiled(&mut self) {
        self.compiled.keep();
    }

    /// The plugin's own `describe` must agree with its manifest.
    fn check_describe(&self, host: &Host) -> Result<()> {
        let settings = InstanceSettings::for_inspection(&self.manifest);
        let info = host
            .call(self, &settings, "describe", |p, store| {
                p.ilm_plugin_iam().call_describe(store)
            })
            .map_err(anyhow::Error::new)?
            .value;
        let m = &self.manifest;
        let mut declared: Vec<&str> = m.commands.iter().map(|c| c.name.as_str()).collect();
        let mut reported: Vec<&str> = info.commands.iter().map(String::as_str).collect();
        declared.sort_unstable();
        reported.sort_unstable();
        if info.name != m.name || info.version != m.version || declared != reported {
            bail!(
                "plugin {:?}: the manifest and the component disagree (manifest: {} {} commands [{}]; component: {} {} commands [{}]); reinstall a matching pair",
                m.name,
                m.name,
                m.version,
                declared.join(", "),
                info.name,
                info.version,
                reported.join(", ")
            );
        }
        Ok(())
    }
}
