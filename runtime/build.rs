//! Embeds into the binary what it writes out elsewhere: the shipped playbooks, mappers and
//! transformers (the repository's `playbooks/`), so `ilm init` can give a data directory its
//! own copy; and the plugin project templates (`runtime/templates/`) with the WIT, the Rust
//! SDK's sources and the guest lockfile, so `ilm plugin new` writes a complete project
//! wherever the binary runs.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let repo = manifest_dir.join("..");

    let mut code = String::new();
    embed(
        &mut code,
        "FILES",
        "The shipped playbook files: path under the playbooks folder, contents.",
        &repo.join("playbooks"),
        false,
    );
    std::fs::write(out.join("shipped_playbooks.rs"), code).expect("writing shipped_playbooks.rs");

    let mut code = String::new();
    embed(
        &mut code,
        "TEMPLATES",
        "The plugin project templates: `<common|rust|js|python>/<path>`, contents.",
        &manifest_dir.join("templates"),
        true,
    );
    embed(
        &mut code,
        "SDK",
        "The Rust guest SDK crate (`plugins/sdk`, its WIT link resolved): path under it, contents.",
        &repo.join("plugins/sdk"),
        true,
    );
    embed(
        &mut code,
        "WIT",
        "The WIT package plugins are built against: path under `wit/`, contents.",
        &repo.join("wit"),
        true,
    );
    let lock = repo.join("plugins/Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    code.push_str(&format!(
        "/// The guest workspace's lockfile: the dependency versions the SDK is tested with.\npub const GUEST_LOCK: &[u8] = include_bytes!({:?});\n",
        canonical(&lock)
    ));
    std::fs::write(out.join("plugin_templates.rs"), code).expect("writing plugin_templates.rs");
}

/// Appends `pub const NAME: &[(&str, &[u8])]` (path, contents) of every file under `root`,
/// or with `with_mode` `&[(&str, &[u8], bool)]` (path, contents, executable).
fn embed(code: &mut String, name: &str, doc: &str, root: &Path, with_mode: bool) {
    // A directory makes cargo look at every file under it.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(root, root, &mut files);
    files.sort();
    let row = if with_mode {
        "(&str, &[u8], bool)"
    } else {
        "(&str, &[u8])"
    };
    code.push_str(&format!("/// {doc}\npub const {name}: &[{row}] = &[\n"));
    for (relative, absolute, executable) in files {
        let mode = if with_mode {
            format!(", {executable}")
        } else {
            String::new()
        };
        code.push_str(&format!(
            "    ({relative:?}, include_bytes!({absolute:?}){mode}),\n"
        ));
    }
    code.push_str("];\n");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String, bool)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        // `is_dir` follows links, so the SDK's `wit` link is embedded as the files it names.
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            let relative = relative
                .to_str()
                .expect("UTF-8 file names")
                .replace('\\', "/");
            let absolute = canonical(&path);
            if Path::new(&absolute) != path {
                // A link (a plugin's mapper): watch the file it points to.
                println!("cargo:rerun-if-changed={absolute}");
            }
            let mode = std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
                .permissions()
                .mode();
            files.push((relative, absolute, mode & 0o111 != 0));
        }
    }
}

fn canonical(path: &Path) -> String {
    let absolute = path
        .canonicalize()
        .unwrap_or_else(|e| panic!("resolving {}: {e}", path.display()));
    absolute.to_str().expect("UTF-8 path").to_owned()
}
