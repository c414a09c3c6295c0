//! The shipped IAM playbooks (playbooks/*.rhai) run end to end against memory-app
//! instances (the in-process test double plugin) and aiosmtpd: the acceptance scenarios 37, 39,
//! 40, 41, 47, email changes, updates and rehires. Active Directory has its own tests
//! against Samba; here the AD brand has no instance, so its branch does nothing.

mod support;

use ilm::mail::Mailer;
use ilm::playbooks::{RunOutcome, ScriptDirs, Services};
use ilm::plugins::{Host, HostConfig};
use ilm::store::{Actor, IncidentStatus, Instance, NewIncident, PooledStore};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use support::{dist, SmtpSink};

struct Flow {
    _dir: tempfile::TempDir,
    books: tempfile::TempDir,
    services: Arc<Services>,
    smtp: SmtpSink,
}

/// The shipped playbooks with config.toml edited by `(old, new)` replacements.
fn flow(edits: &[(&str, &str)]) -> Flow {
    let dir = tempfile::tempdir().unwrap();
    let no_ad = [(
        "ADBrand = \"Active Directory Query v2\"",
        "ADBrand = \"No AD in this test\"",
    )];
    let all: Vec<(&str, &str)> = no_ad.iter().chain(edits).copied().collect();
    let books = support::shipped_playbooks_with(&all);
    std::fs::write(
        books.path().join("mappers/broken.rhai"),
        "fn outgoing(p, t) { #{} }\nfn incoming(u) { #{} }\n",
    )
    .unwrap();
    let smtp = SmtpSink::start();
    let host = Host::new(HostConfig {
        plugins_dir: dist("test-plugins"),
        cache_dir: dir.path().join("cache"),
    })
    .unwrap();
    let services = Arc::new(
        Services::new(
            dir.path().join("ilm.db"),
            Arc::new(host),
            &ScriptDirs::under(books.path()),
            Some(Mailer::new(&smtp.url(), "ilm@acme.test").unwrap()),
        )
        .unwrap(),
    );
    Flow {
        _dir: dir,
        books,
        services,
        smtp,
    }
}

impl Flow {
    fn store(&self) -> PooledStore {
        self.services.open_store().unwrap()
    }

    fn instance(&self, name: &str, enabled: bool, mapper: Option<&str>) {
        let mut params = Map::new();
        if let Some(m) = mapper {
            params.insert("mapper".into(), json!(m));
        }
        self.store()
            .add_instance(&Instance {
                name: name.into(),
                plugin: "memory-app".into(),
                params,
                secrets: Default::default(),
                allow_hosts: vec![],
                limits: Map::new(),
                enabled,
            })
            .unwrap();
    }

    fn settings(&self, rows: Value) {
        self.store()
            .set_list("app-provisioning-settings", &rows.to_string())
            .unwrap();
    }

    fn incident(&self, kind: &str, profile: Value) -> i64 {
        let fields = json!({"email": profile["email"], "userprofile": profile});
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        let name = profile["email"].as_str().unwrap_or_default().to_owned();
        self.store()
            .create_incident(&NewIncident {
                kind,
                name: &name,
                fields: &fields,
            })
            .unwrap()
            .id
    }

    fn run(&self, id: i64) -> RunOutcome {
        self.services.run_incident(id).unwrap()
    }

    fn users(&self, instance: &str) -> Vec<Value> {
        let context: Value =
            serde_json::from_str(&self.store().integration_context(instance).unwrap()).unwrap();
        context["users"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn profile(&self, email: &str) -> Option<Map<String, Value>> {
        self.store().profile(email).unwrap().map(|p| p.fields)
    }

    fn mails_with_subject(&self, subject: &str) -> Vec<String> {
        self.smtp
            .messages()
            .into_iter()
            .filter(|m| m.contains(&format!("Subject: {subject}")))
            .collect()
    }
}

fn row(instance: &str, create: bool, group: &str) -> Value {
    json!({"instance_name": instance, "create_user_enabled": create, "create_user_group": group,
           "update_user_enabled": true, "disable_user_enabled": true, "enable_user_enabled": true,
           "create_user_email_notification_ids": format!("{instance}-owners@acme.test"),
           "disable_user_email_notification_ids": format!("{instance}-offboarding@acme.test"),
           "enable_user_email_notification_ids": format!("{instance}-rehires@acme.test")})
}

fn jane() -> Value {
    json!({"email": "jane@acme.test", "username": "jane@acme.test", "employeeid": "100", "displayname": "Jane Doe",
           "title": "Engineer", "employmentstatus": "Active", "sourceoftruth": "Workday IAM"})
}

#[test]
fn s37_new_hire_provisions_only_enabled_all_group_instances_and_notifies() {
    let f = flow(&[]);
    f.instance("A", true, None);
    f.instance("B", true, None);
    f.instance("C", false, None);
    f.settings(json!([
        row("A", true, "All"),
        row("B", false, "All"),
        row("C", true, "All")
    ]));
    let id = f.incident("IAM - New Hire", jane());
    assert_eq!(f.run(id), RunOutcome::Closed);
    assert_eq!(f.users("A").len(), 1);
    assert!(f.users("B").is_empty() && f.users("C").is_empty());
    let profile = f.profile("jane@acme.test").unwrap();
    assert_eq!(
        (
            profile["isprocessed"].clone(),
            profile["temporaryuserprofile"].clone()
        ),
        (json!(false), json!(false))
    );
    assert_eq!(profile["adaccountstatus"], "");
    let mails = f.mails_with_subject("User was provisioned successfully");
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("A-owners@acme.test"));
    let incident = f.store().incident(id).unwrap().unwrap();
    assert_eq!(
        incident.fields["successfulprovisioning"][0]["instanceName"],
        "A"
    );
}

#[test]
fn s39_a_failed_vendor_mails_it_assigns_and_halts_then_a_rerun_after_the_fix_closes() {
    let f = flow(&[]);
    f.instance("A", true, None);
    f.instance("Bad", true, Some("broken"));
    f.settings(json!([row("A", true, "All"), row("Bad", true, "All")]));
    let id = f.incident("IAM - New Hire", jane());
    match f.run(id) {
        RunOutcome::Failed { error } => assert!(
            error.contains("The following instances failed") && error.contains("Bad"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
    let store = f.store();
    let incident = store.incident(id).unwrap().unwrap();
    assert_eq!(incident.status, IncidentStatus::Failed);
    assert_eq!(
        incident.owner.as_deref(),
        Some("admin"),
        "assigned to a user with UserRoleToAssignForFailures"
    );
    assert_eq!(
        incident.fields["failedprovisioning"][0]["instanceName"],
        "Bad"
    );
    let failure_mails =
        f.mails_with_subject(&format!("IAM incident {id} failed with user Jane Doe"));
    assert_eq!(failure_mails.len(), 1);
    assert!(failure_mails[0].contains("it@example.test"));
    assert_eq!(f.users("A").len(), 1);

    // The administrator fixes the mapper; the re-run only retries Bad.
    std::fs::copy(
        f.books.path().join("mappers/memory-app.rhai"),
        f.books.path().join("mappers/broken.rhai"),
    )
    .unwrap();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(f.books.path().join("mappers/broken.rhai"))
        .unwrap();
    file.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(2))
        .unwrap();
    assert_eq!(f.run(id), RunOutcome::Closed);
    assert_eq!(f.users("A").len(), 1);
    assert_eq!(f.users("Bad").len(), 1);
    let attempt2 = store.journal(id, 2).unwrap();
    let creates: Vec<&Value> = attempt2
        .iter()
        .filter(|e| e.call == "iam" && e.args.get("using").is_some())
        .map(|e| &e.args["using"])
        .collect();
    assert_eq!(creates, vec![&json!(["Bad"])]);
}

#[test]
fn s40_the_deactivation_limit_asks_before_disabling_and_counts() {
    let f = flow(&[(
        "MaxDeactivationLimit = \"\"",
        "MaxDeactivationLimit = \"50\"",
    )]);
    f.instance("A", true, None);
    f.settings(json!([row("A", true, "All")]));
    f.store().set_list("max-deactivation-count", "50").unwrap();
    let hire = f.incident("IAM - New Hire", jane());
    assert_eq!(f.run(hire), RunOutcome::Closed);

    let mut leaver = jane();
    leaver["employmentstatus"] = json!("Terminated");
    let id = f.incident("IAM - Terminate User", leaver);
    assert_eq!(
        f.run(id),
        RunOutcome::Waiting {
            question: format!("Max deactivation limit reached. Please Review Event: {id}")
        }
    );
    assert_eq!(
        f.users("A")[0]["active"],
        json!(true),
        "nothing is disabled before approval"
    );
    f.store()
        .answer_question(id, "Deactivate Account", &Actor::Cli)
        .unwrap();
    assert_eq!(f.run(id), RunOutcome::Closed);
    assert_eq!(f.users("A")[0]["active"], json!(false));
    assert_eq!(
        f.store().list("max-deactivation-count").unwrap().as_deref(),
        Some("51")
    );
    assert_eq!(f.profile("jane@acme.test").unwrap()["active"], json!(false));
    assert_eq!(
        f.mails_with_subject("User was provisioned successfully")
            .iter()
            .filter(|m| m.contains("A-offboarding@acme.test"))
            .count(),
        1
    );
}

#[test]
fn s41_an_orphan_left_alone_stays_processed_and_nothing_is_disabled() {
    let f = flow(&[]);
    f.instance("A", true, None);
    f.settings(json!([row("A", true, "All")]));
    assert_eq!(
        f.run(f.incident("IAM - New Hire", jane())),
        RunOutcome::Closed
    );
    let mut orphan = jane();
    orphan["terminationtrigger"] = json!("Orphan");
    let id = f.incident("IAM - Terminate User", orphan);
    assert!(matches!(f.run(id), RunOutcome::Waiting { .. }));
    f.store()
        .answer_question(id, "Do Not Terminate", &Actor::Cli)
        .unwrap();
    assert_eq!(f.run(id), RunOutcome::Closed);
    let profile = f.profile("jane@acme.test").unwrap();
    assert_eq!(
        (profile["active"].clone(), profile["isprocessed"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(f.users("A")[0]["active"], json!(true));
    let calls: Vec<String> = f
        .store()
        .journal(id, 1)
        .unwrap()
        .into_iter()
        .map(|e| e.call)
        .collect();
    assert!(!calls.contains(&"iam".to_owned()), "{calls:?}");
}

#[test]
fn s47_an_older_open_duplicate_is_closed_by_the_newer_incident() {
    let f = flow(&[]);
    f.instance("A", true, None);
    f.settings(json!([row("A", true, "All")]));
    let older = f.incident("IAM - Update User", jane());
    let newer = f.incident("IAM - Update User", jane());
    assert_eq!(f.run(newer), RunOutcome::Closed);
    let old = f.store().incident(older).unwrap().unwrap();
    assert_eq!(old.status, IncidentStatus::Closed);
    assert_eq!(old.fields["closeNotes"], format!("Duplicate of {newer}"));
}

#[test]
fn updates_rehires_and_email_changes_follow_the_flows() {
    let f = flow(&[]);
    f.instance("A", true, None);
    f.settings(json!([row("A", true, "All")]));
    assert_eq!(
        f.run(f.incident("IAM - New Hire", jane())),
        RunOutcome::Closed
    );

    let mut mover = jane();
    mover["title"] = json!("Sr Engineer");
    mover["olduserdata"] = jane();
    assert_eq!(
        f.run(f.incident("IAM - Update User", mover.clone())),
        RunOutcome::Closed
    );
    assert_eq!(f.users("A")[0]["title"], "Sr Engineer");
    assert_eq!(f.profile("jane@acme.test").unwrap()["title"], "Sr Engineer");
    assert!(f
        .profile("jane@acme.test")
        .unwrap()
        .get("olduserdata")
        .is_none());

    let mut leaver = mover.clone();
    leaver.as_object_mut().unwrap().remove("olduserdata");
    assert_eq!(
        f.run(f.incident("IAM - Terminate User", leaver)),
        RunOutcome::Closed
    );
    assert_eq!(f.users("A")[0]["active"], json!(false));

    let mut rehire = mover.clone();
    rehire.as_object_mut().unwrap().remove("olduserdata");
    rehire["rehiredemployee"] = json!("Yes");
    assert_eq!(
        f.run(f.incident("IAM - Rehire User", rehire)),
        RunOutcome::Closed
    );
    assert_eq!(f.users("A")[0]["active"], json!(true));
    assert_eq!(f.profile("jane@acme.test").unwrap()["active"], json!(true));
    assert_eq!(
        f.mails_with_subject("User was provisioned successfully")
            .iter()
            .filter(|m| m.contains("A-rehires@acme.test"))
            .count(),
        1
    );

    // Email change: a person chooses to change the username everywhere.
    let mut renamed = mover;
    renamed["email"] = json!("jane.doe@acme.test");
    renamed["username"] = json!("jane.doe@acme.test");
    renamed["olduserdata"] = jane();
    let id = f.incident("IAM - Update User", renamed);
    assert!(matches!(f.run(id), RunOutcome::Waiting { .. }));
    assert_eq!(
        f.profile("jane.doe@acme.test").unwrap()["temporaryuserprofile"],
        json!(true)
    );
    f.store()
        .answer_question(id, "Change Username", &Actor::Cli)
        .unwrap();
    assert_eq!(f.run(id), RunOutcome::Closed);
    assert!(f.profile("jane@acme.test").is_none());
    assert_eq!(
        f.profile("jane.doe@acme.test").unwrap()["temporaryuserprofile"],
        json!(false)
    );
    assert_eq!(f.users("A").len(), 1);
    assert_eq!(f.users("A")[0]["username"], "jane.doe@acme.test");
}
