//! Embeds the shipped playbooks, mappers and transformers (the repository's `playbooks/`)
//! into the binary, so `ilm init` can give a data directory its own copy wherever the
//! binary runs. A plugin's default mapper lives with the plugin's source
//! (`plugins/<name>/mapper.rhai`); `playbooks/mappers/<name>.rhai` is a link to it.

use std::path::{Path, PathBuf};

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let root = manifest_dir.join("../playbooks");
    // A directory makes cargo look at every file under it.
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    files.sort();
    let mut code = String::from("/// The shipped playbook files: path under the playbooks folder, contents.\npub const FILES: &[(&str, &[u8])] = &[\n");
    for (relative, absolute) in files {
        code.push_str(&format!(
            "    ({relative:?}, include_bytes!({absolute:?})),\n"
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    std::fs::write(out.join("shipped_playbooks.rs"), code).expect("writing shipped_playbooks.rs");
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path.strip_prefix(root).expect("under the root");
            let relative = relative
                .to_str()
                .expect("UTF-8 file names")
                .replace('\\', "/");
            let absolute = path.canonicalize().expect("canonical path");
            if absolute != path {
                // A link (a plugin's mapper): watch the file it points to.
                println!("cargo:rerun-if-changed={}", absolute.display());
            }
            files.push((relative, absolute.to_str().expect("UTF-8 path").to_owned()));
        }
    }
}
