//! What an operator does through the API, against `ilm serve` over HTTPS with incidents
//! that `ilm worker` ran: answer the question an incident waits on
//! (`POST /incidents/{id}/answer`) and see it resume and close; two people answering at
//! once (one wins, nothing happens twice); retry a failed incident
//! (`POST /incidents/{id}/retry`) as a new attempt through the queue; `GET /status`, the
//! same as `ilm status --json`; and who may do each.

mod api_common;
mod support;

use api_common::{client, get, populate, post, start_https, start_https_running, Keys, Reply};
use ilm::api::Server;
use ilm::store::{Actor, AuditEntry, AuditFilter, IncidentStatus, NewApiKey, Permission, Store};
use reqwest::blocking::Client;
use serde_json::{json, Map, Value};
use std::path::Path;
use std::sync::Barrier;
use support::{dist, repo_root, Ilm};

/// A data directory with the API's people and keys, playbooks that ask and fail, and a
/// server on it; `ilm` runs the worker on the same directory.
struct Console {
    ilm: Ilm,
    _books: tempfile::TempDir,
    server: Server,
    keys: Keys,
    /// alice's key with the Analyst role, which may answer and retry.
    analyst: String,
    client: Client,
}

const ASK: &str = r#"ask("Go ahead?", ["Yes", "No"]);"#;
const FAIL: &str = r#"fail("the app is down");"#;

impl Console {
    /// A server without playbooks: answered incidents wait for a worker.
    fn start() -> Self {
        Self::start_with(false)
    }

    /// `resumes`: the server runs the playbooks, so an answer resumes its incident at once.
    fn start_with(resumes: bool) -> Self {
        let books = tempfile::tempdir().expect("tempdir");
        write_playbooks(books.path());
        let mut ilm = Ilm::new(dist("plugins"));
        ilm.playbooks_dir = books.path().to_owned();
        ilm.ok(&["incident", "list"]); // makes the data directory and its database
        let store = Store::open(api_common::db_path(ilm.data_dir.path())).expect("store");
        let (keys, new_hire) = populate(&store);
        // The people fixture's incident has no playbook here: keep it out of the queue.
        store
            .set_incident_status(new_hire, IncidentStatus::Closed)
            .expect("closing it");
        let analyst = key(&store, "Analyst");
        let server = if resumes {
            start_https_running(ilm.data_dir.path(), books.path(), None)
        } else {
            start_https(ilm.data_dir.path())
        };
        Self {
            ilm,
            _books: books,
            server,
            keys,
            analyst,
            client: client(),
        }
    }

    fn store(&self) -> Store {
        Store::open(api_common::db_path(self.ilm.data_dir.path())).expect("store")
    }

    fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.server.addr())
    }

    /// Files an incident of `kind` (`Ask` or `Fail`) for `email`.
    fn file(&self, kind: &str, email: &str) -> i64 {
        let fields = json!({ "email": email }).to_string();
        let out = self.ilm.ok(&[
            "incident", "create", "--type", kind, "--fields", &fields, "--json",
        ]);
        let incident: Value = serde_json::from_str(&out).expect("incident JSON");
        incident["id"].as_i64().expect("incident id")
    }

    /// Runs the queue dry; returns the worker's summary line.
    fn work(&self) -> String {
        self.ilm.ok(&["worker", "--until-idle"])
    }

    fn status_of(&self, id: i64) -> IncidentStatus {
        self.store()
            .incident(id)
            .expect("reading it")
            .expect("the incident")
            .status
    }

    fn answer(&self, id: i64, key: Option<&str>, answer: &str) -> Reply {
        post(
            &self.client,
            &self.url(&format!("/incidents/{id}/answer")),
            key,
            json!({ "answer": answer }).to_string(),
        )
    }

    fn retry(&self, id: i64, key: Option<&str>) -> Reply {
        post(
            &self.client,
            &self.url(&format!("/incidents/{id}/retry")),
            key,
            "",
        )
    }

    fn audit(&self, action: &str) -> Vec<AuditEntry> {
        self.store()
            .search_audit_log(&AuditFilter {
                limit: 100,
                action: Some(action.into()),
                ..AuditFilter::default()
            })
            .expect("audit log")
    }

    /// `ilm incident show ID --json`.
    fn show(&self, id: i64) -> Value {
        let out = self
            .ilm
            .ok(&["incident", "show", &id.to_string(), "--json"]);
        serde_json::from_str(&out).expect("incident JSON")
    }
}

/// A new API key of alice's with `role`.
fn key(store: &Store, role: &str) -> String {
    store
        .create_api_key(
            &NewApiKey {
                user: "alice",
                role,
                expires_at: None,
                comment: "",
            },
            &Actor::Cli,
        )
        .expect("alice's key")
        .key
}

fn write_playbooks(dir: &Path) {
    std::fs::create_dir_all(dir.join("mappers")).expect("mappers folder");
    std::fs::copy(
        repo_root().join("playbooks/mappers/workday-incoming.toml"),
        dir.join("mappers/workday-incoming.toml"),
    )
    .expect("copying the Workday map");
    std::fs::write(dir.join("ask.rhai"), ASK).expect("playbook");
    std::fs::write(dir.join("fail.rhai"), FAIL).expect("playbook");
    std::fs::write(
        dir.join("config.toml"),
        "[types]\n\"Ask\" = \"ask\"\n\"Fail\" = \"fail\"\n",
    )
    .expect("config");
}

#[test]
fn an_answer_resumes_the_incident_and_it_closes() {
    let c = Console::start();
    let id = c.file("Ask", "asked@acme.test");
    let ran = c.work();
    assert!(ran.contains("waiting 1"), "{ran}");

    let wrong = c.answer(id, Some(&c.analyst), "Maybe");
    assert_eq!(wrong.status, 400);
    let detail = wrong.error_detail();
    assert!(detail.contains("choose one of: Yes, No"), "{detail}");
    let shapeless = post(
        &c.client,
        &c.url(&format!("/incidents/{id}/answer")),
        Some(&c.analyst),
        r#"{"reply": "Yes"}"#,
    );
    assert_eq!(shapeless.status, 422, "a body without `answer`");
    shapeless.error_detail();
    assert_eq!(c.answer(id + 1000, Some(&c.analyst), "Yes").status, 404);
    assert_eq!(
        c.status_of(id),
        IncidentStatus::Waiting,
        "nothing changed yet"
    );

    let answered = c.answer(id, Some(&c.analyst), "Yes");
    assert_eq!(answered.status, 200);
    let body: Value = answered.json();
    assert_eq!(body["incident"], id);
    assert_eq!(body["status"], "pending");
    assert_eq!(body["question"], "Go ahead?");
    assert_eq!(body["answer"], "Yes");
    assert!(
        body["next"].as_str().is_some_and(|n| n.contains("worker")),
        "{body}"
    );
    assert_eq!(c.status_of(id), IncidentStatus::Pending);

    let again = c.answer(id, Some(&c.keys.admin), "No");
    assert_eq!(again.status, 409);
    let detail = again.error_detail();
    assert!(detail.contains("it is pending"), "{detail}");

    let log = c.audit("incident.answer");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].actor, "alice");
    assert_eq!(log[0].target, format!("incident {id}"));
    assert_eq!(log[0].before["question"], "Go ahead?");
    assert_eq!(log[0].after, json!({"answer": "Yes"}));

    let ran = c.work();
    assert!(ran.contains("closed 1"), "{ran}");
    assert_eq!(c.status_of(id), IncidentStatus::Closed);
    let shown = c.show(id);
    assert_eq!(shown["journal"][0]["call"], "ask");
    assert_eq!(shown["journal"][0]["result"], "Yes");

    let closed = c.answer(id, Some(&c.analyst), "Yes");
    assert_eq!(closed.status, 409);
    assert!(closed.error_detail().contains("it is closed"));
}

#[test]
fn an_answer_resumes_the_incident_at_once_when_the_server_runs_the_playbooks() {
    let c = Console::start_with(true);
    let id = c.file("Ask", "now@acme.test");
    c.work();
    assert_eq!(c.status_of(id), IncidentStatus::Waiting);

    let answered = c.answer(id, Some(&c.analyst), "Yes");
    assert_eq!(answered.status, 200);
    let body: Value = answered.json();
    assert_eq!(body["status"], "closed", "{body}");
    assert!(
        body["next"]
            .as_str()
            .is_some_and(|n| n.contains("the incident closed")),
        "{body}"
    );
    assert_eq!(c.status_of(id), IncidentStatus::Closed, "no worker ran");
    let shown = c.show(id);
    assert_eq!(shown["journal"][0]["result"], "Yes");
    assert_eq!(
        c.work().matches("closed 1").count(),
        0,
        "nothing left to run"
    );
}

#[test]
fn of_two_people_answering_at_once_one_wins() {
    let c = Console::start();
    let ids: Vec<i64> = (0..3)
        .map(|i| c.file("Ask", &format!("race{i}@acme.test")))
        .collect();
    c.work();
    for &id in &ids {
        let start = Barrier::new(2);
        let (admin, analyst) = std::thread::scope(|s| {
            let admin = s.spawn(|| {
                start.wait();
                c.answer(id, Some(&c.keys.admin), "No")
            });
            let analyst = s.spawn(|| {
                start.wait();
                c.answer(id, Some(&c.analyst), "Yes")
            });
            (
                admin.join().expect("admin's request"),
                analyst.join().expect("alice's request"),
            )
        });
        let mut statuses = [admin.status, analyst.status];
        statuses.sort();
        assert_eq!(statuses, [200, 409], "incident {id}");
        let (winner, answer) = if admin.status == 200 {
            ("admin", "No")
        } else {
            ("alice", "Yes")
        };
        let log: Vec<_> = c
            .audit("incident.answer")
            .into_iter()
            .filter(|e| e.target == format!("incident {id}"))
            .collect();
        assert_eq!(log.len(), 1, "one answer recorded: {log:?}");
        assert_eq!(log[0].actor, winner);
        assert_eq!(c.show(id)["journal"][0]["result"], answer);
    }
    let ran = c.work();
    assert!(ran.contains("closed 3"), "each resumes once: {ran}");
}

#[test]
fn an_answer_at_the_command_line_is_audited_too() {
    let c = Console::start();
    let id = c.file("Ask", "cli@acme.test");
    c.work();
    c.ilm.ok(&["incident", "answer", &id.to_string(), "No"]);
    let log = c.audit("incident.answer");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (log[0].actor.as_str(), &log[0].after),
        ("cli", &json!({"answer": "No"}))
    );
}

#[test]
fn a_retry_queues_a_failed_incident_as_a_new_attempt() {
    let c = Console::start();
    let id = c.file("Fail", "failed@acme.test");
    let waiting = c.file("Ask", "waits@acme.test");
    let ran = c.work();
    assert!(ran.contains("failed 1"), "{ran}");
    assert_eq!(c.status_of(id), IncidentStatus::Failed);
    let first = c.show(id)["attempt"].as_i64().expect("attempt");

    let busy = c.retry(waiting, Some(&c.analyst));
    assert_eq!(busy.status, 409);
    assert!(busy.error_detail().contains("it is waiting"));
    assert_eq!(c.retry(id + 1000, Some(&c.analyst)).status, 404);

    // What the failed attempt already did stays done; the fixed playbook now closes.
    let mut context = Map::new();
    context.insert("SuccessfulVendors".into(), json!(["ad"]));
    c.store()
        .set_incident_context(id, &context)
        .expect("context");
    std::fs::write(c.ilm.playbooks_dir.join("fail.rhai"), "let fixed = true;").expect("fix");

    let retried = c.retry(id, Some(&c.analyst));
    assert_eq!(retried.status, 200);
    let body: Value = retried.json();
    assert_eq!(
        (body["status"].clone(), body["attempt"].clone()),
        (json!("pending"), json!(first + 1))
    );
    assert!(
        body["next"].as_str().is_some_and(|n| n.contains("worker")),
        "{body}"
    );
    let twice = c.retry(id, Some(&c.keys.admin));
    assert_eq!(twice.status, 409);
    assert!(twice.error_detail().contains("it is pending"));

    let log = c.audit("incident.retry");
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].actor, "alice");
    assert_eq!(log[0].before["error"], "the app is down");
    assert_eq!(log[0].before["attempt"], first);
    assert_eq!(log[0].after["attempt"], first + 1);

    let ran = c.work();
    assert!(ran.contains("closed 1"), "{ran}");
    let shown = c.show(id);
    assert_eq!(shown["incident"]["status"], "closed");
    assert_eq!(shown["attempt"], first + 1);
    assert_eq!(shown["context"]["SuccessfulVendors"], json!(["ad"]));
    assert!(shown["error"].is_null(), "{shown}");
}

#[test]
fn status_is_what_ilm_status_shows() {
    let c = Console::start();
    let add = "instance add hr --plugin workday --param url=https://127.0.0.1:9/report \
               --secret username=isu --secret password=pw --param fetch_interval_minutes=30";
    c.ilm.ok(&add.split_whitespace().collect::<Vec<_>>());
    c.file("Ask", "asked@acme.test");
    c.file("Fail", "failed@acme.test");
    c.work();

    let reply = get(&c.client, &c.url("/status"), Some(&c.keys.read_only));
    assert_eq!(reply.status, 200);
    let api: Value = reply.json();
    let cli: Value = serde_json::from_str(&c.ilm.ok(&["status", "--json"])).expect("status JSON");
    assert_eq!(api["incidents"], cli["incidents"]);
    assert_eq!(api["incidents"]["waiting"], 1, "{api}");
    assert_eq!(api["incidents"]["failed"], 1, "{api}");
    assert_eq!(api["needs_a_person"], cli["needs_a_person"]);
    let people = api["needs_a_person"].as_array().expect("needs_a_person");
    assert_eq!(people.len(), 2, "{api}");
    assert_eq!(people[0]["question"], "Go ahead?");
    assert_eq!(people[0]["answers"], json!(["Yes", "No"]));
    assert_eq!(people[1]["failed"], "the app is down");
    let hr = &api["instances"][0];
    assert_eq!(
        (
            hr["name"].clone(),
            hr["plugin"].clone(),
            hr["source"].clone()
        ),
        (json!("hr"), json!("workday"), json!("report"))
    );
    assert!(hr["fetch"].is_null(), "never fetched: {api}");
    assert!(hr["next_fetch_at"].is_string(), "due now: {api}");
    // The one time-dependent field aside (a never-fetched source is due "now").
    let without_next = |status: &Value| {
        let mut instances = status["instances"].clone();
        for i in instances.as_array_mut().expect("instances") {
            i["next_fetch_at"] = Value::Null;
        }
        instances
    };
    assert_eq!(without_next(&api), without_next(&cli));
}

#[test]
fn each_endpoint_refuses_a_key_without_its_permission() {
    let c = Console::start();
    let asked = c.file("Ask", "asked@acme.test");
    let failed = c.file("Fail", "failed@acme.test");
    c.work();

    // Read-Only holds incidents.read, not incidents.write.
    let read_only = Some(c.keys.read_only.as_str());
    for (what, reply) in [
        ("answer", c.answer(asked, read_only, "Yes")),
        ("retry", c.retry(failed, read_only)),
    ] {
        assert_eq!(reply.status, 403, "{what}");
        let detail = reply.error_detail();
        assert!(detail.contains("incidents.write"), "{what}: {detail}");
    }
    assert_eq!(c.status_of(asked), IncidentStatus::Waiting);
    assert_eq!(c.status_of(failed), IncidentStatus::Failed);
    assert!(c.audit("incident").iter().all(|e| e.actor != "alice"));
    assert_eq!(get(&c.client, &c.url("/status"), read_only).status, 200);

    let store = c.store();
    store
        .add_role("Directory reader", &[Permission::UsersRead], &Actor::Cli)
        .expect("role");
    let directory = key(&store, "Directory reader");
    let status = get(&c.client, &c.url("/status"), Some(&directory));
    assert_eq!(status.status, 403);
    assert!(status.error_detail().contains("incidents.read"));

    for reply in [
        c.answer(asked, None, "Yes"),
        c.retry(failed, None),
        get(&c.client, &c.url("/status"), None),
    ] {
        assert_eq!(reply.status, 401);
    }
}
