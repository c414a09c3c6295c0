//! The IAM contract, checked against a live instance through the normal call path (the
//! instance's mapper, the IAM algorithm, the sandboxed plugin): a uniquely named test user
//! is created, looked up by each attribute the plugin identifies users by, updated,
//! renamed through `olduserdata` (enabled first if the app created it inactive), disabled
//! twice, enabled and created again; a missing user and a bad request must give the
//! expected result shapes. The test user is disabled at the end whatever happened. Fields
//! an app needs beyond the synthetic profile (a department an OU is chosen by, say) are
//! given by the caller and merged over it.

use super::{Host, InstanceSettings, WasmApp};
use crate::iam::{self, App, BeforeCreate, Command, VendorResult};
use crate::integrations::Integrations;
use anyhow::{bail, Result};
use serde::Serialize;
use serde_json::{json, Map, Value};

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub result: Verdict,
    /// What was seen: the reason of a failure, or a short confirmation.
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    /// Not applicable to this plugin.
    Skip,
}

/// The profile fields the kit sets itself and changes from check to check; a caller's
/// value for one would make the renamed and the missing user the same person.
const OWN_FIELDS: &[&str] = &[
    "email",
    "username",
    "employeeid",
    "title",
    "olduserdata",
    "id",
];

/// Runs the contract against `instance`, with `fields` merged over the test user's
/// synthetic profile; only a configuration problem (no such instance, no mapper, a field
/// the kit sets itself) is an error, everything the app does is a row.
pub fn run(
    integrations: &Integrations,
    instance: &str,
    fields: &Map<String, Value>,
) -> Result<Vec<Check>> {
    if let Some(own) = fields
        .keys()
        .find(|k| OWN_FIELDS.contains(&k.to_ascii_lowercase().as_str()))
    {
        bail!(
            "the check sets the profile field {own:?} itself (it names a new test user on every run): leave it out; the fields it sets are {}",
            OWN_FIELDS.join(", ")
        );
    }
    // Eight hex digits of the time in microseconds: unique enough between runs, and short.
    let micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let mut kit = Kit {
        integrations,
        instance,
        checks: Vec::new(),
        token: format!("{:08x}", micros & 0xffff_ffff),
        fields,
        user: TestUser::default(),
        id: String::new(),
    };
    kit.user = kit.test_user("check");
    integrations.instance(instance)?;
    kit.contract()?;
    kit.cleanup()?;
    Ok(kit.checks)
}

/// The profile of the test user, as the instance's mapper reads profiles.
#[derive(Default, Clone)]
struct TestUser {
    name: String,
    /// The person's id from HR: it stays when the user is renamed.
    employeeid: String,
    title: &'static str,
    /// The caller's fields, over the synthetic ones.
    fields: Map<String, Value>,
}

impl TestUser {
    fn profile(&self) -> Value {
        let email = format!("{}@example.test", self.name);
        let mut profile = json!({"email": email, "username": email, "givenname": "Ilm",
                                 "surname": "Check", "employeeid": self.employeeid, "title": self.title});
        if let Value::Object(map) = &mut profile {
            map.extend(self.fields.clone());
        }
        profile
    }
}

struct Kit<'a, 'i> {
    integrations: &'a Integrations<'i>,
    instance: &'a str,
    checks: Vec<Check>,
    /// What makes this run's user names unique.
    token: String,
    fields: &'a Map<String, Value>,
    user: TestUser,
    /// The test user's id in the app, once created.
    id: String,
}

impl<'i> Kit<'_, 'i> {
    /// A test user named `ilm-<role>-<token>`, employee `<role>-<token>`. The names differ
    /// in their first 20 characters and are no longer, the employee ids are at most 16:
    /// Active Directory keeps 20 characters of a logon name (a longer name, or one that
    /// differs only at its end, would be the same account there) and refuses longer
    /// employee ids.
    fn test_user(&self, role: &str) -> TestUser {
        TestUser {
            name: format!("ilm-{role}-{}", self.token),
            employeeid: format!("{role}-{}", self.token),
            title: "Conformance check",
            fields: self.fields.clone(),
        }
    }

    fn record(&mut self, check: impl Into<String>, verdict: Result<String, String>) {
        let (result, detail) = match verdict {
            Ok(detail) => (Verdict::Pass, detail),
            Err(reason) => (Verdict::Fail, reason),
        };
        self.checks.push(Check {
            check: check.into(),
            result,
            detail,
        });
    }

    fn iam(&self, command: Command, profile: &Value, allow_enable: bool) -> Result<VendorResult> {
        Ok(self
            .integrations
            .iam(
                self.instance,
                command,
                profile,
                allow_enable,
                BeforeCreate::Unknown,
            )?
            .vendor)
    }

    /// A fresh sandboxed app for this instance, for the plugin's own primitives.
    fn app(&self, command: &str) -> Result<WasmApp<'i>> {
        let host: &'i Host = self.integrations.host;
        let instance = self.integrations.instance(self.instance)?;
        let plugin = host.plugin(&instance.plugin)?;
        let context = self.integrations.store.integration_context(self.instance)?;
        let settings = InstanceSettings::new(&plugin.manifest, &instance, context)?;
        Ok(WasmApp::new(host, plugin, settings, command))
    }

    fn contract(&mut self) -> Result<()> {
        let profile = self.user.profile();
        let created = self.iam(Command::CreateUser, &profile, false)?;
        // The app decides whether a new user starts active: Active Directory creates
        // accounts disabled until a password is set. It must say which.
        let verdict = expect(&created, "create", None).and_then(|_| match created.active {
            _ if created.id.is_empty() => Err("the created user has no id".to_owned()),
            Some(true) => Ok(format!("id {}, active", created.id)),
            Some(false) => Ok(format!("id {}, created inactive", created.id)),
            None => Err("the result does not say whether the user is active".to_owned()),
        });
        let ok = verdict.is_ok();
        self.record("create", verdict);
        if !ok {
            // Nothing else can be checked without the user.
            return Ok(());
        }
        self.id = created.id.clone();
        let created_active = created.active == Some(true);
        self.get_by_each_attribute(&profile)?;

        let got = self.iam(Command::GetUser, &profile, false)?;
        let verdict = expect(&got, "get", None).and_then(|_| self.same_user(&got));
        self.record("get (iam-get-user)", verdict);

        self.user.title = "Conformance check, updated";
        let updated = self.iam(Command::UpdateUser, &self.user.profile(), false)?;
        // Without allow-enable an update leaves the user as active as it was.
        let verdict =
            expect(&updated, "update", Some(created_active)).and_then(|_| self.same_user(&updated));
        self.record("update", verdict);

        // The same person (employee id, title, fields) under a new name.
        let renamed = TestUser {
            name: self.test_user("moved").name,
            ..self.user.clone()
        };
        let mut rename = renamed.profile();
        rename["olduserdata"] = self.user.profile();
        let moved = self.iam(Command::UpdateUser, &rename, false)?;
        let verdict =
            expect(&moved, "update", Some(created_active)).and_then(|_| self.same_user(&moved));
        self.record("rename through olduserdata", verdict);
        let found = self.iam(Command::GetUser, &renamed.profile(), false)?;
        let verdict = expect(&found, "get", None).and_then(|_| self.same_user(&found));
        self.record("get by the new name", verdict);
        self.user = renamed;

        let profile = self.user.profile();
        if !created_active {
            // A user created inactive must be active before its disable means anything.
            self.enable("enable the user created inactive", &profile)?;
        }
        let disabled = self.iam(Command::DisableUser, &profile, false)?;
        self.record("disable", expect(&disabled, "disable", Some(false)));
        let again = self.iam(Command::DisableUser, &profile, false)?;
        let verdict = match (&again.success, again.skipped) {
            (true, true) => Ok(format!("skipped: {}", again.reason)),
            (true, false) => expect(&again, "disable", Some(false)),
            (false, _) => Err(failure(&again)),
        };
        self.record("disable again is a no-op", verdict);
        self.enable("enable (update with allow-enable)", &profile)?;

        let recreated = self.iam(Command::CreateUser, &profile, false)?;
        let verdict = expect(&recreated, "update", None).and_then(|_| self.same_user(&recreated));
        self.record("create of an existing user becomes update", verdict);

        self.not_found_and_error_shapes()?;
        self.checks.push(Check {
            check: "list and paging".to_owned(),
            result: Verdict::Skip,
            detail: "the plugin contract has no listing".to_owned(),
        });
        Ok(())
    }

    /// An update with allow-enable makes the test user active.
    fn enable(&mut self, check: &str, profile: &Value) -> Result<()> {
        let enabled = self.iam(Command::UpdateUser, profile, true)?;
        let verdict = match enabled.active {
            Some(true) if enabled.success => Ok(format!("{} made it active", enabled.action)),
            _ if !enabled.success => Err(failure(&enabled)),
            other => Err(format!(
                "the user is not active after allow-enable (active: {other:?})"
            )),
        };
        self.record(check, verdict);
        if enabled.success && !enabled.id.is_empty() {
            // An app that deletes on disable gives the user a new id when it comes back.
            self.id = enabled.id.clone();
        }
        Ok(())
    }

    /// Looks the user up with the plugin's own `find-user` by every attribute it identifies
    /// users by, with the value the host would use: `id` from the app, the others from the
    /// instance's outgoing map of the test profile.
    fn get_by_each_attribute(&mut self, profile: &Value) -> Result<()> {
        let mut app = self.app("iam-get-user")?;
        let attributes = match app.identify_attributes() {
            Ok(attributes) => attributes,
            Err(e) => {
                self.record(
                    "identify attributes",
                    Err(format!("{}: {}", e.code, e.message)),
                );
                return Ok(());
            }
        };
        let fields = self.integrations.outgoing_profile(self.instance, profile)?;
        let raw = json!({"id": self.id});
        for attribute in attributes {
            let check = format!("get by {attribute}");
            let one = std::slice::from_ref(&attribute);
            let Some((_, value)) = iam::lookup_value(one, &raw, &fields, None) else {
                self.record(
                    check,
                    Err(format!(
                        "the instance's outgoing map gives no {attribute} to look the user up by"
                    )),
                );
                continue;
            };
            let verdict = match app.find_user(&attribute, &value) {
                Ok(Some(user)) if user.id == self.id => Ok(format!("{attribute}={value}")),
                Ok(Some(user)) => Err(format!(
                    "{attribute}={value} found another user, id {}",
                    user.id
                )),
                Ok(None) => Err(format!("{attribute}={value} found nobody")),
                Err(e) => Err(format!("{}: {}", e.code, e.message)),
            };
            self.record(check, verdict);
        }
        Ok(())
    }

    fn not_found_and_error_shapes(&mut self) -> Result<()> {
        let nobody = self.test_user("nobody").profile();
        let missing = self.iam(Command::GetUser, &nobody, false)?;
        let verdict = if missing.success {
            Err(format!(
                "a user that does not exist was found (id {:?})",
                missing.id
            ))
        } else if missing.error_code.as_deref() == Some("404") {
            Ok(format!("404: {}", missing.error_message))
        } else {
            Err(format!(
                "expected error code 404, got {}",
                failure(&missing)
            ))
        };
        self.record("get of a missing user is not found", verdict);

        // A profile that identifies nobody and names no user: the app must refuse to create
        // it with its own error, not crash.
        let bad = json!({"id": format!("ilm-bad-{}", self.token)});
        let refused = self.iam(Command::CreateUser, &bad, false)?;
        let verdict = match refused.error_code.as_deref() {
            _ if refused.success => Err(format!(
                "a user without a name was created (id {:?})",
                refused.id
            )),
            Some("plugin-error") => Err(format!(
                "the plugin failed instead of answering: {}",
                refused.error_message
            )),
            Some(code) if !code.is_empty() && !refused.error_message.is_empty() => {
                Ok(format!("{code}: {}", refused.error_message))
            }
            _ => Err("the failure has no error code or message".to_owned()),
        };
        self.record("a bad request gets an error code and message", verdict);
        Ok(())
    }

    /// The test user ends disabled, whatever the checks did.
    fn cleanup(&mut self) -> Result<()> {
        if self.id.is_empty() {
            return Ok(());
        }
        let done = self.iam(Command::DisableUser, &self.user.profile(), false)?;
        let verdict = expect(&done, "disable", Some(false));
        self.record("cleanup (disable the test user)", verdict);
        Ok(())
    }

    /// The result is about the test user.
    fn same_user(&self, result: &VendorResult) -> Result<String, String> {
        if result.id == self.id {
            Ok(format!("id {}", result.id))
        } else {
            Err(format!("expected id {}, got {:?}", self.id, result.id))
        }
    }
}

/// A successful result of `action`, and when given, that activity.
fn expect(result: &VendorResult, action: &str, active: Option<bool>) -> Result<String, String> {
    if !result.success {
        return Err(failure(result));
    }
    if result.skipped {
        return Err(format!("skipped: {}", result.reason));
    }
    if result.action != action {
        return Err(format!("expected action {action}, got {}", result.action));
    }
    if active.is_some() && result.active != active {
        return Err(format!(
            "expected active {active:?}, got {:?}",
            result.active
        ));
    }
    Ok(format!("{action}, id {}", result.id))
}

fn failure(result: &VendorResult) -> String {
    format!(
        "{} failed: {} {}",
        result.action,
        result.error_code.as_deref().unwrap_or("(no code)"),
        result.error_message
    )
}
