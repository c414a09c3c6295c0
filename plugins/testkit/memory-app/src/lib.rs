//! **Test double**, not an integration: a trivial app whose users live in the instance's
//! integration context (`{"users": {id: {...}}, "next-id": n}`). It lets the host's tests
//! run the IAM command algorithm through real WebAssembly, and it is the "trivial app" of
//! the benchmark "fresh sandbox + one IAM call", so every call is one context read and at
//! most one write.
//!
//! An instance with `keep-users = false` keeps nothing: a sink whose create answers the
//! user as created (id = username) without reading or writing the context, so each costs
//! the same however many came before. The provisioning benchmark uses it to measure the
//! runtime rather than this double, whose kept users are read and rewritten whole on every
//! call.

use ilm_plugin_sdk::{app_error, commands, fetch, iam, instance, AppError, AppUser, Field};
use ilm_plugin_sdk::{FetchResult, Lookup, PluginInfo};
use serde_json::{json, Map, Value};

struct MemoryApp;

ilm_plugin_sdk::export_plugin!(MemoryApp);

const COMMANDS: &[&str] = &["memory-reset"];

/// The app's whole state, as kept in the integration context.
struct Store {
    users: Map<String, Value>,
    next_id: u64,
}

impl Store {
    fn load() -> Self {
        let mut context = match serde_json::from_str(&instance::get_context()) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let users = match context.remove("users") {
            Some(Value::Object(users)) => users,
            _ => Map::new(),
        };
        let next_id = context.get("next-id").and_then(Value::as_u64).unwrap_or(1);
        Self { users, next_id }
    }

    fn save(self) -> Result<(), AppError> {
        let context = json!({"users": self.users, "next-id": self.next_id});
        instance::set_context(&context.to_string())
            .map_err(|e| app_error("context", format!("cannot save the users: {e}")))
    }

    fn user_mut(&mut self, id: &str) -> Result<&mut Map<String, Value>, AppError> {
        match self.users.get_mut(id) {
            Some(Value::Object(user)) => Ok(user),
            _ => Err(not_found(id)),
        }
    }

    /// The id of the user whose `attribute` equals `value` (ignoring ASCII case, like
    /// most apps treat logins and emails).
    fn find(&self, attribute: &str, value: &str) -> Option<String> {
        self.users.iter().find_map(|(id, user)| {
            let field = user.get(attribute)?.as_str()?;
            field.eq_ignore_ascii_case(value).then(|| id.clone())
        })
    }
}

/// Whether this instance keeps its users (`keep-users`, default true).
fn keeps_users() -> bool {
    match ilm_plugin_sdk::params().get("keep-users") {
        Some(Value::Bool(keep)) => *keep,
        Some(Value::String(text)) => text != "false",
        _ => true,
    }
}

fn not_found(id: &str) -> AppError {
    app_error("404", format!("no user with id {id:?}"))
}

fn as_app_user(user: &Map<String, Value>) -> AppUser {
    let text = |key: &str| {
        user.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    AppUser {
        id: text("id"),
        username: text("username"),
        email: text("email"),
        active: user.get("active").and_then(Value::as_bool).unwrap_or(true),
        details: Value::Object(user.clone()).to_string(),
    }
}

fn set_active(id: &str, active: bool) -> Result<AppUser, AppError> {
    let mut store = Store::load();
    let user = store.user_mut(id)?;
    user.insert("active".into(), Value::Bool(active));
    let result = as_app_user(user);
    store.save()?;
    Ok(result)
}

impl iam::Guest for MemoryApp {
    fn describe() -> PluginInfo {
        ilm_plugin_sdk::plugin_info!(COMMANDS)
    }

    fn identify_attributes() -> Vec<String> {
        vec!["id".into(), "username".into(), "email".into()]
    }

    fn find_user(by: Lookup) -> Result<Option<AppUser>, AppError> {
        // A sink's context stays empty, so it finds nobody without asking its params
        // (this call is the sandbox benchmark's, which measures the host, not the double).
        let store = Store::load();
        let id = if by.attribute == "id" {
            Some(by.value)
        } else {
            store.find(&by.attribute, &by.value)
        };
        Ok(id.and_then(|id| match store.users.get(&id) {
            Some(Value::Object(user)) => Some(as_app_user(user)),
            _ => None,
        }))
    }

    fn create_user(profile: String) -> Result<AppUser, AppError> {
        let mut user = ilm_plugin_sdk::json_object(&profile, "the profile")?;
        let username = match user.get("username").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => return Err(app_error("400", "the profile has no username")),
        };
        if !keeps_users() {
            user.insert("id".into(), Value::String(username));
            user.entry("active").or_insert(Value::Bool(true));
            return Ok(as_app_user(&user));
        }
        let mut store = Store::load();
        if store.find("username", &username).is_some() {
            return Err(app_error(
                "409",
                format!("a user named {username:?} exists"),
            ));
        }
        let id = store.next_id.to_string();
        store.next_id += 1;
        user.insert("id".into(), Value::String(id.clone()));
        user.entry("active").or_insert(Value::Bool(true));
        let result = as_app_user(&user);
        store.users.insert(id, Value::Object(user));
        store.save()?;
        Ok(result)
    }

    fn update_user(id: String, profile: String) -> Result<AppUser, AppError> {
        let changes = ilm_plugin_sdk::json_object(&profile, "the profile")?;
        let mut store = Store::load();
        if !matches!(store.users.get(&id), Some(Value::Object(_))) {
            return Err(not_found(&id));
        }
        if let Some(Value::String(name)) = changes.get("username") {
            if store
                .find("username", name)
                .is_some_and(|other| other != id)
            {
                return Err(app_error("409", format!("a user named {name:?} exists")));
            }
        }
        let user = store.user_mut(&id)?;
        for (key, value) in changes {
            // The id is the app's; a profile cannot move a user to another one.
            if key != "id" {
                user.insert(key, value);
            }
        }
        let result = as_app_user(user);
        store.save()?;
        Ok(result)
    }

    fn enable_user(id: String) -> Result<AppUser, AppError> {
        set_active(&id, true)
    }

    fn disable_user(id: String) -> Result<AppUser, AppError> {
        set_active(&id, false)
    }

    fn get_mapping_fields() -> Result<Vec<Field>, AppError> {
        let fields = [
            ("id", "the app's user id (set by the app)"),
            ("username", "login name; unique"),
            ("email", "email address"),
            ("displayname", "display name"),
            ("title", "job title"),
            ("active", "whether the account is active"),
        ];
        Ok(fields
            .iter()
            .map(|(name, description)| Field {
                name: name.to_string(),
                description: description.to_string(),
            })
            .collect())
    }

    fn test_connection() -> Result<(), AppError> {
        Ok(())
    }
}

impl commands::Guest for MemoryApp {
    fn run(name: String, _args: String) -> Result<String, AppError> {
        match name.as_str() {
            "memory-reset" => {
                instance::set_context("{}")
                    .map_err(|e| app_error("context", format!("cannot clear the users: {e}")))?;
                Ok(json!({"reset": true}).to_string())
            }
            other => Err(app_error(
                "400",
                format!("memory-app has no command {other:?}"),
            )),
        }
    }
}

impl fetch::Guest for MemoryApp {
    fn fetch(_state: String) -> Result<FetchResult, AppError> {
        Err(app_error("400", "memory-app does not fetch"))
    }
}
