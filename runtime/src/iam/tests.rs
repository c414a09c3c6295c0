//! Acceptance scenarios 27–32 against a fake app (an in-memory test double).

use super::*;
use serde_json::json;

/// An in-memory app that records every primitive call.
#[derive(Default)]
struct FakeApp {
    users: Vec<AppUser>,
    calls: Vec<String>,
    /// The primitive ("create", "enable", "disable") that fails, and how.
    fail: Option<(&'static str, AppFailure)>,
}

impl FakeApp {
    fn with_user(username: &str, active: bool) -> Self {
        let mut app = FakeApp::default();
        app.users.push(AppUser {
            id: "u1".into(),
            username: username.into(),
            email: username.into(),
            active,
            details: json!({"login": username}),
        });
        app
    }

    fn user(&mut self, id: &str) -> Result<&mut AppUser, AppFailure> {
        self.users
            .iter_mut()
            .find(|u| u.id == id)
            .ok_or_else(|| AppFailure::new("404", "no such id"))
    }

    fn failure(&self, primitive: &str) -> Result<(), AppFailure> {
        match &self.fail {
            Some((name, failure)) if *name == primitive => Err(failure.clone()),
            _ => Ok(()),
        }
    }
}

impl App for FakeApp {
    fn brand(&self) -> &str {
        "Fake"
    }
    fn instance_name(&self) -> &str {
        "fake_1"
    }
    fn identify_attributes(&mut self) -> Result<Vec<String>, AppFailure> {
        Ok(vec!["id".into(), "login".into()])
    }
    fn find_user(&mut self, attribute: &str, value: &str) -> Result<Option<AppUser>, AppFailure> {
        self.calls.push(format!("find {attribute}={value}"));
        Ok(self
            .users
            .iter()
            .find(|u| {
                if attribute == "id" {
                    u.id == value
                } else {
                    u.username == value
                }
            })
            .cloned())
    }
    fn create_user(&mut self, profile: &Map<String, Value>) -> Result<AppUser, AppFailure> {
        self.calls.push("create".into());
        self.failure("create")?;
        let login = profile["login"].as_str().unwrap_or_default().to_owned();
        let user = AppUser {
            id: format!("u{}", self.users.len() + 1),
            username: login.clone(),
            email: login,
            active: true,
            details: Value::Object(profile.clone()),
        };
        self.users.push(user.clone());
        Ok(user)
    }
    fn update_user(
        &mut self,
        id: &str,
        profile: &Map<String, Value>,
    ) -> Result<AppUser, AppFailure> {
        self.calls.push(format!("update {id}"));
        let user = self.user(id)?;
        if let Some(login) = profile.get("login").and_then(Value::as_str) {
            user.username = login.to_owned();
        }
        Ok(user.clone())
    }
    fn enable_user(&mut self, id: &str) -> Result<AppUser, AppFailure> {
        self.calls.push(format!("enable {id}"));
        self.failure("enable")?;
        let user = self.user(id)?;
        user.active = true;
        Ok(user.clone())
    }
    fn disable_user(&mut self, id: &str) -> Result<AppUser, AppFailure> {
        self.calls.push(format!("disable {id}"));
        self.failure("disable")?;
        let user = self.user(id)?;
        user.active = false;
        Ok(user.clone())
    }
}

/// Maps `username` to `login`; the incoming map is the reverse.
struct LoginMapper;

impl Mapper for LoginMapper {
    fn outgoing(&self, profile: &Value, _: MappingType) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        if let Some(u) = profile.get("username") {
            out.insert("login".into(), u.clone());
        }
        Ok(out)
    }
    fn incoming(&self, app_user: &Value) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        out.insert(
            "username".into(),
            app_user.get("login").cloned().unwrap_or(Value::Null),
        );
        Ok(out)
    }
}

fn run(
    app: &mut FakeApp,
    command: Command,
    profile: Value,
    allow_enable: bool,
    flags: Flags,
) -> VendorResult {
    let req = Request {
        command,
        profile: &profile,
        allow_enable,
        flags,
        codes: &okta_like_codes(),
        before_create: BeforeCreate::Unknown,
    };
    execute(app, &LoginMapper, &req).vendor
}

/// Codes as the Okta plugin declares them.
fn okta_like_codes() -> VendorCodes {
    VendorCodes {
        already_disabled: vec!["E0000007".into()],
        already_enabled: vec!["E0000016".into()],
        error_entry: vec!["E0000047".into()],
        transient: vec!["E0000047".into(), "E0000009".into()],
    }
}

fn jdoe() -> Value {
    json!({"username": "jdoe@x.com", "email": "jdoe@x.com"})
}

#[test]
fn s27_disable_missing_user_is_a_successful_skip() {
    let mut app = FakeApp::default();
    let r = run(
        &mut app,
        Command::DisableUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(r.success && r.skipped);
    assert_eq!(r.reason, "User does not exist");
    assert!(!app.calls.iter().any(|c| c.starts_with("disable")));
}

#[test]
fn s27_disable_inactive_user_is_skipped_as_already_disabled() {
    let mut app = FakeApp::with_user("jdoe@x.com", false);
    let r = run(
        &mut app,
        Command::DisableUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(r.success && r.skipped);
    assert_eq!(r.reason, "User is already disabled.");
    assert_eq!(r.details, json!({"login": "jdoe@x.com"}));
}

#[test]
fn disable_active_user_disables_it() {
    let mut app = FakeApp::with_user("jdoe@x.com", true);
    let r = run(
        &mut app,
        Command::DisableUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(r.success && !r.skipped);
    assert_eq!((r.action.as_str(), r.active), ("disable", Some(false)));
    assert!(!app.users[0].active);
}

#[test]
fn s28_create_on_existing_user_becomes_update() {
    let mut app = FakeApp::with_user("jdoe@x.com", true);
    let r = run(
        &mut app,
        Command::CreateUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(r.success);
    assert_eq!(r.action, "update");
    assert!(!app.calls.contains(&"create".to_owned()));
    assert_eq!(app.users.len(), 1);
}

#[test]
fn a_repeated_create_that_finds_the_account_it_made_is_that_create() {
    let mut app = FakeApp::default();
    run(
        &mut app,
        Command::CreateUser,
        jdoe(),
        false,
        Flags::default(),
    );
    let profile = jdoe();
    let repeat = Request {
        command: Command::CreateUser,
        profile: &profile,
        allow_enable: false,
        flags: Flags::default(),
        codes: &okta_like_codes(),
        before_create: BeforeCreate::AbsentThenInterrupted,
    };
    let r = execute(&mut app, &LoginMapper, &repeat).vendor;
    assert!(r.success && !r.skipped);
    assert_eq!((r.action.as_str(), r.id.as_str()), ("create", "u1"));
    assert_eq!(app.users.len(), 1, "no second account");
    assert_eq!(
        app.calls.iter().filter(|c| !c.starts_with("find")).count(),
        1,
        "only the first try created, nothing updated: {:?}",
        app.calls
    );
}

#[test]
fn a_create_after_a_lookup_that_found_nobody_does_not_look_again() {
    let (profile, codes) = (jdoe(), okta_like_codes());
    let request = |before_create| Request {
        command: Command::CreateUser,
        profile: &profile,
        allow_enable: false,
        flags: Flags::default(),
        codes: &codes,
        before_create,
    };
    let mut app = FakeApp::default();
    let r = execute(&mut app, &LoginMapper, &request(BeforeCreate::Absent)).vendor;
    assert!(r.success && r.action == "create", "{r:?}");
    assert_eq!(app.calls, ["create"]);
    // Without that lookup, a create looks first, and one for someone who exists updates.
    let mut app = FakeApp::with_user("jdoe@x.com", true);
    let r = execute(&mut app, &LoginMapper, &request(BeforeCreate::Unknown)).vendor;
    assert_eq!(r.action, "update", "{r:?}");
    assert!(app.calls[0].starts_with("find"), "{:?}", app.calls);
    assert_eq!(
        BeforeCreate::of("ad", &["ad".into()], false),
        BeforeCreate::Absent
    );
    assert_eq!(
        BeforeCreate::of("ad", &["ad".into()], true),
        BeforeCreate::AbsentThenInterrupted
    );
    assert_eq!(
        BeforeCreate::of("okta", &["ad".into()], false),
        BeforeCreate::Unknown
    );
}

#[test]
fn create_new_user() {
    let mut app = FakeApp::default();
    let r = run(
        &mut app,
        Command::CreateUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(r.success);
    assert_eq!(
        (r.action.as_str(), r.id.as_str(), r.active),
        ("create", "u1", Some(true))
    );
    assert_eq!(r.email, "jdoe@x.com");
}

#[test]
fn s29_update_missing_user_without_create_if_not_exists_is_skipped() {
    let mut app = FakeApp::default();
    let flags = Flags {
        create_if_not_exists: false,
        ..Flags::default()
    };
    let r = run(&mut app, Command::UpdateUser, jdoe(), false, flags);
    assert!(r.success && r.skipped);
    assert_eq!(r.reason, "User does not exist");
    assert!(app.users.is_empty());
}

#[test]
fn s29_update_missing_user_with_create_if_not_exists_creates() {
    let mut app = FakeApp::default();
    let r = run(
        &mut app,
        Command::UpdateUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(r.success && !r.skipped);
    assert_eq!(r.action, "create");
    assert_eq!(app.users.len(), 1);
}

#[test]
fn s30_update_with_allow_enable_enables_an_inactive_user() {
    let mut app = FakeApp::with_user("jdoe@x.com", false);
    let r = run(
        &mut app,
        Command::UpdateUser,
        jdoe(),
        true,
        Flags::default(),
    );
    assert!(r.success);
    assert_eq!((r.action.as_str(), r.active), ("enable", Some(true)));
    assert_eq!(
        app.calls,
        vec!["find login=jdoe@x.com", "enable u1", "update u1"]
    );
}

#[test]
fn allow_enable_is_ignored_when_enable_is_switched_off() {
    let mut app = FakeApp::with_user("jdoe@x.com", false);
    let flags = Flags {
        enable_enabled: false,
        ..Flags::default()
    };
    let r = run(&mut app, Command::UpdateUser, jdoe(), true, flags);
    assert_eq!((r.action.as_str(), r.active), ("update", Some(false)));
    assert!(!app.calls.iter().any(|c| c.starts_with("enable")));
}

#[test]
fn s31_disabled_commands_skip_without_calling_the_app() {
    for (command, flags) in [
        (
            Command::UpdateUser,
            Flags {
                update_enabled: false,
                ..Flags::default()
            },
        ),
        (
            Command::CreateUser,
            Flags {
                create_enabled: false,
                ..Flags::default()
            },
        ),
        (
            Command::DisableUser,
            Flags {
                disable_enabled: false,
                ..Flags::default()
            },
        ),
    ] {
        let mut app = FakeApp::with_user("jdoe@x.com", true);
        let r = run(&mut app, command, jdoe(), true, flags);
        assert!(r.success && r.skipped, "{command:?}");
        assert_eq!(r.reason, "Command is disabled.");
        assert!(app.calls.is_empty(), "{command:?} called {:?}", app.calls);
    }
}

#[test]
fn s32_update_looks_up_by_old_username_and_renames() {
    let mut app = FakeApp::with_user("old@x.com", true);
    let profile = json!({"username": "new@x.com", "email": "new@x.com", "olduserdata": {"username": "old@x.com"}});
    let r = run(
        &mut app,
        Command::UpdateUser,
        profile,
        false,
        Flags::default(),
    );
    assert!(r.success);
    assert_eq!(r.action, "update");
    assert_eq!(app.calls[0], "find login=old@x.com");
    assert_eq!(app.users[0].username, "new@x.com");
    assert_eq!(app.users.len(), 1);
}

#[test]
fn get_user_maps_the_app_user_back_into_the_profile() {
    let mut app = FakeApp::with_user("jdoe@x.com", true);
    let profile = jdoe();
    let req = Request {
        command: Command::GetUser,
        profile: &profile,
        allow_enable: false,
        flags: Flags::default(),
        codes: &VendorCodes::default(),
        before_create: BeforeCreate::Unknown,
    };
    let out = execute(&mut app, &LoginMapper, &req);
    assert!(out.vendor.success);
    assert_eq!(out.user_profile, json!({"username": "jdoe@x.com"}));
    let mut empty = FakeApp::default();
    let missing = execute(&mut empty, &LoginMapper, &req).vendor;
    assert!(!missing.success);
    assert_eq!(
        (
            missing.error_code.as_deref(),
            missing.error_message.as_str()
        ),
        (Some("404"), "User does not exist")
    );
}

#[test]
fn app_errors_are_results_not_crashes() {
    let mut app = FakeApp {
        fail: Some(("create", AppFailure::new("409", "userName taken"))),
        ..FakeApp::default()
    };
    let r = run(
        &mut app,
        Command::CreateUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(!r.success);
    assert_eq!(
        (
            r.action.as_str(),
            r.error_code.as_deref(),
            r.error_message.as_str()
        ),
        ("create", Some("409"), "userName taken")
    );
}

#[test]
fn a_profile_without_identifying_attributes_fails_with_the_attributes_named() {
    let mut app = FakeApp::default();
    let r = run(
        &mut app,
        Command::GetUser,
        json!({"title": "x"}),
        false,
        Flags::default(),
    );
    assert!(!r.success);
    assert!(
        r.error_message.starts_with(MISSING_ATTRIBUTES),
        "{}",
        r.error_message
    );
    assert!(r.error_message.contains("id, login"));
}

#[test]
fn a_disable_that_races_another_is_skipped_as_already_disabled() {
    let mut app = FakeApp::with_user("jdoe@x.com", true);
    app.fail = Some(("disable", AppFailure::new("E0000007", "Not found")));
    let v = run(
        &mut app,
        Command::DisableUser,
        jdoe(),
        false,
        Flags::default(),
    );
    assert!(v.success && v.skipped, "{v:?}");
    assert_eq!(v.reason, "User is already disabled.");
    assert_eq!(v.error_code.as_deref(), Some("E0000007"));
    assert_eq!(v.active, Some(false), "the lookup's active is stale");
}

#[test]
fn an_enable_that_races_another_still_updates_the_profile() {
    let mut app = FakeApp::with_user("jdoe@x.com", false);
    app.fail = Some(("enable", AppFailure::new("E0000016", "already active")));
    let v = run(
        &mut app,
        Command::UpdateUser,
        jdoe(),
        true,
        Flags::default(),
    );
    assert!(v.success && !v.skipped, "{v:?}");
    assert_eq!(v.action, "update");
    assert!(
        app.calls.contains(&"update u1".to_owned()),
        "{:?}",
        app.calls
    );
}

#[test]
fn a_rate_limit_is_a_failure_an_error_entry_and_transient() {
    let mut app = FakeApp::with_user("jdoe@x.com", false);
    app.fail = Some((
        "enable",
        AppFailure::new("E0000047", "API call exceeded rate limit"),
    ));
    let v = run(
        &mut app,
        Command::UpdateUser,
        jdoe(),
        true,
        Flags::default(),
    );
    assert!(!v.success && v.error_entry && v.transient, "{v:?}");
    assert_eq!(v.error_code.as_deref(), Some("E0000047"));
    // An ordinary failure is not an error entry.
    app.fail = Some(("enable", AppFailure::new("E0000001", "validation")));
    let v = run(
        &mut app,
        Command::UpdateUser,
        jdoe(),
        true,
        Flags::default(),
    );
    assert!(!v.success && !v.error_entry && !v.transient, "{v:?}");
}
