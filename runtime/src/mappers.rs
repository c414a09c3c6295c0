//! Field maps as Rhai scripts an administrator edits (`playbooks/mappers/<name>.rhai`).
//! A mapper defines `outgoing(profile, mapping_type)` (user profile → app user) and
//! `incoming(app_user)` (app user → user profile).

use crate::iam::{Mapper, MappingType};
use crate::scripting::{self, Script, ScriptCache, ScriptError};
use crate::transformers::Transformers;
use anyhow::Result;
use rhai::{Dynamic, EvalAltResult};
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::Arc;

/// One mapper script.
pub struct ScriptMapper(Arc<Script>);

impl ScriptMapper {
    fn call(&self, function: &str, args: &[Value]) -> Result<Map<String, Value>, ScriptError> {
        match strip_nulls(self.0.call(function, args)?) {
            Value::Object(map) => Ok(map),
            _ => Err(self
                .0
                .error(format!("{function} must return an object map"))),
        }
    }

    /// [`Mapper::incoming`] with the failing script named in a [`ScriptError`].
    pub fn incoming_checked(&self, app_user: &Value) -> Result<Map<String, Value>, ScriptError> {
        self.call("incoming", std::slice::from_ref(app_user))
    }
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
        self.call("outgoing", &[profile.clone(), Value::from(mapping.name())])
            .map_err(|e| e.to_string())
    }

    fn incoming(&self, app_user: &Value) -> Result<Map<String, Value>, String> {
        self.incoming_checked(app_user).map_err(|e| e.to_string())
    }
}

/// Mapper scripts by name. Mappers may call `transform(name, input)` to run a
/// transformer (e.g. the OU mapping for Active Directory).
pub struct MapperCache(ScriptCache);

impl MapperCache {
    pub fn new(dir: &Path, transformers: Arc<Transformers>) -> Self {
        let mut engine = scripting::engine();
        engine.register_fn(
            "transform",
            move |name: &str, input: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
                let input: Value = rhai::serde::from_dynamic(&input)?;
                let out = transformers
                    .run(name, &input)
                    .map_err(|e| format!("{e:#}"))?;
                rhai::serde::to_dynamic(&out)
            },
        );
        Self(ScriptCache::new(dir, "mapper", engine))
    }

    /// The mapper `name` (file `<dir>/<name>.rhai`).
    pub fn get(&self, name: &str) -> Result<ScriptMapper> {
        Ok(ScriptMapper(self.0.get(name)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_transformers() -> Arc<Transformers> {
        Arc::new(Transformers::new(Path::new("/nonexistent")))
    }

    #[test]
    fn mappers_can_call_transformers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("t")).unwrap();
        std::fs::write(
            dir.path().join("t/upper.rhai"),
            "fn transform(x) { x.name.to_upper() }",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("m.rhai"),
            "fn outgoing(p, t) { #{ n: transform(\"upper\", p) } }",
        )
        .unwrap();
        let cache = MapperCache::new(
            dir.path(),
            Arc::new(Transformers::new(&dir.path().join("t"))),
        );
        let out = cache
            .get("m")
            .unwrap()
            .outgoing(&json!({"name": "ada"}), MappingType::Create)
            .unwrap();
        assert_eq!(Value::Object(out), json!({"n": "ADA"}));
    }

    fn mapper(script: &str) -> (tempfile::TempDir, ScriptMapper) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("m.rhai"), script).unwrap();
        let m = MapperCache::new(dir.path(), no_transformers())
            .get("m")
            .unwrap();
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

    /// Profile fields the shipped mappers read.
    const PROFILE_KEYS: &[&str] = &[
        "email",
        "username",
        "givenname",
        "surname",
        "displayname",
        "title",
        "department",
        "employeeid",
        "manageremailaddress",
        "city",
        "state",
        "countryname",
        "location",
        "streetaddress",
        "zipcode",
        "mobilephone",
    ];

    /// App user attributes the shipped mappers read back.
    const APP_KEYS: &[&str] = &[
        "userName",
        "name",
        "emails",
        "title",
        "active",
        "id",
        "profile",
        "login",
        "email",
        "firstName",
        "lastName",
        "sAMAccountName",
        "mail",
        "displayName",
        "department",
    ];

    fn shipped() -> MapperCache {
        let playbooks = Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks");
        MapperCache::new(
            &playbooks.join("mappers"),
            Arc::new(Transformers::new(&playbooks.join("transformers"))),
        )
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::testing::config(24))]

        /// Whatever profile or app user reaches them, the shipped mappers return a map or
        /// an error naming the mapper, its file and the cause; they never panic.
        #[test]
        fn shipped_mappers_map_any_input_or_say_why(
            profile in crate::testing::object_with(PROFILE_KEYS),
            app_user in prop_oneof![
                crate::testing::object_with(APP_KEYS).prop_map(Value::Object),
                crate::testing::json(),
            ],
        ) {
            let cache = shipped();
            let profile = Value::Object(profile);
            for name in ["active-directory", "github", "okta", "memory-app"] {
                let mapper = cache.get(name).expect("the shipped mapper compiles");
                for mapping in [MappingType::Create, MappingType::Update] {
                    if let Err(err) = mapper.outgoing(&profile, mapping) {
                        prop_assert!(err.starts_with(&format!("mapper {name} (")), "{err}");
                        prop_assert!(err.contains("): "), "{err}");
                    }
                }
                if let Err(err) = mapper.incoming_checked(&app_user) {
                    prop_assert_eq!(err.name.as_str(), name);
                    prop_assert!(!err.cause.trim().is_empty());
                }
            }
        }
    }

    #[test]
    fn a_missing_script_is_a_clear_error() {
        let err = MapperCache::new(Path::new("/nonexistent"), no_transformers())
            .get("github")
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("no mapper script /nonexistent/github.rhai"),
            "{err}"
        );
    }
}
