//! `import "lib/iam" as iam;` for scripts, kept inside the folder the scripts live in: an
//! import that resolves elsewhere (`../`, an absolute path, a symlink leading out) is refused
//! before anything is read, so an edited script cannot load (or probe for) files the
//! runtime can read but an administrator never meant scripts to run.

use rhai::module_resolvers::FileModuleResolver;
use rhai::{Engine, EvalAltResult, Module, ModuleResolver, Position};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Module resolver loading `<root>/<path>.rhai`, refusing paths that resolve outside `root`.
pub struct ConfinedImports {
    root: PathBuf,
    files: FileModuleResolver,
}

impl ConfinedImports {
    pub fn new(root: &Path) -> Self {
        // Absolute now, so a later change of working directory cannot move the root.
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_owned());
        Self {
            files: FileModuleResolver::new_with_path(&root),
            root,
        }
    }

    /// Where `path` leads, or why it may not be imported.
    fn check(&self, path: &str) -> Result<PathBuf, String> {
        let file = self.files.get_file_path(path, None);
        let root = self.root.canonicalize().map_err(|e| {
            format!(
                "the scripts folder {} cannot be read: {e}",
                self.root.display()
            )
        })?;
        // A file that does not exist is judged by its path alone; a missing module inside
        // the folder is then reported as not found by the file resolver.
        let (resolved, inside) = match file.canonicalize() {
            Ok(real) => {
                let inside = real.starts_with(&root);
                (real, inside)
            }
            Err(_) => {
                let plain = lexical(&file);
                let inside = plain.starts_with(&self.root) || plain.starts_with(&root);
                (plain, inside)
            }
        };
        match inside {
            true => Ok(file),
            false => Err(format!(
                "import {path:?} resolves to {}, outside the scripts folder {}: scripts may import only files under it",
                resolved.display(),
                root.display()
            )),
        }
    }
}

/// `path` with `.` and `..` folded away, without touching the file system.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

impl ModuleResolver for ConfinedImports {
    fn resolve(
        &self,
        engine: &Engine,
        source: Option<&str>,
        path: &str,
        pos: Position,
    ) -> Result<Arc<Module>, Box<EvalAltResult>> {
        let refused = |message: String| {
            let message = match source {
                Some(module) => format!("in module {module}: {message}"),
                None => message,
            };
            Box::new(EvalAltResult::ErrorRuntime(message.into(), pos))
        };
        self.check(path).map_err(refused)?;
        self.files.resolve(engine, source, path, pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Scope;

    /// A scripts folder with `lib/iam.rhai`, beside a secret file outside it.
    fn layout() -> (tempfile::TempDir, PathBuf) {
        let top = tempfile::tempdir().unwrap();
        let scripts = top.path().join("playbooks");
        std::fs::create_dir_all(scripts.join("lib")).unwrap();
        std::fs::write(scripts.join("lib/iam.rhai"), "fn hello() { \"hi\" }").unwrap();
        std::fs::write(top.path().join("outside.rhai"), "fn hello() { \"leak\" }").unwrap();
        (top, scripts)
    }

    fn run(scripts: &Path, script: &str) -> Result<String, String> {
        let mut engine = Engine::new();
        engine.set_module_resolver(ConfinedImports::new(scripts));
        engine
            .eval_with_scope::<String>(&mut Scope::new(), script)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_module_in_the_folder_imports() {
        let (_top, scripts) = layout();
        assert_eq!(
            run(&scripts, "import \"lib/iam\" as iam;\niam::hello()").unwrap(),
            "hi"
        );
        assert_eq!(
            run(&scripts, "import \"lib/../lib/iam\" as iam;\niam::hello()").unwrap(),
            "hi"
        );
    }

    #[test]
    fn a_parent_escape_is_refused_with_the_line_and_path() {
        let (_top, scripts) = layout();
        let err = run(
            &scripts,
            "let x = 1;\nimport \"../outside\" as o;\no::hello()",
        )
        .unwrap_err();
        assert!(
            err.contains("import \"../outside\" resolves to")
                && err.contains("outside.rhai, outside the scripts folder")
                && err.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn an_absolute_path_is_refused_even_when_it_does_not_exist() {
        let (top, scripts) = layout();
        let outside = top.path().join("outside");
        let err = run(
            &scripts,
            &format!(
                "import {:?} as o;\no::hello()",
                outside.display().to_string()
            ),
        )
        .unwrap_err();
        assert!(
            err.contains("outside the scripts folder") && err.contains("line 1"),
            "{err}"
        );
        let err = run(&scripts, "import \"/etc/nothing-here\" as o;\n1").unwrap_err();
        assert!(
            err.contains("/etc/nothing-here.rhai, outside the scripts folder"),
            "{err}"
        );
    }

    #[test]
    fn a_symlink_leading_out_is_refused() {
        let (top, scripts) = layout();
        std::os::unix::fs::symlink(top.path(), scripts.join("lib/up")).unwrap();
        let err = run(&scripts, "import \"lib/up/outside\" as o;\no::hello()").unwrap_err();
        assert!(err.contains("outside the scripts folder"), "{err}");
    }

    #[test]
    fn a_missing_module_inside_is_not_found() {
        let (_top, scripts) = layout();
        let err = run(&scripts, "import \"lib/nothing\" as o;\n1").unwrap_err();
        assert!(
            err.contains("not found") && !err.contains("outside"),
            "{err}"
        );
    }
}
