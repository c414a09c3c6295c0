//! `ilm plugin new NAME --lang rust|js|python`: writes a complete plugin project (manifest,
//! default mapper, source, the WIT, a build script, a README, and a test against a small
//! fake of the app) that builds and installs with no edits. The templates are embedded in
//! the binary (from `runtime/templates/`), so it works wherever `ilm` runs.

use super::Outcome;
use anyhow::{bail, Context as _, Result};
use clap::{Args, ValueEnum};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

include!(concat!(env!("OUT_DIR"), "/plugin_templates.rs"));

/// A language's `fragments/<NAME>.<ext>` fills the placeholder `__<NAME>__` in the common
/// files (empty when it has none), and is not written itself.
const FRAGMENTS: &str = "fragments/";
const FRAGMENT_NAMES: &[&str] = &["BUILD_NOTES", "MANIFEST_EXTRA"];

#[derive(Args)]
pub struct NewArgs {
    /// The plugin's name: lowercase letters, digits and '-', starting with a letter.
    pub name: String,
    /// The language of the plugin's source.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Where to write the project (default: ./NAME); it must not exist or be empty.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Lang {
    Rust,
    Js,
    Python,
}

impl Lang {
    /// The template folder under `runtime/templates/`.
    fn folder(self) -> &'static str {
        match self {
            Lang::Rust => "rust",
            Lang::Js => "js",
            Lang::Python => "python",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Js => "JavaScript",
            Lang::Python => "Python",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Lang::Rust => "src/lib.rs",
            Lang::Js => "app.js",
            Lang::Python => "app.py",
        }
    }
}

/// One file of a generated project.
#[derive(Debug)]
pub struct File {
    pub path: String,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// Writes the project and says what to do next.
pub fn command(args: NewArgs) -> Result<Outcome> {
    check_name(&args.name)?;
    let dir = args.dir.unwrap_or_else(|| PathBuf::from(&args.name));
    let files = project(&args.name, args.lang);
    write_project(&dir, &files)?;
    let (name, lang, shown, count) = (&args.name, args.lang.title(), dir.display(), files.len());
    println!(
        "wrote the {lang} plugin {name} into {shown} ({count} files)\n\
         next: cd {shown} && ./build && ./test, then ilm plugin install {name}.wasm"
    );
    Ok(Outcome::Success)
}

/// Refuses a name that is not valid as a plugin, a Rust crate, a file and a command prefix.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !starts_with_letter
        || name.len() > 64
        || name.ends_with('-')
        || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        bail!(
            "{name:?} is not a valid plugin name: use lowercase letters, digits and '-', \
             starting with a letter and not ending with '-', at most 64 characters (e.g. acme-scim)"
        );
    }
    Ok(())
}

/// Every file of the project for `name` in `lang`, placeholders filled.
pub fn project(name: &str, lang: Lang) -> Vec<File> {
    let fragments: Vec<(String, String)> = FRAGMENT_NAMES
        .iter()
        .map(|fragment| (format!("__{fragment}__"), fragment_text(lang, fragment)))
        .collect();
    let fill = |text: &str| {
        let text = fragments
            .iter()
            .fold(text.to_owned(), |text, (placeholder, value)| {
                text.replace(placeholder, value)
            });
        text.replace("__NAME__", name)
            .replace("__CRATE__", &name.replace('-', "_"))
            .replace("__LANG__", lang.title())
            .replace("__SOURCE__", lang.source())
    };
    let mut files = Vec::new();
    for (path, contents, executable) in TEMPLATES {
        let Some((folder, relative)) = path.split_once('/') else {
            continue;
        };
        if (folder != "common" && folder != lang.folder()) || relative.starts_with(FRAGMENTS) {
            continue;
        }
        let contents = match std::str::from_utf8(contents) {
            Ok(text) => fill(text).into_bytes(),
            Err(_) => contents.to_vec(),
        };
        files.push(File {
            path: fill(relative),
            contents,
            executable: *executable,
        });
    }
    // The project builds against its own copy of the WIT (componentize-js reads only files
    // under the project folder).
    files.extend(embedded("wit", WIT));
    if matches!(lang, Lang::Rust) {
        // The SDK is not on crates.io yet: the project carries it, with the lockfile the
        // runtime's own plugins are built with.
        files.extend(embedded("vendor/ilm-plugin-sdk", SDK));
        files.push(File {
            path: "Cargo.lock".to_owned(),
            contents: GUEST_LOCK.to_vec(),
            executable: false,
        });
    }
    files
}

fn embedded(under: &str, tree: &[(&str, &[u8], bool)]) -> Vec<File> {
    tree.iter()
        .map(|(path, contents, executable)| File {
            path: format!("{under}/{path}"),
            contents: contents.to_vec(),
            executable: *executable,
        })
        .collect()
}

/// The text of `lang`'s fragment `name` (any extension), trimmed; empty when it has none.
fn fragment_text(lang: Lang, name: &str) -> String {
    let prefix = format!("{}/{FRAGMENTS}{name}.", lang.folder());
    TEMPLATES
        .iter()
        .find(|(path, _, _)| path.starts_with(&prefix))
        .map(|(_, contents, _)| String::from_utf8_lossy(contents).trim().to_owned())
        .unwrap_or_default()
}

/// Writes `files` under `dir`, which must not exist or be empty; on a failure, removes
/// what it wrote.
fn write_project(dir: &Path, files: &[File]) -> Result<()> {
    let existed = dir.exists();
    if existed {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("{} exists and is not a readable folder", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} exists and is not empty: choose another --dir, or remove it first",
                dir.display()
            );
        }
    }
    let written = files.iter().try_for_each(|file| write_file(dir, file));
    if written.is_err() {
        if existed {
            // Empty before: empty again.
            if let Ok(entries) = std::fs::read_dir(dir) {
                for entry in entries.flatten() {
                    let _ = std::fs::remove_dir_all(entry.path())
                        .or_else(|_| std::fs::remove_file(entry.path()));
                }
            }
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    written
}

fn write_file(dir: &Path, file: &File) -> Result<()> {
    let path = dir.join(&file.path);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating the folder {}", parent.display()))?;
    }
    std::fs::write(&path, &file.contents).with_context(|| format!("writing {}", path.display()))?;
    if file.executable {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("making {} executable", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugins::Manifest;

    #[test]
    fn names_that_cannot_be_a_plugin_crate_and_file_are_refused() {
        for good in ["acme", "acme-scim", "a2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "Acme",
            "2acme",
            "acme_scim",
            "acme-",
            "a/b",
            "../x",
            &"a".repeat(65),
        ] {
            let err = check_name(bad).unwrap_err().to_string();
            assert!(err.contains("not a valid plugin name"), "{bad}: {err}");
        }
    }

    #[test]
    fn each_language_gets_a_valid_manifest_its_source_and_no_placeholder() {
        for lang in [Lang::Rust, Lang::Js, Lang::Python] {
            let dir = tempfile::tempdir().expect("tempdir");
            let files = project("acme-scim", lang);
            write_project(dir.path(), &files).expect("writing");
            let manifest = Manifest::load(&dir.path().join("acme-scim.toml")).expect("valid");
            assert_eq!(manifest.name, "acme-scim");
            assert!(manifest.command("acme-scim-list-users").is_some());
            for must in [
                lang.source(),
                "build",
                "test",
                "fake_app.py",
                "README.md",
                "wit/plugin.wit",
                "acme-scim.mapper.rhai",
            ] {
                assert!(dir.path().join(must).is_file(), "{}: {must}", lang.title());
            }
            for file in &files {
                let text = String::from_utf8_lossy(&file.contents);
                let left = FRAGMENT_NAMES
                    .iter()
                    .chain(&["NAME", "CRATE", "LANG", "SOURCE"])
                    .find(|name| text.contains(&format!("__{name}__")));
                assert_eq!(left, None, "{}: a placeholder is left", file.path);
                assert!(!file.path.contains(FRAGMENTS), "{}", file.path);
            }
            let build = std::fs::metadata(dir.path().join("build")).expect("build");
            assert_eq!(build.permissions().mode() & 0o111, 0o111);
        }
    }

    #[test]
    fn a_rust_project_carries_the_sdk_and_names_its_crate() {
        let files = project("acme-scim", Lang::Rust);
        let file = |path: &str| {
            files
                .iter()
                .find(|f| f.path == path)
                .map(|f| String::from_utf8_lossy(&f.contents).into_owned())
        };
        assert!(file("vendor/ilm-plugin-sdk/src/lib.rs").is_some());
        assert!(file("vendor/ilm-plugin-sdk/wit/plugin.wit").is_some());
        assert!(file("Cargo.lock").is_some());
        assert!(file("build")
            .expect("build")
            .contains("release/acme_scim.wasm"));
        assert!(file("Cargo.toml")
            .expect("Cargo.toml")
            .contains("name = \"acme-scim\""));
    }

    #[test]
    fn a_non_empty_folder_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("mine.txt"), "keep").expect("write");
        let err = write_project(dir.path(), &project("acme", Lang::Js))
            .unwrap_err()
            .to_string();
        assert!(err.contains("is not empty"), "{err}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .expect("read")
            .flatten()
            .collect();
        assert_eq!(left.len(), 1);
    }
}
