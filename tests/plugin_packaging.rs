//! A plugin package (`X.wasm`, `X.toml`, optional `X.mapper.rhai`) as `ilm plugin install`
//! takes it: the default mapper lands in the playbooks' mappers/ only where the
//! administrator has none, an edited one is never overwritten, a mapper that does not
//! compile stops the install before anything is written, and a changed default mapper is a
//! change a reinstall lists.

mod support;

use serde_json::Value;
use std::path::{Path, PathBuf};
use support::{dist, Ilm};

/// An `ilm` with empty plugins and playbooks folders of its own.
struct Setup {
    ilm: Ilm,
    _plugins: tempfile::TempDir,
    playbooks: tempfile::TempDir,
}

fn setup() -> Setup {
    let plugins = tempfile::tempdir().expect("tempdir");
    let playbooks = tempfile::tempdir().expect("tempdir");
    let mut ilm = Ilm::new(plugins.path().to_owned());
    ilm.playbooks_dir = playbooks.path().to_owned();
    Setup {
        ilm,
        _plugins: plugins,
        playbooks,
    }
}

impl Setup {
    fn mapper(&self, name: &str) -> PathBuf {
        self.playbooks.path().join(format!("mappers/{name}.rhai"))
    }

    /// `ilm plugin install --json`, expected to succeed.
    fn install(&self, wasm: &Path, extra: &[&str]) -> Value {
        let mut args = vec![
            "plugin",
            "install",
            wasm.to_str().expect("UTF-8 path"),
            "--json",
        ];
        args.extend(extra);
        serde_json::from_str(&self.ilm.ok(&args)).expect("install JSON")
    }

    /// `ilm plugin install`, expected to be refused with every one of `expected` in its
    /// error.
    fn refused(&self, wasm: &Path, expected: &[&str]) {
        let ran = self
            .ilm
            .run(&["plugin", "install", wasm.to_str().expect("UTF-8 path")]);
        assert_eq!(ran.code, 1, "installed: {}", ran.stdout);
        for text in expected {
            assert!(ran.stderr.contains(text), "{text}: {}", ran.stderr);
        }
    }
}

/// A copy of the test plugin memory-app's package, to edit.
fn memory_app_package() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in [
        "memory-app.wasm",
        "memory-app.toml",
        "memory-app.mapper.rhai",
    ] {
        std::fs::copy(dist("test-plugins").join(file), dir.path().join(file))
            .unwrap_or_else(|e| panic!("copying {file}: {e}"));
    }
    let wasm = dir.path().join("memory-app.wasm");
    (dir, wasm)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn install_puts_the_default_mapper_in_place_and_never_overwrites_an_edited_one() {
    let s = setup();
    let wasm = dist("test-plugins").join("memory-app.wasm");
    let shipped = read(&dist("test-plugins").join("memory-app.mapper.rhai"));

    let first = s.install(&wasm, &[]);
    assert_eq!(first["status"], "installed", "{first}");
    assert_eq!(first["mapper"]["status"], "installed", "{first}");
    assert_eq!(read(&s.mapper("memory-app")), shipped);

    let edited = format!("{shipped}\n// the administrator's own line\n");
    std::fs::write(s.mapper("memory-app"), &edited).expect("editing the mapper");
    let again = s.install(&wasm, &[]);
    assert_eq!(again["status"], "unchanged", "{again}");
    assert_eq!(again["mapper"]["status"], "kept", "{again}");
    assert_eq!(read(&s.mapper("memory-app")), edited, "the edit survives");

    let text = s
        .ilm
        .ok(&["plugin", "install", wasm.to_str().expect("UTF-8")]);
    assert!(text.contains("(edited): kept as it is"), "{text}");
}

#[test]
fn a_plugin_without_a_mapper_installs_and_says_so() {
    let s = setup();
    let result = s.install(&dist("test-plugins").join("hostile.wasm"), &[]);
    assert_eq!(result["status"], "installed", "{result}");
    assert_eq!(result["mapper"]["status"], "none", "{result}");
    assert!(!s.mapper("hostile").exists());
    assert!(s.ilm.plugins_dir.join("hostile.wasm").is_file());
}

#[test]
fn without_a_playbooks_folder_the_plugin_installs_and_the_mapper_waits_for_ilm_init() {
    let mut s = setup();
    s.ilm.playbooks_dir = s.playbooks.path().join("not-made-yet");
    let result = s.install(&dist("test-plugins").join("memory-app.wasm"), &[]);
    assert_eq!(result["status"], "installed", "{result}");
    assert_eq!(result["mapper"]["status"], "no_playbooks", "{result}");
    assert!(
        !s.ilm.playbooks_dir.exists(),
        "no playbooks folder is half-made"
    );
}

#[test]
fn a_mapper_that_does_not_compile_is_refused_with_the_script_error_and_nothing_is_installed() {
    let s = setup();
    let (package, wasm) = memory_app_package();
    std::fs::write(
        package.path().join("memory-app.mapper.rhai"),
        "fn outgoing(profile, mapping_type) {\n  #{ name: profile.name\n}\n",
    )
    .expect("writing a broken mapper");

    s.refused(
        &wasm,
        &[
            "plugin \"memory-app\" was not installed",
            "does not compile",
            "memory-app.mapper.rhai",
            "line",
        ],
    );
    let left: Vec<_> = std::fs::read_dir(&s.ilm.plugins_dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.file_name())
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "half-installed: {left:?}");
    assert!(!s.mapper("memory-app").exists());

    std::fs::write(
        package.path().join("memory-app.mapper.rhai"),
        "fn outgoing(profile, mapping_type) { profile }\n",
    )
    .expect("writing a mapper without incoming");
    s.refused(&wasm, &["defines no incoming()"]);
}

#[test]
fn a_changed_default_mapper_is_a_change_that_needs_force_and_updates_an_unedited_copy() {
    let s = setup();
    let (package, wasm) = memory_app_package();
    s.install(&wasm, &[]);

    let packaged = package.path().join("memory-app.mapper.rhai");
    let changed = format!("// version two of the default\n{}", read(&packaged));
    std::fs::write(&packaged, &changed).expect("changing the default mapper");
    s.refused(&wasm, &["mapper: the default mapper changed", "--force"]);
    assert_ne!(
        read(&s.mapper("memory-app")),
        changed,
        "replaced without --force"
    );

    let forced = s.install(&wasm, &["--force"]);
    assert_eq!(forced["status"], "replaced", "{forced}");
    assert_eq!(forced["changes"][0], "mapper: the default mapper changed");
    assert_eq!(forced["mapper"]["status"], "updated", "{forced}");
    assert_eq!(read(&s.mapper("memory-app")), changed);
}

#[test]
fn show_lists_the_documented_example_settings() {
    let ilm = Ilm::new(dist("plugins"));
    let shown = ilm.ok(&["plugin", "show", "servicenow"]);
    assert!(shown.contains("svc-ilm"), "the example column: {shown}");
    let json: Value =
        serde_json::from_str(&ilm.ok(&["plugin", "show", "servicenow", "--json"])).expect("JSON");
    let url = json["params"]
        .as_array()
        .and_then(|params| params.iter().find(|p| p["name"] == "url"))
        .expect("the url parameter");
    assert_eq!(url["example"], "https://acme.service-now.com");
}
