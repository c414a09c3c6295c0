//! Field maps as Rhai scripts an administrator edits (`playbooks/mappers/<name>.rhai`).
//! A mapper defines `outgoing(profile, mapping_type)` (user profile → app user) and
//! `incoming(app_user)` (app user → user profile). Scripts are compiled once per file
//! version and run with limits on.

use crate::iam::{Mapper, MappingType};
use anyhow::{Context, Result};
use rhai::{Dynamic, Engine, Scope, AST};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// A Rhai engine with every limit on, shared by all scripts.
pub fn script_engine() -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(200_000)
        .set_max_call_levels(32)
        .set_max_expr_depths(64, 32)
        .set_max_string_size(256 * 1024)
        .set_max_array_size(10_000)
        .set_max_map_size(10_000);
    engine
}

/// One compiled mapper script.
pub struct ScriptMapper {
    engine: Arc<Engine>,
    ast: AST,
    path: PathBuf,
}

impl ScriptMapper {
    fn call(
        &self,
        function: &str,
        args: impl rhai::FuncArgs,
    ) -> Result<Map<String, Value>, String> {
        let out: Dynamic = self
            .engine
            .call_fn(&mut Scope::new(), &self.ast, function, args)
            .map_err(|e| format!("mapper {} failed in {function}: {e}", self.path.display()))?;
        let value: Value = rhai::serde::from_dynamic(&out).map_err(|e| {
            format!(
                "mapper {} returned a value that is not JSON: {e}",
                self.path.display()
            )
        })?;
        match strip_nulls(value) {
            Value::Object(map) => Ok(map),
            _ => Err(format!(
                "mapper {}: {function} must return an object map",
                self.path.display()
            )),
        }
    }
}

fn to_dynamic(value: &Value) -> Result<Dynamic, String> {
    rhai::serde::to_dynamic(value).map_err(|e| e.to_string())
}

/// Drops null values (unset profile fields) so the app never receives them.
fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

impl Mapper for ScriptMapper {
    fn outgoing(
        &self,
        profile: &Value,
        mapping: MappingType,
    ) -> Result<Map<String, Value>, String> {
        self.call(
            "outgoing",
            (to_dynamic(profile)?, mapping.name().to_owned()),
        )
    }

    fn incoming(&self, app_user: &Value) -> Result<Map<String, Value>, String> {
        self.call("incoming", (to_dynamic(app_user)?,))
    }
}

/// Mapper scripts by name, recompiled when their file changes.
pub struct MapperCache {
    dir: PathBuf,
    engine: Arc<Engine>,
    compiled: Mutex<HashMap<String, (SystemTime, Arc<ScriptMapper>)>>,
}

impl MapperCache {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            engine: Arc::new(script_engine()),
            compiled: Mutex::new(HashMap::new()),
        }
    }

    /// The mapper `name` (file `<dir>/<name>.rhai`).
    pub fn get(&self, name: &str) -> Result<Arc<ScriptMapper>> {
        let path = self.dir.join(format!("{name}.rhai"));
        let modified = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .with_context(|| {
                format!(
                    "no mapper script {} (create it, or set the instance's mapper parameter)",
                    path.display()
                )
            })?;
        let mut compiled = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, mapper)) = compiled.get(name) {
            if *at == modified {
                return Ok(mapper.clone());
            }
        }
        let ast = self.engine.compile_file(path.clone()).map_err(|e| {
            anyhow::anyhow!("mapper script {} does not compile: {e}", path.display())
        })?;
        let mapper = Arc::new(ScriptMapper {
            engine: self.engine.clone(),
            ast,
            path,
        });
        compiled.insert(name.to_owned(), (modified, mapper.clone()));
        Ok(mapper)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapper(script: &str) -> (tempfile::TempDir, Arc<ScriptMapper>) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.rhai"), script).unwrap();
        let cache = MapperCache::new(dir.path());
        let m = cache.get("m").unwrap();
        (dir, m)
    }

    #[test]
    fn outgoing_maps_fields_and_drops_unset_ones() {
        let (_d, m) = mapper(
            r#"fn outgoing(p, t) { #{ userName: p.username, title: p.title, kind: t, name: #{ givenName: p.givenname } } }
               fn incoming(u) { #{ username: u.userName } }"#,
        );
        let out = m
            .outgoing(
                &json!({"username": "j@x.com", "givenname": "Jo"}),
                MappingType::Create,
            )
            .unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"userName": "j@x.com", "kind": "User Profile - Create", "name": {"givenName": "Jo"}})
        );
        let back = m.incoming(&json!({"userName": "j@x.com"})).unwrap();
        assert_eq!(Value::Object(back), json!({"username": "j@x.com"}));
    }

    #[test]
    fn script_errors_name_the_script_and_line() {
        let (_d, m) =
            mapper("fn outgoing(p, t) {\n  let x = 1;\n  x.nope()\n}\nfn incoming(u) { #{} }");
        let err = m.outgoing(&json!({}), MappingType::Update).unwrap_err();
        assert!(err.contains("m.rhai") && err.contains("line 3"), "{err}");
    }

    #[test]
    fn runaway_scripts_hit_the_operation_limit() {
        let (_d, m) = mapper("fn outgoing(p, t) { loop { } }\nfn incoming(u) { #{} }");
        let err = m.outgoing(&json!({}), MappingType::Update).unwrap_err();
        assert!(err.to_lowercase().contains("too many operations"), "{err}");
    }

    #[test]
    fn a_missing_script_is_a_clear_error() {
        let cache = MapperCache::new(Path::new("/nonexistent"));
        let err = cache.get("github").err().unwrap().to_string();
        assert!(
            err.contains("no mapper script /nonexistent/github.rhai"),
            "{err}"
        );
    }
}
