//! `ilm plugin install X.wasm`: checks the component, its manifest (`X.toml`) and its
//! default mapper (`X.mapper.rhai`, optional) before writing anything, shows what a
//! reinstall changes (and needs --force for it), then copies them into the plugins folder.
//! The default mapper goes into the playbooks' `mappers/<name>.rhai` only where the
//! administrator has none, or has the previous default unedited: an edited mapper is
//! never overwritten.

use super::super::{output, Context, Outcome};
use crate::plugins::{manifest_diff, Host, LoadedPlugin, Manifest};
use crate::scripting::{self, ScriptCache};
use crate::store::Actor;
use anyhow::{bail, Context as _, Result};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Functions a mapper must define (see `mappers.rs`).
const MAPPER_FUNCTIONS: [(&str, usize); 2] = [("outgoing", 2), ("incoming", 1)];

/// What installing did with the plugin's default mapper.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum MapperStatus {
    /// The plugin carries no mapper.
    None,
    /// There was none in the playbooks: the default is now there.
    Installed,
    /// The playbooks' mapper is the default already.
    Unchanged,
    /// The playbooks had the previous default, unedited: replaced by the new one.
    Updated,
    /// The playbooks' mapper differs from the default (edited): left as it is.
    Kept,
    /// There is no playbooks folder to put it in (`ilm init` makes one).
    NoPlaybooks,
}

#[derive(Debug, Serialize)]
struct MapperResult {
    status: MapperStatus,
    /// Where the instance reads it (`<playbooks>/mappers/<name>.rhai`).
    path: PathBuf,
}

impl MapperResult {
    fn sentence(&self) -> String {
        let path = self.path.display();
        match self.status {
            MapperStatus::None => "the plugin carries no default mapper".to_owned(),
            MapperStatus::Installed => format!("default mapper installed as {path}"),
            MapperStatus::Unchanged => format!("mapper {path} is the default already"),
            MapperStatus::Updated => {
                format!("mapper {path} was the previous default, unedited: updated to the new one")
            }
            MapperStatus::Kept => format!(
                "mapper {path} differs from the plugin's default (edited): kept as it is; \
                 the default is beside the plugin for comparison"
            ),
            MapperStatus::NoPlaybooks => format!(
                "mapper not installed: there is no playbooks folder for {path}; run `ilm init`, \
                 then install the plugin again"
            ),
        }
    }
}

/// Installs the component at `wasm` with its manifest and default mapper.
pub fn run(
    ctx: &Context,
    host: &Host,
    wasm: &Path,
    force: bool,
    json_out: bool,
) -> Result<Outcome> {
    let manifest_path = wasm.with_extension("toml");
    let mut plugin = host.load(&manifest_path, wasm)?;
    let name = plugin.manifest.name.clone();
    let version = plugin.manifest.version.clone();
    let mapper_path = wasm.with_extension("mapper.rhai");
    let mapper = match std::fs::read(&mapper_path) {
        Ok(text) => {
            check_mapper(&mapper_path)
                .with_context(|| format!("plugin {name:?} was not installed"))?;
            Some(text)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("reading {}", mapper_path.display())),
    };

    let dir = host.plugins_dir().to_owned();
    let target = dir.join(format!("{name}.wasm"));
    let installed_mapper = dir.join(format!("{name}.mapper.rhai"));
    let previous_mapper = read_optional(&installed_mapper)?;
    let mut changes = Vec::new();
    let status = if target.exists() {
        changes = replacement(&dir.join(format!("{name}.toml")), &target, &plugin, wasm)?;
        if previous_mapper != mapper {
            changes.push(mapper_change(previous_mapper.is_some(), mapper.is_some()).to_owned());
        }
        if changes.is_empty() {
            "unchanged"
        } else if force {
            "replaced"
        } else {
            let listed = changes
                .iter()
                .map(|c| format!("  {c}"))
                .collect::<Vec<_>>()
                .join("\n");
            bail!(
                "plugin {name:?} is already installed in {} and this one differs:\n{listed}\n\
                 check the changes, then install it with --force",
                dir.display()
            );
        }
    } else {
        "installed"
    };

    if status != "unchanged" {
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        copy(wasm, &target)?;
        copy(&manifest_path, &dir.join(format!("{name}.toml")))?;
        // Only an accepted plugin leaves its compiled code in the cache.
        plugin.keep_compiled();
        match &mapper {
            Some(text) => write(&installed_mapper, text)?,
            None if previous_mapper.is_some() => std::fs::remove_file(&installed_mapper)
                .with_context(|| format!("removing {}", installed_mapper.display()))?,
            None => {}
        }
    }
    let placed = place_mapper(
        &ctx.playbooks_dir,
        &name,
        mapper.as_deref(),
        previous_mapper.as_deref(),
    )?;

    if status != "unchanged" {
        ctx.store()?.record_audit(
            &Actor::Cli,
            "plugin.install",
            &name,
            Value::Null,
            json!({"version": version, "from": wasm, "changes": changes, "mapper": placed.status}),
        )?;
    }
    if json_out {
        let result = json!({
            "name": name, "version": version, "status": status, "dir": dir,
            "changes": changes, "mapper": placed,
        });
        output::print_json(&result)?;
        return Ok(Outcome::Success);
    }
    match status {
        "unchanged" => println!("{name} {version} is already installed, unchanged"),
        "replaced" => {
            let listed: Vec<String> = changes.iter().map(|c| format!("  {c}")).collect();
            println!("replacing {name}:\n{}", listed.join("\n"));
            println!("installed {name} {version} into {}", dir.display());
        }
        _ => println!("installed {name} {version} into {}", dir.display()),
    }
    println!("{}", placed.sentence());
    Ok(Outcome::Success)
}

/// Compiles the mapper as the host will and checks it defines the functions the host calls.
fn check_mapper(path: &Path) -> Result<()> {
    let (Some(dir), Some(stem)) = (path.parent(), path.file_stem().and_then(|s| s.to_str())) else {
        bail!("{} is not a file path", path.display());
    };
    let cache = ScriptCache::new(dir, "mapper", scripting::engine());
    let script = cache
        .get(stem)
        .context("its default mapper does not compile: fix the script and build again")?;
    for (function, params) in MAPPER_FUNCTIONS {
        if !script
            .ast
            .iter_functions()
            .any(|f| f.name == function && f.params.len() == params)
        {
            bail!(
                "its default mapper {} defines no {function}() with {params} parameter(s): \
                 a mapper defines outgoing(profile, mapping_type) and incoming(app_user)",
                path.display()
            );
        }
    }
    Ok(())
}

/// The line a reinstall lists when the default mapper is added, dropped or changed.
fn mapper_change(had: bool, has: bool) -> &'static str {
    match (had, has) {
        (false, _) => "mapper: + default mapper",
        (true, false) => "mapper: - default mapper",
        (true, true) => "mapper: the default mapper changed",
    }
}

/// Puts the default mapper at `<playbooks>/mappers/<name>.rhai` unless the administrator
/// has their own there (`previous` is the default the last install carried).
fn place_mapper(
    playbooks: &Path,
    name: &str,
    mapper: Option<&[u8]>,
    previous: Option<&[u8]>,
) -> Result<MapperResult> {
    let path = playbooks.join("mappers").join(format!("{name}.rhai"));
    let Some(mapper) = mapper else {
        return Ok(MapperResult {
            status: MapperStatus::None,
            path,
        });
    };
    if !playbooks.is_dir() {
        return Ok(MapperResult {
            status: MapperStatus::NoPlaybooks,
            path,
        });
    }
    let status = match read_optional(&path)? {
        None => MapperStatus::Installed,
        Some(current) if current == mapper => MapperStatus::Unchanged,
        Some(current) if Some(current.as_slice()) == previous => MapperStatus::Updated,
        Some(_) => MapperStatus::Kept,
    };
    if matches!(status, MapperStatus::Installed | MapperStatus::Updated) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        write(&path, mapper)?;
    }
    Ok(MapperResult { status, path })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// What installing `new` (from `new_wasm`) over the plugin at `installed_toml` and
/// `installed_wasm` changes, one line each; empty when nothing does.
fn replacement(
    installed_toml: &Path,
    installed_wasm: &Path,
    new: &LoadedPlugin,
    new_wasm: &Path,
) -> Result<Vec<String>> {
    let installed = match Manifest::load(installed_toml) {
        Ok(manifest) => manifest,
        // A broken installation is replaced knowingly, like any other change.
        Err(err) => {
            return Ok(vec![format!(
                "the installed manifest does not load: {err:#}"
            )])
        }
    };
    let mut lines: Vec<String> = manifest_diff::changes(&installed, &new.manifest)
        .iter()
        .map(ToString::to_string)
        .collect();
    let read =
        |path: &Path| std::fs::read(path).with_context(|| format!("reading {}", path.display()));
    if lines.is_empty() && read(installed_wasm)? != read(new_wasm)? {
        lines.push(format!(
            "component: the code differs under the same version {}",
            new.manifest.version
        ));
    }
    Ok(lines)
}
