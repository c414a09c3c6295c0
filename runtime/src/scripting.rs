//! The Rhai side shared by mappers, transformers and playbooks: one engine with limits
//! always on and the host functions every script may use, and a cache that compiles each
//! script once per file version. A script that fails to compile or to run is a
//! [`ScriptError`] naming the script (kind, name, file) with the line in its cause, so
//! whoever called it can report the script that failed rather than its own.

use anyhow::{Context, Result};
use rand::seq::SliceRandom;
use rand::RngExt as _;
use rhai::{Dynamic, Engine, EvalAltResult, FnPtr, Module, Scope, AST};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::SystemTime;

mod imports;
pub use imports::ConfinedImports;

/// The longest string a script may build, in bytes.
const MAX_STRING_BYTES: usize = 256 * 1024;

/// A Rhai engine with every limit on and the common host functions registered.
pub fn engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(1_000_000)
        .set_max_call_levels(32)
        .set_max_expr_depths(64, 32)
        .set_max_string_size(MAX_STRING_BYTES)
        .set_max_array_size(10_000)
        .set_max_map_size(10_000);
    engine.register_fn("secure_random", secure_random);
    engine.register_fn("secure_pick", secure_pick);
    engine.register_fn("secure_shuffle", secure_shuffle);
    engine.register_fn("day_number", day_number);
    engine
}

/// Days since 1970-01-01 of a date written `MM/DD/YYYY` (as HR reports and profiles hold
/// them) or `YYYY-MM-DD[...]` (ISO, as `today()` returns): lets scripts compare dates.
fn day_number(text: &str) -> Result<i64, Box<EvalAltResult>> {
    let bad = || -> Box<EvalAltResult> {
        format!("{text:?} is not a date (MM/DD/YYYY or YYYY-MM-DD)").into()
    };
    let number = |s: &str| s.parse::<i64>().map_err(|_| bad());
    let (year, month, day) = match (text.get(2..3), text.get(4..5)) {
        (Some("/"), _) => {
            let mut parts = text.splitn(3, '/');
            let (m, d, y) = (
                parts.next().ok_or_else(bad)?,
                parts.next().ok_or_else(bad)?,
                parts.next().ok_or_else(bad)?,
            );
            (number(y.get(..4).unwrap_or(y))?, number(m)?, number(d)?)
        }
        (_, Some("-")) => (
            number(&text[..4])?,
            number(text.get(5..7).ok_or_else(bad)?)?,
            number(text.get(8..10).ok_or_else(bad)?)?,
        ),
        _ => return Err(bad()),
    };
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return Err(bad());
    }
    // Days from civil (proleptic Gregorian), H. Hinnant's algorithm.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Ok(era * 146_097 + doe - 719_468)
}

// The random draws below come from rand's thread-local CSPRNG (ChaCha12 reseeded from the
// OS): a system call per draw was most of a generated password's cost.

/// A uniformly random integer in `0..n` (for password generation).
fn secure_random(n: i64) -> Result<i64, Box<EvalAltResult>> {
    if n <= 0 {
        return Err(format!("secure_random needs a positive bound, got {n}").into());
    }
    Ok(rand::rng().random_range(0..n))
}

/// `n` characters of `text`, each drawn uniformly and independently (so one may repeat).
fn secure_pick(text: &str, n: i64) -> Result<String, Box<EvalAltResult>> {
    let chars: Vec<char> = text.chars().collect();
    let count = usize::try_from(n)
        .ok()
        .filter(|&count| count <= MAX_STRING_BYTES)
        .ok_or_else(|| format!("secure_pick draws 0 to {MAX_STRING_BYTES} characters, not {n}"))?;
    if chars.is_empty() && count > 0 {
        return Err("secure_pick has no characters to draw from".into());
    }
    let mut rng = rand::rng();
    Ok((0..count)
        .map(|_| chars[rng.random_range(0..chars.len())])
        .collect())
}

/// The characters of `text` in a uniformly random order.
fn secure_shuffle(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    chars.shuffle(&mut rand::rng());
    chars.into_iter().collect()
}

/// A script that did not compile or failed while running.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name} ({}): {cause}", path.display())]
pub struct ScriptError {
    /// "playbook", "mapper", "transformer".
    pub kind: &'static str,
    pub name: String,
    pub path: PathBuf,
    /// What went wrong; Rhai's message ends with the line and position.
    pub cause: String,
}

/// One compiled script.
pub struct Script {
    engine: Arc<Engine>,
    pub ast: AST,
    /// The script's functions bound to its top level, evaluated once, for [`Script::call`]
    /// (made on the first call: a playbook, whose top level is the work, never needs it).
    functions: OnceLock<Result<AST, ScriptError>>,
    pub kind: &'static str,
    pub name: String,
    pub path: PathBuf,
}

impl Script {
    /// Calls `function` with JSON arguments; returns its result as JSON. Errors name the
    /// script, the function, the line and the cause. The script's top level (its `const`
    /// tables, its imports) runs once, on the first call, not on every call.
    pub fn call(&self, function: &str, args: &[Value]) -> Result<Value, ScriptError> {
        let functions = self
            .functions
            .get_or_init(|| self.bind_top_level())
            .as_ref()
            .map_err(Clone::clone)?;
        let args = args
            .iter()
            .map(|v| rhai::serde::to_dynamic(v).map_err(|e| self.error(format!("{e}"))))
            .collect::<Result<Vec<Dynamic>, ScriptError>>()?;
        // Called through a function pointer, not `call_fn`: a call by name is dispatched as a
        // script's own calls are, with what the function's module keeps from the top level.
        let out: Dynamic = FnPtr::new(function)
            .and_then(|f| f.call(&self.engine, functions, args))
            .map_err(|e| self.error(format!("failed in {function}: {e}")))?;
        rhai::serde::from_dynamic(&out)
            .map_err(|e| self.error(format!("{function} returned a value that is not JSON: {e}")))
    }

    /// The script's functions as a module whose functions keep what its top level made (the
    /// `global::` constants, the imported modules). Measured: evaluating the top level again
    /// on every call, as calling into the script itself does, was a tenth of the transformer
    /// chain's time.
    fn bind_top_level(&self) -> Result<AST, ScriptError> {
        let module = Module::eval_ast_as_new(Scope::new(), &self.ast, &self.engine)
            .map_err(|e| self.error(format!("its top level failed: {e}")))?;
        Ok(AST::new_from_module(module))
    }

    /// An error of this script.
    pub fn error(&self, cause: String) -> ScriptError {
        ScriptError {
            kind: self.kind,
            name: self.name.clone(),
            path: self.path.clone(),
            cause,
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

/// Scripts of one folder by name (`<dir>/<name>.rhai`), recompiled when their file changes.
pub struct ScriptCache {
    dir: PathBuf,
    kind: &'static str,
    engine: Arc<Engine>,
    compiled: Mutex<HashMap<String, (SystemTime, Arc<Script>)>>,
}

impl ScriptCache {
    /// `kind` names the scripts in errors ("mapper", "transformer", "playbook"). Their
    /// imports are confined to `dir`.
    pub fn new(dir: &Path, kind: &'static str, mut engine: Engine) -> Self {
        engine.set_module_resolver(ConfinedImports::new(dir));
        Self {
            dir: dir.to_owned(),
            kind,
            engine: Arc::new(engine),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Names of the scripts in the folder.
    pub fn names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading {}", self.dir.display()))?
            .filter_map(|e| {
                let path = e.ok()?.path();
                (path.extension()? == "rhai")
                    .then(|| path.file_stem()?.to_str().map(str::to_owned))?
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Whether the folder has a script `name`, compiling or not: a broken script is an
    /// error when it is used, never a script that silently is not there.
    pub fn exists(&self, name: &str) -> bool {
        self.dir.join(format!("{name}.rhai")).is_file()
    }

    /// The script `name`, compiled; a compile error is a [`ScriptError`].
    pub fn get(&self, name: &str) -> Result<Arc<Script>> {
        let path = self.dir.join(format!("{name}.rhai"));
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .with_context(|| format!("no {} script {}", self.kind, path.display()))?;
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, script)) = compiled.get(name) {
            if *at == modified {
                return Ok(script.clone());
            }
        }
        let ast = self
            .engine
            .compile_file(path.clone())
            .map_err(|e| ScriptError {
                kind: self.kind,
                name: name.to_owned(),
                path: path.clone(),
                cause: format!("does not compile: {e}"),
            })?;
        let script = Arc::new(Script {
            engine: self.engine.clone(),
            ast,
            functions: OnceLock::new(),
            kind: self.kind,
            name: name.to_owned(),
            path,
        });
        compiled.insert(name.to_owned(), (modified, script.clone()));
        Ok(script)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_compare_dates_in_both_formats() {
        assert_eq!(day_number("1970-01-01").unwrap(), 0);
        assert_eq!(day_number("01/02/1970").unwrap(), 1);
        assert_eq!(
            day_number("01/15/2025").unwrap(),
            day_number("2025-01-15T08:00:00Z").unwrap()
        );
        assert_eq!(
            day_number("03/01/2024").unwrap() - day_number("02/28/2024").unwrap(),
            2
        );
        assert!(day_number("13/01/2024").is_err());
        assert!(day_number("soon").is_err());
    }

    #[test]
    fn secure_random_stays_in_range_and_covers_it() {
        let mut seen = [false; 5];
        for _ in 0..500 {
            let n = secure_random(5).unwrap();
            assert!((0..5).contains(&n));
            seen[n as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert!(secure_random(0).is_err());
    }

    #[test]
    fn secure_pick_draws_from_the_text_only_and_covers_it() {
        let drawn = secure_pick("aé!", 300).unwrap();
        assert_eq!(drawn.chars().count(), 300);
        for ch in ['a', 'é', '!'] {
            assert!(drawn.contains(ch), "{ch} never drawn in {drawn}");
        }
        assert!(drawn.chars().all(|c| "aé!".contains(c)), "{drawn}");
        assert_eq!(secure_pick("", 0).unwrap(), "");
        assert!(secure_pick("", 1)
            .unwrap_err()
            .to_string()
            .contains("no characters"));
        assert!(secure_pick("ab", -1)
            .unwrap_err()
            .to_string()
            .contains("not -1"));
        let too_many = MAX_STRING_BYTES as i64 + 1;
        assert!(secure_pick("ab", too_many).is_err());
    }

    #[test]
    fn secure_shuffle_keeps_the_characters_and_moves_them() {
        let text = "abcdefghijklmnopqrstuvwxyz0123456789é";
        let sorted = |s: &str| {
            let mut chars: Vec<char> = s.chars().collect();
            chars.sort_unstable();
            chars
        };
        let shuffled: Vec<String> = (0..5).map(|_| secure_shuffle(text)).collect();
        for s in &shuffled {
            assert_eq!(sorted(s), sorted(text), "{s}");
        }
        // 37! orders: five shuffles that all leave the text as it was are no accident.
        assert!(shuffled.iter().any(|s| s != text), "{shuffled:?}");
        assert_eq!(secure_shuffle(""), "");
    }

    #[test]
    fn script_errors_name_the_script_and_the_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.rhai"), "fn f() {\n  let x = ;\n}").unwrap();
        std::fs::write(dir.path().join("t.rhai"), "fn f() {\n  1;\n  x.nope()\n}").unwrap();
        let cache = ScriptCache::new(dir.path(), "test", engine());
        assert!(cache.exists("bad") && !cache.exists("missing"));
        let Err(err) = cache.get("bad") else {
            panic!("bad.rhai compiled")
        };
        let err = err.downcast_ref::<ScriptError>().expect("a script error");
        assert_eq!((err.kind, err.name.as_str()), ("test", "bad"));
        assert!(
            err.to_string().starts_with("test bad (")
                && err.cause.starts_with("does not compile")
                && err.cause.contains("line 2"),
            "{err}"
        );
        let err = cache.get("t").unwrap().call("f", &[]).unwrap_err();
        assert!(
            err.to_string().contains("t.rhai): failed in f: ") && err.cause.contains("line 3"),
            "{err}"
        );
        let Err(missing) = cache.get("missing") else {
            panic!("a missing script was found")
        };
        assert!(missing.downcast_ref::<ScriptError>().is_none());
    }

    #[test]
    fn the_top_level_runs_once_per_file_version_and_its_failure_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [
            (
                "drawn.rhai",
                "const DRAWN = secure_random(1000000000);\nfn f() { global::DRAWN }",
            ),
            ("broken.rhai", "fn f() { 1 }\nconst X = 1 / 0;"),
        ] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let cache = ScriptCache::new(dir.path(), "test", engine());
        let first = cache.get("drawn").unwrap().call("f", &[]).unwrap();
        assert!(first.is_i64(), "{first}");
        assert_eq!(cache.get("drawn").unwrap().call("f", &[]).unwrap(), first);
        let err = cache.get("broken").unwrap().call("f", &[]).unwrap_err();
        assert!(
            err.cause.starts_with("its top level failed") && err.cause.contains("line 2"),
            "{err}"
        );
    }

    #[test]
    fn a_changed_file_is_recompiled() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.rhai");
        std::fs::write(&path, "fn f() { 1 }").unwrap();
        let cache = ScriptCache::new(dir.path(), "test", engine());
        assert_eq!(
            cache.get("t").unwrap().call("f", &[]).unwrap(),
            Value::from(1)
        );
        std::fs::write(&path, "fn f() { 2 }").unwrap();
        filetime_bump(&path).unwrap();
        assert_eq!(
            cache.get("t").unwrap().call("f", &[]).unwrap(),
            Value::from(2)
        );
    }

    /// Makes sure the modification time moves even on coarse-grained filesystems.
    fn filetime_bump(path: &Path) -> std::io::Result<()> {
        let file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.set_modified(SystemTime::now() + std::time::Duration::from_secs(1))
    }
}
