//! Durable playbooks through the library: journaling, questions that suspend and resume,
//! script errors that fail one incident, re-runs that keep SuccessfulVendors, and mail.
//! The app is the memory-app test double plugin (real wasm, state in its integration context).

mod support;

use ilm::mail::Mailer;
use ilm::playbooks::{RunOutcome, ScriptDirs, Services};
use ilm::plugins::{Host, HostConfig};
use ilm::store::{Actor, IncidentStatus, Instance, NewIncident, PooledStore, Store};
use serde_json::{json, Map, Value};
use std::sync::Arc;
use support::{dist, repo_root, SmtpSink};

struct World {
    _dir: tempfile::TempDir,
    services: Arc<Services>,
}

/// A data dir, a playbooks folder with `scripts` (name → source) mapped from incident type
/// `Test` to the first one, and an instance `mem` of memory-app.
fn world(scripts: &[(&str, &str)], smtp: Option<&SmtpSink>) -> World {
    world_with(scripts, smtp, &dist("test-plugins"), "")
}

/// [`world`] with `limits` (TOML lines) under `[limits]` in config.toml.
fn world_limited(scripts: &[(&str, &str)], smtp: Option<&SmtpSink>, limits: &str) -> World {
    world_with(scripts, smtp, &dist("test-plugins"), limits)
}

/// [`world`] with the plugins of `plugins_dir`.
fn world_with_plugins(
    scripts: &[(&str, &str)],
    smtp: Option<&SmtpSink>,
    plugins_dir: &std::path::Path,
) -> World {
    world_with(scripts, smtp, plugins_dir, "")
}

fn world_with(
    scripts: &[(&str, &str)],
    smtp: Option<&SmtpSink>,
    plugins_dir: &std::path::Path,
    limits: &str,
) -> World {
    let dir = tempfile::tempdir().unwrap();
    let books = dir.path().join("playbooks");
    std::fs::create_dir_all(&books).unwrap();
    for (name, source) in scripts {
        std::fs::write(books.join(format!("{name}.rhai")), source).unwrap();
    }
    let config = format!(
        "[types]\n\"Test\" = \"{}\"\n[inputs]\nITNotificationEmail = \"it@acme.test\"\n[limits]\n{limits}\n",
        scripts[0].0
    );
    std::fs::write(books.join("config.toml"), config).unwrap();
    let db_path = dir.path().join("ilm.db");
    let host = Host::new(HostConfig {
        plugins_dir: plugins_dir.to_owned(),
        cache_dir: dir.path().join("cache"),
    })
    .unwrap();
    let services = Arc::new(
        Services::new(
            db_path.clone(),
            Arc::new(host),
            &ScriptDirs {
                playbooks: books.clone(),
                mappers: repo_root().join("playbooks").join("mappers"),
                transformers: repo_root().join("playbooks").join("transformers"),
            },
            smtp.map(|s| Mailer::new(&s.url(), "ilm@acme.test").unwrap()),
        )
        .unwrap(),
    );
    add_instance(&services.open_store().unwrap(), "mem");
    World {
        _dir: dir,
        services,
    }
}

fn add_instance(store: &Store, name: &str) {
    store
        .add_instance(&Instance {
            name: name.into(),
            plugin: "memory-app".into(),
            params: Map::new(),
            secrets: Default::default(),
            allow_hosts: vec![],
            limits: Map::new(),
            enabled: true,
        })
        .unwrap();
}

impl World {
    fn store(&self) -> PooledStore {
        self.services.open_store().unwrap()
    }

    fn incident(&self, fields: Value) -> i64 {
        let Value::Object(fields) = fields else {
            panic!("fields")
        };
        self.store()
            .create_incident(&NewIncident {
                kind: "Test",
                name: "jdoe@acme.test",
                fields: &fields,
            })
            .unwrap()
            .id
    }

    /// The users memory-app holds for `instance`.
    fn app_users(&self, instance: &str) -> Vec<Value> {
        let context: Value =
            serde_json::from_str(&self.store().integration_context(instance).unwrap()).unwrap();
        context["users"]
            .as_object()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    fn calls(&self, id: i64) -> Vec<String> {
        let store = self.store();
        let attempt = store.run_state(id).unwrap().attempt;
        store
            .journal(id, attempt)
            .unwrap()
            .into_iter()
            .map(|e| e.call)
            .collect()
    }
}

fn jdoe() -> Value {
    json!({"userprofile": {"email": "jdoe@acme.test", "username": "jdoe@acme.test", "title": "Engineer"}})
}

const PROVISION: &str = r#"
let p = incident.fields.userprofile;
let results = iam("iam-create-user", ["mem"], p);
if !results[0].success { fail(`create failed: ${results[0].errorMessage}`); }
profile_put(p.email, p);
set_field("provisioned", true);
"#;

#[test]
fn a_playbook_provisions_journals_and_closes() {
    let w = world(&[("provision", PROVISION)], None);
    let id = w.incident(jdoe());
    assert_eq!(w.services.run_incident(id).unwrap(), RunOutcome::Closed);
    let store = w.store();
    let incident = store.incident(id).unwrap().unwrap();
    assert_eq!(incident.status, IncidentStatus::Closed);
    assert_eq!(incident.fields["provisioned"], json!(true));
    assert_eq!(w.app_users("mem").len(), 1);
    assert_eq!(
        store.profile("jdoe@acme.test").unwrap().unwrap().fields["title"],
        "Engineer"
    );
    // A create is preceded by the lookup that tells, after a crash, our account from one
    // that was there before.
    assert_eq!(
        w.calls(id),
        vec!["iam.absent", "iam", "profile.put", "incident.set"]
    );
    assert!(store
        .journal(id, 1)
        .unwrap()
        .iter()
        .all(|e| e.result.is_some()));
}

#[test]
fn a_question_suspends_and_the_answer_resumes_without_repeating_anything() {
    let script = r#"
let p = incident.fields.userprofile;
let pw = transform("generate-password", #{ min_lcase: 4, min_digits: 2, max_digits: 2 });
set_field("password_before", pw.NEW_PASSWORD);
iam("iam-create-user", "mem", p);
let answer = ask("Disable the account again?", ["Yes", "No"]);
set_field("password_after", pw.NEW_PASSWORD);
if answer == "Yes" { iam("iam-disable-user", "mem", p); }
"#;
    let w = world(&[("ask", script)], None);
    let id = w.incident(jdoe());
    let outcome = w.services.run_incident(id).unwrap();
    assert_eq!(
        outcome,
        RunOutcome::Waiting {
            question: "Disable the account again?".into()
        }
    );
    let store = w.store();
    assert_eq!(
        store.incident(id).unwrap().unwrap().status,
        IncidentStatus::Waiting
    );
    assert_eq!(w.app_users("mem")[0]["active"], json!(true));

    let wrong = store
        .answer_question(id, "Maybe", &Actor::Cli)
        .unwrap_err()
        .to_string();
    assert!(wrong.contains("choose one of: Yes, No"), "{wrong}");
    store.answer_question(id, "Yes", &Actor::Cli).unwrap();
    assert_eq!(
        store.incident(id).unwrap().unwrap().status,
        IncidentStatus::Pending
    );

    assert_eq!(w.services.run_incident(id).unwrap(), RunOutcome::Closed);
    let fields = store.incident(id).unwrap().unwrap().fields;
    // The generated password was replayed from the journal, not drawn again.
    assert_eq!(fields["password_before"], fields["password_after"]);
    assert_eq!(
        w.calls(id),
        vec![
            "transform",
            "incident.set",
            "iam.absent",
            "iam",
            "ask",
            "incident.set",
            "iam"
        ]
    );
    assert_eq!(w.app_users("mem").len(), 1);
    assert_eq!(w.app_users("mem")[0]["active"], json!(false));
    // Closed: the sensitive transformer output is gone from the journal.
    let journal = store.journal(id, 1).unwrap();
    assert_eq!(journal[0].result, Some(json!("<redacted>")));
}

#[test]
fn a_script_error_fails_that_incident_with_script_and_line_and_the_next_runs() {
    let broken = "let p = incident.fields.userprofile;\nlet x = p.title;\nx.no_such_method();\n";
    let w = world(&[("broken", broken), ("provision", PROVISION)], None);
    let bad = w.incident(jdoe());
    match w.services.run_incident(bad).unwrap() {
        RunOutcome::Failed { error } => {
            assert!(
                error.contains("playbook broken") && error.contains("line 3"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let store = w.store();
    assert_eq!(
        store.incident(bad).unwrap().unwrap().status,
        IncidentStatus::Failed
    );
    assert!(store
        .run_state(bad)
        .unwrap()
        .error
        .unwrap()
        .contains("no_such_method"));

    let mut fields = jdoe();
    fields["playbook"] = json!("provision");
    let good = w.incident(fields);
    assert_eq!(w.services.run_incident(good).unwrap(), RunOutcome::Closed);
}

#[test]
fn s38_a_rerun_after_failure_retries_only_the_failed_instances() {
    let script = r#"
let p = incident.fields.userprofile;
let done = context("SuccessfulVendors");
if done == () { done = []; }
let todo = [];
for i in ["mem", "mem2"] { if !done.contains(i) { todo.push(i); } }
let results = iam("iam-create-user", todo, p);
let failed = [];
for r in results { if r.success { done.push(r.instanceName); } else { failed.push(r.instanceName); } }
set_context("SuccessfulVendors", done);
if failed.len() > 0 { fail(`provisioning failed on ${failed}`); }
"#;
    let w = world(&[("sync", script)], None);
    let id = w.incident(jdoe());
    match w.services.run_incident(id).unwrap() {
        RunOutcome::Failed { error } => assert!(error.contains("mem2"), "{error}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(w.app_users("mem").len(), 1);

    // The administrator fixes the missing instance and re-runs.
    add_instance(&w.store(), "mem2");
    assert_eq!(w.services.run_incident(id).unwrap(), RunOutcome::Closed);
    let store = w.store();
    assert_eq!(store.run_state(id).unwrap().attempt, 2);
    let second = store.journal(id, 2).unwrap();
    let iam_call = second.iter().find(|e| e.call == "iam").unwrap();
    assert_eq!(
        iam_call.args["using"],
        json!(["mem2"]),
        "only the failed instance is retried"
    );
    assert_eq!(w.app_users("mem").len(), 1);
    assert_eq!(w.app_users("mem2").len(), 1);
    assert_eq!(
        store.run_state(id).unwrap().context["SuccessfulVendors"],
        json!(["mem", "mem2"])
    );
}

#[test]
fn sub_playbooks_share_the_journal_and_mail_reaches_the_smtp_server() {
    let main = r#"
let r = playbook("notify", #{ Subject: "Welcome" });
set_field("sub_result", r);
"#;
    let notify = r#"
mail(#{ to: inputs.ITNotificationEmail, subject: inputs.Subject, body: `New hire: ${incident.fields.userprofile.email}` });
"sent"
"#;
    let smtp = SmtpSink::start();
    let w = world(&[("main", main), ("notify", notify)], Some(&smtp));
    let id = w.incident(jdoe());
    assert_eq!(w.services.run_incident(id).unwrap(), RunOutcome::Closed);
    assert_eq!(w.calls(id), vec!["mail", "incident.set"]);
    assert_eq!(
        w.store().incident(id).unwrap().unwrap().fields["sub_result"],
        "sent"
    );
    let messages = smtp.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("Subject: Welcome")
            && messages[0].contains("New hire: jdoe@acme.test"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("it@acme.test"));
}

#[test]
fn unknown_types_instances_and_playbooks_are_clear_errors() {
    let w = world(
        &[(
            "provision",
            "iam(\"iam-create-user\", \"ghost\", #{ email: \"a@b.test\" });",
        )],
        None,
    );
    let store = w.store();
    let other = store
        .create_incident(&NewIncident {
            kind: "Nope",
            name: "x",
            fields: &Map::new(),
        })
        .unwrap();
    let err = w.services.run_incident(other.id).unwrap_err().to_string();
    assert!(
        err.contains("no playbook for incident type \"Nope\""),
        "{err}"
    );

    // An unknown instance in `using` is a failed vendor result the playbook can see.
    let id = w.incident(jdoe());
    assert_eq!(w.services.run_incident(id).unwrap(), RunOutcome::Closed);
    let journal = store.journal(id, 1).unwrap();
    let iam = journal
        .iter()
        .find(|e| e.call == "iam")
        .expect("the iam call");
    let vendor = &iam.result.as_ref().unwrap()[0];
    assert_eq!(vendor["success"], json!(false));
    assert!(
        vendor["errorMessage"]
            .as_str()
            .unwrap()
            .contains("no instance named \"ghost\""),
        "{vendor}"
    );
}

fn failure(w: &World, id: i64) -> String {
    match w.services.run_incident(id).unwrap() {
        RunOutcome::Failed { error } => error,
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// The entry playbook as iam-sync-user calls its custom hooks.
const WITH_HOOK: &str = r#"
let p = incident.fields.userprofile;
if playbook_exists("custom-hook") { playbook("custom-hook", #{ profile: p }); }
set_field("after_hook", true);
"#;

#[test]
fn a_hook_that_does_not_compile_fails_the_incident_with_its_file_and_line() {
    let w = world(
        &[
            ("main", WITH_HOOK),
            ("custom-hook", "let p = inputs.profile;\nlet x = ;\n"),
        ],
        None,
    );
    let id = w.incident(jdoe());
    let error = failure(&w, id);
    assert!(
        error.starts_with("playbook custom-hook (")
            && error.contains("custom-hook.rhai): does not compile")
            && error.contains("line 2")
            && error.contains("called from playbook main (line 3"),
        "{error}"
    );
    let incident = w.store().incident(id).unwrap().unwrap();
    assert_eq!(incident.status, IncidentStatus::Failed);
    assert!(!incident.fields.contains_key("after_hook"));
}

#[test]
fn script_errors_name_the_sub_playbook_or_transformer_that_failed_and_its_line() {
    let main = r#"
fn provision(p) {
    playbook("sub", #{ profile: p })
}
let p = incident.fields.userprofile;
provision(p);
"#;
    let sub = "let p = inputs.profile;\nlet x = p.title;\nx.no_such_method();\n";
    let w = world(&[("main", main), ("sub", sub)], None);
    let error = failure(&w, w.incident(jdoe()));
    assert!(
        error.starts_with("playbook sub (")
            && error.contains("no_such_method")
            && error.contains("line 3")
            && error.contains("called from playbook main"),
        "{error}"
    );

    // A failure two levels down names the innermost script.
    let middle = "playbook(\"sub\", #{ profile: incident.fields.userprofile });\n";
    let w = world(
        &[
            ("main", "playbook(\"middle\", #{});\n"),
            ("middle", middle),
            ("sub", sub),
        ],
        None,
    );
    let error = failure(&w, w.incident(jdoe()));
    assert!(error.starts_with("playbook sub ("), "{error}");

    // A script that catches a sub-playbook's failure and then fails itself is named itself.
    let catching = r#"
try { playbook("sub", #{ profile: incident.fields.userprofile }); } catch { }
let n = 1;
n.other_missing();
"#;
    let w = world(&[("main", catching), ("sub", sub)], None);
    let error = failure(&w, w.incident(jdoe()));
    assert!(
        error.starts_with("playbook main: ") && error.contains("other_missing"),
        "{error}"
    );

    // A transformer's error names the transformer, its file and its line.
    let transforming = "let ou = transform(\"ou-mapping\", #{ department: \"Legal\" });\n";
    let w = world(&[("main", transforming)], None);
    let error = failure(&w, w.incident(jdoe()));
    assert!(
        error.starts_with("transformer ou-mapping (")
            && error.contains("ou-mapping.rhai): failed in transform")
            && error.contains("no OU mapping")
            && error.contains("line ")
            && error.ends_with("called from playbook main (line 1, position 10)"),
        "{error}"
    );
}

#[test]
fn a_runaway_loop_of_host_calls_fails_at_its_call_budget_naming_script_and_line() {
    // try/catch cannot swallow a spent budget.
    let runaway = "let n = 0;\nloop {\n    try { today(); } catch { }\n    n += 1;\n}\n";
    let w = world_limited(&[("runaway", runaway)], None, "max_calls = 50");
    let id = w.incident(jdoe());
    let error = failure(&w, id);
    assert!(
        error.starts_with("playbook runaway (line 3")
            && error.contains("budget of 50 journaled calls")
            && error.contains("max_calls"),
        "{error}"
    );
    assert_eq!(w.calls(id).len(), 50, "at most the budget of journal rows");
    assert_eq!(
        w.store().incident(id).unwrap().unwrap().status,
        IncidentStatus::Failed
    );

    // In a sub-playbook, the sub-playbook and its line are named.
    let w = world_limited(
        &[
            ("main", "playbook(\"runaway\", #{});\n"),
            ("runaway", runaway),
        ],
        None,
        "max_calls = 50",
    );
    let error = failure(&w, w.incident(jdoe()));
    assert!(error.starts_with("playbook runaway (line 3"), "{error}");
}

#[test]
fn a_long_running_script_fails_at_its_wall_time_budget() {
    // Busy without host calls: the clock is read between operations too.
    let busy = "let n = 0;\nwhile true {\n    n += 1;\n    if n > 1000000000 { break; }\n}\n";
    let w = world_limited(&[("busy", busy)], None, "max_seconds = 0");
    let error = failure(&w, w.incident(jdoe()));
    assert!(
        error.starts_with("playbook busy (line ")
            && error.contains("wall-time budget of 0 s")
            && error.contains("max_seconds"),
        "{error}"
    );
}

#[test]
fn imports_outside_the_playbooks_folder_fail_the_incident_with_script_line_and_path() {
    // A hook reaching up out of the folder, to a file that exists there.
    let hook = "let p = inputs.profile;\nimport \"../escape\" as e;\ne::run();\n";
    let w = world(&[("main", WITH_HOOK), ("custom-hook", hook)], None);
    std::fs::write(w._dir.path().join("escape.rhai"), "fn run() { 1 }").unwrap();
    let id = w.incident(jdoe());
    let error = failure(&w, id);
    assert!(
        error.starts_with("playbook custom-hook (")
            && error.contains("import \"../escape\" resolves to")
            && error.contains("escape.rhai, outside the scripts folder")
            && error.contains("line 2"),
        "{error}"
    );
    assert!(!w
        .store()
        .incident(id)
        .unwrap()
        .unwrap()
        .fields
        .contains_key("after_hook"));

    // The entry playbook importing an absolute path.
    let w = world(
        &[("main", "let a = 1;\nimport \"/etc/passwd\" as pw;\n")],
        None,
    );
    let error = failure(&w, w.incident(jdoe()));
    assert!(
        error.starts_with("playbook main: ")
            && error.contains("/etc/passwd.rhai, outside the scripts folder")
            && error.contains("line 2"),
        "{error}"
    );

    // A module inside the folder still imports.
    let w = world(
        &[(
            "main",
            "import \"lib/util\" as util;\nset_field(\"from_lib\", util::answer());\n",
        )],
        None,
    );
    let books = w._dir.path().join("playbooks");
    std::fs::create_dir_all(books.join("lib")).unwrap();
    std::fs::write(books.join("lib/util.rhai"), "fn answer() { 42 }").unwrap();
    let id = w.incident(jdoe());
    w.services.run_incident(id).unwrap();
    assert_eq!(
        w.store().incident(id).unwrap().unwrap().fields["from_lib"],
        serde_json::json!(42)
    );
}

#[test]
fn only_commands_declared_sensitive_have_their_arguments_hidden_and_result_sealed() {
    const SECRET: &str = "Pw-31a7-declared-sensitive";
    // The question keeps the incident open, so replay can still open the sealed result.
    let script = format!(
        "plugin_command(\"memory-reset\", \"mem\", #{{ note: \"{SECRET}\" }});\nask(\"Go on?\", [\"Yes\"]);\n"
    );
    // The journal entry of memory-reset, as shown and as replay opens it, and whether the
    // database file holds the argument.
    let journaled = |w: &World| {
        let id = w.incident(jdoe());
        let outcome = w.services.run_incident(id).unwrap();
        assert!(matches!(outcome, RunOutcome::Waiting { .. }), "{outcome:?}");
        let store = w.store();
        let attempt = store.run_state(id).unwrap().attempt;
        let shown = store.journal(id, attempt).unwrap().remove(0);
        let replayed = store.journal_for_replay(id, attempt).unwrap().remove(0);
        let db = std::fs::read(w._dir.path().join("ilm.db")).unwrap();
        let wal = std::fs::read(w._dir.path().join("ilm.db-wal")).unwrap_or_default();
        let on_disk = [db, wal]
            .concat()
            .windows(SECRET.len())
            .any(|bytes| bytes == SECRET.as_bytes());
        (shown, replayed, on_disk)
    };

    // As shipped, memory-reset is not sensitive: its journal entry is in clear.
    let w = world(&[("main", &script)], None);
    let (shown, _, on_disk) = journaled(&w);
    assert_eq!(shown.call, "plugin.command");
    assert!(!shown.sensitive);
    assert_eq!(shown.args["args"]["note"], json!(SECRET));
    assert_eq!(shown.result, Some(json!({"mem": {"reset": true}})));
    assert!(
        on_disk,
        "a public call's arguments are journaled as they are"
    );

    // The same plugin with memory-reset declared sensitive in its manifest.
    let plugins = tempfile::tempdir().unwrap();
    std::fs::copy(
        dist("test-plugins").join("memory-app.wasm"),
        plugins.path().join("memory-app.wasm"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(dist("test-plugins").join("memory-app.toml")).unwrap();
    let declared = manifest.replace(
        "name = \"memory-reset\"\n",
        "name = \"memory-reset\"\nsensitive = true\n",
    );
    assert_ne!(declared, manifest);
    std::fs::write(plugins.path().join("memory-app.toml"), declared).unwrap();
    let w = world_with_plugins(&[("main", &script)], None, plugins.path());
    let (shown, replayed, on_disk) = journaled(&w);
    assert!(shown.sensitive);
    assert_eq!(
        shown.args,
        json!({"name": "memory-reset", "using": ["mem"], "args": "<redacted>"})
    );
    assert_eq!(shown.result, Some(json!("<redacted>")));
    assert_eq!(replayed.result, Some(json!({"mem": {"reset": true}})));
    assert!(
        !on_disk,
        "a sensitive call's argument reached the database file"
    );
}
