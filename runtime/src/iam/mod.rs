//! The IAM command algorithm, once, for every app: user lookup by an
//! ordered list of attributes, create that becomes update, create-if-not-exists,
//! disabled-command skips, allow-enable, and the vendor result record. Apps implement only
//! the primitives of [`App`]; errors become results (`success=false`), never crashes.

mod lookup;
mod vendor;

pub use lookup::{lookup_value, MISSING_ATTRIBUTES};
pub use vendor::VendorResult;

use serde_json::{Map, Value};

/// A user as an app holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct AppUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub active: bool,
    pub details: Value,
}

/// An app's or a plugin's failure, reported in the vendor result.
#[derive(Debug, Clone, PartialEq)]
pub struct AppFailure {
    pub code: String,
    pub message: String,
}

impl AppFailure {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The primitive operations of one app instance.
pub trait App {
    fn brand(&self) -> &str;
    fn instance_name(&self) -> &str;
    fn identify_attributes(&mut self) -> Result<Vec<String>, AppFailure>;
    fn find_user(&mut self, attribute: &str, value: &str) -> Result<Option<AppUser>, AppFailure>;
    fn create_user(&mut self, profile: &Map<String, Value>) -> Result<AppUser, AppFailure>;
    fn update_user(
        &mut self,
        id: &str,
        profile: &Map<String, Value>,
    ) -> Result<AppUser, AppFailure>;
    fn enable_user(&mut self, id: &str) -> Result<AppUser, AppFailure>;
    fn disable_user(&mut self, id: &str) -> Result<AppUser, AppFailure>;
}

/// Outgoing mapping types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MappingType {
    Create,
    Update,
}

impl MappingType {
    pub fn name(self) -> &'static str {
        match self {
            MappingType::Create => "User Profile - Create",
            MappingType::Update => "User Profile - Update",
        }
    }
}

/// Field maps between the user profile and an app's user object.
pub trait Mapper {
    fn outgoing(&self, profile: &Value, mapping: MappingType)
        -> Result<Map<String, Value>, String>;
    fn incoming(&self, app_user: &Value) -> Result<Map<String, Value>, String>;
}

/// The instance's IAM switches.
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    pub create_enabled: bool,
    pub update_enabled: bool,
    pub enable_enabled: bool,
    pub disable_enabled: bool,
    pub create_if_not_exists: bool,
}

impl Default for Flags {
    fn default() -> Self {
        Self {
            create_enabled: true,
            update_enabled: true,
            enable_enabled: true,
            disable_enabled: true,
            create_if_not_exists: true,
        }
    }
}

/// The generic IAM commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    GetUser,
    CreateUser,
    UpdateUser,
    DisableUser,
}

impl Command {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "iam-get-user" => Command::GetUser,
            "iam-create-user" => Command::CreateUser,
            "iam-update-user" => Command::UpdateUser,
            "iam-disable-user" => Command::DisableUser,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// In the order of the variants.
    pub const NAMES: [&'static str; 4] = [
        "iam-get-user",
        "iam-create-user",
        "iam-update-user",
        "iam-disable-user",
    ];
}

/// Vendor error codes with a meaning the IAM algorithm knows. A disable that races another
/// disable, or an enable that races an enable, is not a failure.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorCodes {
    /// A disable failing with one of these is skipped: "User is already disabled.".
    #[serde(default)]
    pub already_disabled: Vec<String>,
    /// An enable failing with one of these counts as done (enabled meanwhile); the
    /// profile update goes on.
    #[serde(default)]
    pub already_enabled: Vec<String>,
    /// Failures that are also an error entry (e.g. a rate limit): the command fails
    /// loudly instead of only recording `success=false`.
    #[serde(default)]
    pub error_entry: Vec<String>,
    /// Failures of a busy or failing app that answers with its own codes rather than the
    /// HTTP status (Okta's rate limit and internal error): `ilm run` retries the incident.
    #[serde(default)]
    pub transient: Vec<String>,
}

impl VendorCodes {
    fn is(codes: &[String], failure: &AppFailure) -> bool {
        codes.contains(&failure.code)
    }
}

/// One IAM command's input.
pub struct Request<'a> {
    pub command: Command,
    /// The user profile (may carry `olduserdata`).
    pub profile: &'a Value,
    /// The `allow-enable` argument.
    pub allow_enable: bool,
    pub flags: Flags,
    pub codes: &'a VendorCodes,
    /// For a create: what the incident's own lookup just before it found.
    pub before_create: BeforeCreate,
}

/// What a create knows of the account from the lookup its incident journals just before
/// it (see `playbooks::api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeCreate {
    /// Nothing: the create looks first, and updates an account it finds.
    Unknown,
    /// No account: the create makes one without looking again (one search of the directory
    /// less for each new hire). An account someone else makes in between fails the create,
    /// as one made between a look and the create always could.
    Absent,
    /// No account before this create, which began and never finished (the runtime stopped
    /// in between): an account found now is the one it made, so the result is that create,
    /// not an update.
    AbsentThenInterrupted,
}

impl BeforeCreate {
    /// For instance `name`, from the instances the lookup found no account in.
    pub fn of(name: &str, absent: &[String], interrupted: bool) -> Self {
        match (absent.iter().any(|a| a == name), interrupted) {
            (false, _) => Self::Unknown,
            (true, false) => Self::Absent,
            (true, true) => Self::AbsentThenInterrupted,
        }
    }
}

/// One IAM command's output: the vendor result and the (possibly re-mapped) profile.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub vendor: VendorResult,
    pub user_profile: Value,
}

/// Runs one IAM command against one app.
pub fn execute(app: &mut dyn App, mapper: &dyn Mapper, req: &Request) -> Outcome {
    let mut run = Run { app, mapper, req };
    let vendor = match req.command {
        Command::GetUser => run.get_user(),
        Command::CreateUser => run.create_user(),
        Command::UpdateUser => run.update_user(),
        Command::DisableUser => run.disable_user(),
    };
    let mut vendor = vendor.unwrap_or_else(|(action, failure)| run.failed(action, failure));
    let failed_with = |codes: &[String]| {
        vendor
            .error_code
            .as_ref()
            .is_some_and(|code| !vendor.success && codes.contains(code))
    };
    (vendor.error_entry, vendor.transient) = (
        failed_with(&req.codes.error_entry),
        failed_with(&req.codes.transient),
    );
    let user_profile = match req.command {
        Command::GetUser if vendor.success => run.incoming_profile(&vendor.details),
        _ => req.profile.clone(),
    };
    Outcome {
        vendor,
        user_profile,
    }
}

type Step = Result<VendorResult, (&'static str, AppFailure)>;

struct Run<'a, 'r> {
    app: &'a mut dyn App,
    mapper: &'a dyn Mapper,
    req: &'a Request<'r>,
}

impl Run<'_, '_> {
    fn result(&self, action: &str) -> VendorResult {
        VendorResult::new(
            self.app.brand(),
            self.app.instance_name(),
            action,
            self.profile_email(),
        )
    }

    fn profile_email(&self) -> String {
        self.req
            .profile
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    }

    fn failed(&self, action: &str, failure: AppFailure) -> VendorResult {
        self.result(action).failure(failure.code, failure.message)
    }

    fn skipped(&self, action: &str, reason: &str) -> VendorResult {
        self.result(action).skip(reason)
    }

    fn map(
        &self,
        action: &'static str,
        mapping: MappingType,
    ) -> Result<Map<String, Value>, (&'static str, AppFailure)> {
        self.mapper
            .outgoing(self.req.profile, mapping)
            .map_err(|e| (action, AppFailure::new("mapper-error", e)))
    }

    /// Finds the user by the first attribute the profile fills (old data first on update).
    fn find(
        &mut self,
        action: &'static str,
        use_old_data: bool,
    ) -> Result<Option<AppUser>, (&'static str, AppFailure)> {
        let attributes = self.app.identify_attributes().map_err(|f| (action, f))?;
        let mapped = self.map(action, MappingType::Update)?;
        let old = match self.req.profile.get("olduserdata") {
            Some(old @ Value::Object(_)) if use_old_data => Some((
                old.clone(),
                self.mapper
                    .outgoing(old, MappingType::Update)
                    .map_err(|e| (action, AppFailure::new("mapper-error", e)))?,
            )),
            _ => None,
        };
        let old_ref = old.as_ref().map(|(raw, mapped)| (raw, mapped));
        let Some((attribute, value)) =
            lookup_value(&attributes, self.req.profile, &mapped, old_ref)
        else {
            return Err((
                action,
                AppFailure::new(
                    "400",
                    format!("{MISSING_ATTRIBUTES} {}", attributes.join(", ")),
                ),
            ));
        };
        self.app
            .find_user(&attribute, &value)
            .map_err(|f| (action, f))
    }

    fn get_user(&mut self) -> Step {
        match self.find("get", false)? {
            None => Ok(self.result("get").failure("404", "User does not exist")),
            Some(user) => Ok(self.with_user(self.result("get"), &user)),
        }
    }

    fn disable_user(&mut self) -> Step {
        if !self.req.flags.disable_enabled {
            return Ok(self.skipped("disable", "Command is disabled."));
        }
        match self.find("disable", false)? {
            None => Ok(self.skipped("disable", "User does not exist")),
            Some(user) if !user.active => {
                Ok(self.with_user(self.skipped("disable", "User is already disabled."), &user))
            }
            Some(user) => {
                let disabled = match self.app.disable_user(&user.id) {
                    Ok(disabled) => disabled,
                    Err(f) if VendorCodes::is(&self.req.codes.already_disabled, &f) => {
                        let result = self.skipped("disable", "User is already disabled.");
                        let mut result = self.with_user(result.with_code(&f.code), &user);
                        result.active = Some(false);
                        result.error_message = f.message;
                        return Ok(result);
                    }
                    Err(f) => return Err(("disable", f)),
                };
                let mut result = self.with_user(self.result("disable"), &disabled);
                result.active = Some(false);
                Ok(result)
            }
        }
    }

    fn create_user(&mut self) -> Step {
        if !self.req.flags.create_enabled {
            return Ok(self.skipped("create", "Command is disabled."));
        }
        if self.req.before_create == BeforeCreate::Absent {
            return self.create_new();
        }
        match self.find("create", false)? {
            Some(ours) if self.req.before_create == BeforeCreate::AbsentThenInterrupted => {
                Ok(self.with_user(self.result("create"), &ours))
            }
            Some(existing) => self.update_found(existing),
            None => self.create_new(),
        }
    }

    fn create_new(&mut self) -> Step {
        let mapped = self.map("create", MappingType::Create)?;
        let created = self.app.create_user(&mapped).map_err(|f| ("create", f))?;
        Ok(self.with_user(self.result("create"), &created))
    }

    fn update_user(&mut self) -> Step {
        if !self.req.flags.update_enabled {
            return Ok(self.skipped("update", "Command is disabled."));
        }
        match self.find("update", true)? {
            Some(existing) => self.update_found(existing),
            None if self.req.flags.create_if_not_exists => {
                if !self.req.flags.create_enabled {
                    return Ok(self.skipped("create", "Command is disabled."));
                }
                self.create_new()
            }
            None => Ok(self
                .skipped("update", "User does not exist")
                .with_code("404")),
        }
    }

    fn update_found(&mut self, existing: AppUser) -> Step {
        let allow_enable = self.req.allow_enable && self.req.flags.enable_enabled;
        let mapped = self.map("update", MappingType::Update)?;
        let mut action = "update";
        if allow_enable && !existing.active {
            match self.app.enable_user(&existing.id) {
                Ok(_) => action = "enable",
                // Enabled meanwhile (or by a run that crashed after the call): the profile
                // update below still applies.
                Err(f) if VendorCodes::is(&self.req.codes.already_enabled, &f) => {}
                Err(f) => return Err(("enable", f)),
            }
        }
        let updated = self
            .app
            .update_user(&existing.id, &mapped)
            .map_err(|f| (action, f))?;
        Ok(self.with_user(self.result(action), &updated))
    }

    fn with_user(&self, mut result: VendorResult, user: &AppUser) -> VendorResult {
        result.active = Some(user.active);
        result.id = user.id.clone();
        result.username = user.username.clone();
        if !user.email.is_empty() && result.email.is_empty() {
            result.email = user.email.clone();
        }
        result.details = user.details.clone();
        result
    }

    fn incoming_profile(&self, details: &Value) -> Value {
        match self.mapper.incoming(details) {
            Ok(map) => Value::Object(map),
            Err(e) => {
                tracing::warn!(
                    instance = self.app.instance_name(),
                    "incoming mapper failed: {e}"
                );
                self.req.profile.clone()
            }
        }
    }
}

#[cfg(test)]
mod tests;
