//! `ilm plugin new`: each language's project is generated outside the repository, built
//! with its own `./build`, and (where this host can load it) installed and run by its own
//! `./test` against its fake app. So the templates cannot rot: a change to the WIT, the SDK,
//! the manifest rules or the IAM algorithm that breaks a generated project fails here.
//!
//! componentize-py and componentize-js come from `scripts/install-test-services`
//! (`.services/componentize-py`, `.services/componentize-js`); `COMPONENTIZE_PY` and
//! `COMPONENTIZE_JS` point elsewhere. The Rust project builds into the guest plugins'
//! target folder, whose dependencies `scripts/build-plugins` has already built.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::repo_root;

/// A tool the templates build with: `$var`, else its place under `.services`.
fn tool(var: &str, under_services: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".services").join(under_services));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/install-test-services (or set {var})",
        path.display()
    );
    path
}

/// Runs `program` in `dir` and asserts it succeeds; returns its stdout.
fn run(dir: &Path, program: &Path, args: &[&str], env: &[(&str, &Path)]) -> String {
    let mut command = Command::new(program);
    command.current_dir(dir).args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", program.display()));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success(),
        "{} {args:?} in {} failed:\n{stdout}\n{stderr}",
        program.display(),
        dir.display()
    );
    stdout.into_owned()
}

fn ilm() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ilm"))
}

/// Generates the project for `lang` under `parent` and builds it; returns its folder.
fn generate_and_build(parent: &Path, lang: &str, env: &[(&str, &Path)]) -> PathBuf {
    let name = format!("acme-{lang}");
    let said = run(
        parent,
        ilm(),
        &["plugin", "new", &name, "--lang", lang],
        &[],
    );
    assert!(said.contains("./build && ./test"), "{said}");
    let dir = parent.join(&name);
    let built = run(&dir, &dir.join("build"), &[], env);
    assert!(built.contains(&format!("built {name}.wasm")), "{built}");
    let wasm = dir.join(format!("{name}.wasm"));
    let bytes = std::fs::read(&wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
    // A component (layer 1), not a core module.
    assert_eq!(
        &bytes[..8],
        b"\0asm\x0d\0\x01\0",
        "{} is not a component",
        wasm.display()
    );
    dir
}

/// Runs the project's own end-to-end test with this build's `ilm`.
fn passes_its_test(dir: &Path) {
    let out = run(dir, &dir.join("test"), &[], &[("ILM", ilm())]);
    assert!(out.contains("test: all checks passed"), "{out}");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn each_template_builds_and_passes_its_own_test() {
    let parent = tempfile::tempdir().expect("tempdir");
    let target = repo_root().join("plugins/target");
    let rust = generate_and_build(parent.path(), "rust", &[("CARGO_TARGET_DIR", &target)]);
    passes_its_test(&rust);

    let componentize_js = tool(
        "COMPONENTIZE_JS",
        "componentize-js/node_modules/.bin/componentize-js",
    );
    let js = generate_and_build(
        parent.path(),
        "js",
        &[("COMPONENTIZE_JS", &componentize_js)],
    );
    passes_its_test(&js);

    // The Python component bundles an interpreter that imports WASI (declared in its
    // manifest); the host links it and grants nothing through it.
    let componentize_py = tool("COMPONENTIZE_PY", "componentize-py/bin/componentize-py");
    let python = generate_and_build(
        parent.path(),
        "python",
        &[("COMPONENTIZE_PY", &componentize_py)],
    );
    passes_its_test(&python);
}

#[test]
fn bad_input_is_refused_with_the_fix_and_nothing_is_written() {
    let parent = tempfile::tempdir().expect("tempdir");
    let refused = |args: &[&str]| {
        let out = Command::new(ilm())
            .current_dir(parent.path())
            .args(["plugin", "new"])
            .args(args)
            .output()
            .expect("running ilm");
        assert!(!out.status.success(), "{args:?} was accepted");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let lang = refused(&["acme", "--lang", "go"]);
    assert!(
        lang.contains("[possible values: rust, js, python]"),
        "{lang}"
    );
    let name = refused(&["Acme_SCIM", "--lang", "js"]);
    assert!(
        name.contains("not a valid plugin name") && name.contains("lowercase"),
        "{name}"
    );
    let empty = || std::fs::read_dir(parent.path()).expect("read").count() == 0;
    assert!(empty(), "a refused name or language wrote something");

    let taken = parent.path().join("taken");
    std::fs::create_dir(&taken).expect("mkdir");
    std::fs::write(taken.join("notes.txt"), "mine").expect("write");
    let dir = refused(&["acme", "--lang", "rust", "--dir", "taken"]);
    assert!(dir.contains("exists and is not empty"), "{dir}");
    let left: Vec<_> = std::fs::read_dir(&taken)
        .expect("read")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left, ["notes.txt"]);

    // An empty folder is fine.
    std::fs::create_dir(parent.path().join("empty")).expect("mkdir");
    run(
        parent.path(),
        ilm(),
        &["plugin", "new", "acme", "--lang", "js", "--dir", "empty"],
        &[],
    );
    assert!(parent.path().join("empty/acme.toml").is_file());
}
