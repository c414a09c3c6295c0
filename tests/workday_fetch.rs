//! `ilm fetch` end to end: the Workday plugin reads a report served over HTTPS with Basic
//! auth (a private CA trusted through --ca-file), the host classifies it against the
//! stored profiles, and incidents appear — first-run sync, updates, the max_fetch queue,
//! malformed rows, dry runs and --as-of, and fetches that fail without touching state: a
//! refused or broken report, an error object instead of a report, one that would orphan
//! too many people, and values that lie.

mod support;

use serde_json::{json, Value};
use support::{dist, Ilm, ReportServer};

const USER: &str = "ISU_ilm";
const PASSWORD: &str = "wd-secret";
const AS_OF: &str = "2025-01-15";

fn row(id: &str, email: &str, status: &str, hire: &str) -> Value {
    json!({"Emp_ID": id, "Email_Address": email, "Preferred_Name": format!("User {id}"),
           "Preferred_Name_-_First_Name": "User", "Preferred_Name_-_Last_Name": id,
           "Employment_Status": status, "Prehire_Flag": "False", "Rehired_Employee": "No",
           "Last_Hire_Date": hire, "Last_Day_of_Work": "", "Title": "Engineer", "Department": "Engineering"})
}

fn setup(max_fetch: u32, password: &str) -> (ReportServer, Ilm) {
    let server = ReportServer::start(USER, PASSWORD);
    let ilm = Ilm::new(dist("plugins"));
    add_hr(&ilm, &server, max_fetch, password);
    (server, ilm)
}

/// Instance `hr` of the Workday plugin in `ilm`, reading `server`'s report.
fn add_hr(ilm: &Ilm, server: &ReportServer, max_fetch: u32, password: &str) {
    let url = format!("url={}", server.url());
    let ca = server.ca.path("ca.pem").display().to_string();
    ilm.ok(&[
        "instance",
        "add",
        "hr",
        "--plugin",
        "workday",
        "--param",
        &url,
        "--param",
        &format!("max_fetch={max_fetch}"),
        "--param",
        "days_before_hire_to_sync=7",
        "--secret",
        &format!("username={USER}"),
        "--secret",
        &format!("password={password}"),
        "--ca-file",
        &ca,
    ]);
}

fn fetch(ilm: &Ilm, extra: &[&str]) -> Value {
    let mut args = vec!["fetch", "hr", "--as-of", AS_OF, "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ilm.ok(&args)).unwrap()
}

/// Runs `ilm fetch hr` with `extra` arguments, which must fail saying `says`.
fn fetch_fails(ilm: &Ilm, extra: &[&str], says: &str) {
    let mut args = vec!["fetch", "hr", "--as-of", AS_OF];
    args.extend_from_slice(extra);
    let failed = ilm.run(&args);
    assert_eq!(failed.code, 1, "{extra:?}: {}", failed.stdout);
    assert!(failed.stderr.contains(says), "{extra:?}: {}", failed.stderr);
}

fn incidents(ilm: &Ilm) -> Vec<Value> {
    let page: Value =
        serde_json::from_str(&ilm.ok(&["incident", "list", "--json", "--size", "1000"])).unwrap();
    page["data"].as_array().cloned().unwrap_or_default()
}

#[test]
fn s25_first_run_syncs_profiles_then_changes_become_incidents_once() {
    let (server, ilm) = setup(50, PASSWORD);
    server.set_rows(&json!([
        row("1", "gone@acme.test", "Terminated", "01/01/2020"),
        row("2", "future@acme.test", "", "02/14/2025"),
        row("3", "active@acme.test", "Active", "01/01/2020"),
    ]));
    let planned = ilm.ok(&["fetch", "hr", "--as-of", AS_OF, "--dry-run"]);
    assert!(
        planned.contains("first-run sync: 1 profiles would be created, no incidents")
            && planned.contains("0 events"),
        "{planned}"
    );
    let first = fetch(&ilm, &[]);
    assert_eq!(
        (
            first["profiles_created"].clone(),
            first["incidents_created"].clone()
        ),
        (json!(1), json!(0)),
        "{first}"
    );
    assert!(incidents(&ilm).is_empty());
    let profiles: Value = serde_json::from_str(&ilm.ok(&["profile", "list", "--json"])).unwrap();
    assert_eq!(profiles["total"], 1);
    assert_eq!(profiles["data"][0]["email"], "active@acme.test");

    // A title change becomes one Update User incident with the changed field.
    let mut moved = row("3", "active@acme.test", "Active", "01/01/2020");
    moved["Title"] = json!("Sr Engineer");
    server.set_rows(&json!([moved]));
    let plan: Value =
        serde_json::from_str(&ilm.ok(&["fetch", "hr", "--as-of", AS_OF, "--dry-run", "--json"]))
            .unwrap();
    assert_eq!(plan["events"][0]["type"], "IAM - Update User", "{plan}");
    assert!(incidents(&ilm).is_empty(), "a dry run writes nothing");
    let human = ilm.ok(&["fetch", "hr", "--as-of", AS_OF, "--dry-run"]);
    assert!(
        human.contains("IAM - Update User (1)") && human.contains("changed: title"),
        "{human}"
    );

    let second = fetch(&ilm, &[]);
    assert_eq!(second["events"]["IAM - Update User"], 1, "{second}");
    let created = incidents(&ilm);
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["fields"]["userprofile"]["title"], "Sr Engineer");
    assert_eq!(
        created[0]["fields"]["userprofile"]["olduserdata"]["title"],
        "Engineer"
    );
    assert!(created[0]["fields"]["details"]
        .as_str()
        .unwrap()
        .contains("title field was updated to \"Sr Engineer\""));
}

#[test]
fn s24_the_queue_drains_max_fetch_at_a_time_and_the_report_is_read_only_when_empty() {
    let (server, ilm) = setup(2, PASSWORD);
    server.set_rows(&json!([]));
    fetch(&ilm, &[]); // first run: nothing to sync
    let hires: Vec<Value> = (10..15)
        .map(|i| {
            row(
                &i.to_string(),
                &format!("h{i}@acme.test"),
                "Active",
                "01/10/2025",
            )
        })
        .collect();
    server.set_rows(&Value::Array(hires));
    let runs: Vec<Value> = (0..3).map(|_| fetch(&ilm, &[])).collect();
    let created: Vec<i64> = runs
        .iter()
        .map(|r| r["incidents_created"].as_i64().unwrap())
        .collect();
    assert_eq!(created, vec![2, 2, 1]);
    let read: Vec<bool> = runs
        .iter()
        .map(|r| r["report_read"].as_bool().unwrap())
        .collect();
    assert_eq!(read, vec![true, false, false]);
    assert_eq!(runs[0]["queued"], 3);
    assert_eq!(
        incidents(&ilm)
            .iter()
            .filter(|i| i["type"] == "IAM - New Hire")
            .count(),
        5
    );
    // The queue is empty: the next fetch reads the report again (and finds the same hires,
    // whose profiles the playbooks have not created yet).
    assert_eq!(fetch(&ilm, &[])["report_read"], true);
}

#[test]
fn concurrent_fetches_create_each_event_once_and_an_open_incident_is_not_repeated() {
    const HIRES: usize = 40;
    let (server, ilm) = setup(15, PASSWORD);
    server.set_rows(&json!([]));
    fetch(&ilm, &[]); // first run: nothing to sync
    let hires: Vec<Value> = (0..HIRES)
        .map(|i| {
            row(
                &format!("{}", 100 + i),
                &format!("c{i}@acme.test"),
                "Active",
                "01/10/2025",
            )
        })
        .collect();
    server.set_rows(&Value::Array(hires));

    // Four fetches at once, twice: one process fetches the instance at a time; the others
    // are turned away with the reason and change nothing.
    let mut ran = 0;
    for _ in 0..2 {
        let outcomes: Vec<support::Ran> = std::thread::scope(|scope| {
            let fetches: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| ilm.run(&["fetch", "hr", "--as-of", AS_OF, "--json"])))
                .collect();
            fetches.into_iter().map(|f| f.join().unwrap()).collect()
        });
        for out in outcomes {
            if out.code == 0 {
                ran += 1;
            } else {
                assert!(
                    out.stderr.contains("is being fetched by another process"),
                    "{}",
                    out.stderr
                );
            }
        }
    }
    assert!(ran >= 2, "at least one fetch of each round ran");
    // The rest of the queue (15 per fetch), one fetch after another.
    for _ in 0..HIRES.div_ceil(15) {
        if incidents(&ilm).len() < HIRES {
            fetch(&ilm, &[]);
        }
    }
    let created = incidents(&ilm);
    let mut emails: Vec<&str> = created
        .iter()
        .map(|i| i["fields"]["email"].as_str().unwrap())
        .collect();
    emails.sort_unstable();
    let before = emails.len();
    emails.dedup();
    assert_eq!((before, emails.len()), (HIRES, HIRES), "{emails:?}");

    // The hires' incidents have not run: the report still shows them, but nothing repeats.
    let again = fetch(&ilm, &[]);
    assert_eq!(again["incidents_created"], 0, "{again}");
    assert!(
        again["carried"]["an open incident carries the same change"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{again}"
    );
    assert_eq!(incidents(&ilm).len(), HIRES);
}

#[test]
fn malformed_rows_are_skipped_with_a_reason_and_the_rest_goes_on() {
    let (server, ilm) = setup(50, PASSWORD);
    server.set_rows(&json!([]));
    fetch(&ilm, &[]);
    let mut bad_date = row("21", "bad@acme.test", "Active", "2025-13-45");
    bad_date["Last_Hire_Date"] = json!("not a date");
    server.set_rows(&json!([
        "just a string",
        bad_date,
        row("22", "good@acme.test", "Active", "01/10/2025")
    ]));
    let out = fetch(&ilm, &[]);
    let skipped = out["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 2, "{out}");
    assert!(
        skipped
            .iter()
            .any(|s| s.as_str().unwrap().contains("not an object")),
        "{out}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.as_str().unwrap().contains("not a date")),
        "{out}"
    );
    assert_eq!(out["events"]["IAM - New Hire"], 1);
}

#[test]
fn as_of_classifies_as_if_today_were_that_date() {
    let (server, ilm) = setup(50, PASSWORD);
    server.set_rows(&json!([]));
    fetch(&ilm, &[]);
    server.set_rows(&json!([row("31", "soon@acme.test", "", "03/01/2025")]));
    let now: Value =
        serde_json::from_str(&ilm.ok(&["fetch", "hr", "--as-of", AS_OF, "--dry-run", "--json"]))
            .unwrap();
    assert!(now["events"].as_array().unwrap().is_empty(), "{now}");
    let later: Value = serde_json::from_str(&ilm.ok(&[
        "fetch",
        "hr",
        "--as-of",
        "2025-02-25",
        "--dry-run",
        "--json",
    ]))
    .unwrap();
    assert_eq!(later["events"][0]["type"], "IAM - New Hire", "{later}");
}

#[test]
fn a_refused_or_broken_report_fails_the_fetch_and_leaves_state_untouched() {
    let (server, ilm) = setup(50, "wrong-password");
    server.set_rows(&json!([row("41", "a@acme.test", "Active", "01/01/2020")]));
    let refused = ilm.run(&["fetch", "hr", "--as-of", AS_OF]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("401") && refused.stderr.contains("credentials"),
        "{}",
        refused.stderr
    );
    let profiles: Value = serde_json::from_str(&ilm.ok(&["profile", "list", "--json"])).unwrap();
    assert_eq!(profiles["total"], 0, "the first run did not happen");

    let (server, ilm) = setup(50, PASSWORD);
    std::fs::write(server.report.path(), "<html>Maintenance</html>").unwrap();
    let broken = ilm.run(&["fetch", "hr", "--as-of", AS_OF]);
    assert_eq!(broken.code, 1);
    assert!(broken.stderr.contains("not JSON"), "{}", broken.stderr);
    // Once the report is fine again, the first run happens as if nothing had failed.
    server.set_rows(&json!([row("42", "b@acme.test", "Active", "01/01/2020")]));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 1);
}

fn profile_count(ilm: &Ilm) -> Value {
    let profiles: Value = serde_json::from_str(&ilm.ok(&["profile", "list", "--json"])).unwrap();
    profiles["total"].clone()
}

#[test]
fn a_report_that_is_an_error_object_fails_the_fetch_and_orphans_nobody() {
    let (server, ilm) = setup(50, PASSWORD);
    server.set_rows(&json!([
        row("51", "a@acme.test", "Active", "01/01/2020"),
        row("52", "b@acme.test", "Active", "01/01/2020")
    ]));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 2);
    for body in [r#"{"Error": "Session expired"}"#, "{}"] {
        std::fs::write(server.report.path(), body).unwrap();
        let failed = ilm.run(&["fetch", "hr", "--as-of", AS_OF]);
        assert_eq!(failed.code, 1, "{body}: {}", failed.stdout);
        assert!(
            failed.stderr.contains("Report_Entry"),
            "{body}: {}",
            failed.stderr
        );
        assert!(incidents(&ilm).is_empty(), "{body}: no orphan events");
        assert_eq!(profile_count(&ilm), 2);
    }
    std::fs::write(server.report.path(), r#"{"Error": "Session expired"}"#).unwrap();
    let dry = ilm.run(&["fetch", "hr", "--as-of", AS_OF, "--dry-run"]);
    assert!(
        dry.code == 1 && dry.stderr.contains("Session expired"),
        "{}",
        dry.stderr
    );
}

/// Active employees with ids in `ids`, hired long ago.
fn active_people(ids: std::ops::Range<u32>) -> Vec<Value> {
    ids.map(|i| {
        row(
            &i.to_string(),
            &format!("p{i}@acme.test"),
            "Active",
            "01/01/2020",
        )
    })
    .collect()
}

#[test]
fn a_report_that_orphans_more_than_max_orphan_percent_waits_for_approval() {
    let (server, ilm) = setup(50, PASSWORD);
    let people = active_people(60..70);
    server.set_rows(&Value::Array(people.clone()));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 10);

    // One of ten gone: within the default 10 %, the orphan is asked about at once.
    server.set_rows(&Value::Array(people[1..].to_vec()));
    assert_eq!(fetch(&ilm, &[])["events"]["IAM - Terminate User"], 1);

    // Three more gone (four of ten): nothing is created, and the message says how to approve.
    server.set_rows(&Value::Array(people[4..].to_vec()));
    let held = ilm.run(&["fetch", "hr", "--as-of", AS_OF]);
    assert_eq!(held.code, 1);
    assert!(
        held.stderr.contains(
            "would terminate 0 and orphan 4 of the 10 people this source knows (40 % together)"
        ) && held.stderr.contains("ilm fetch hr --approve-removals"),
        "{}",
        held.stderr
    );
    assert_eq!(incidents(&ilm).len(), 1);
    let plan = ilm.ok(&["fetch", "hr", "--as-of", AS_OF, "--dry-run"]);
    assert!(plan.contains("the fetch would stop for approval"), "{plan}");
    assert_eq!(incidents(&ilm).len(), 1, "a held fetch queues nothing");

    // The flag's first name still approves. The first orphan's Terminate is still open:
    // not made twice.
    let approved = fetch(&ilm, &["--approve-orphans"]);
    assert_eq!(approved["events"]["IAM - Terminate User"], 3, "{approved}");
    assert_eq!(
        approved["carried"]["an open incident carries the same change"], 1,
        "{approved}"
    );
    assert_eq!(incidents(&ilm).len(), 4);
}

#[test]
fn a_report_that_terminates_more_than_max_orphan_percent_waits_for_approval() {
    let (server, ilm) = setup(50, PASSWORD);
    let mut people = active_people(80..90);
    server.set_rows(&Value::Array(people.clone()));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 10);
    let profiles = ilm.ok(&["profile", "list", "--json", "--size", "100"]);

    // An HR export bug marks four of the ten active people terminated at once.
    for person in &mut people[..4] {
        person["Employment_Status"] = json!("Terminated");
    }
    server.set_rows(&Value::Array(people));
    let held = ilm.run(&["fetch", "hr", "--as-of", AS_OF]);
    assert_eq!(held.code, 1);
    assert!(
        held.stderr.contains(
            "would terminate 4 and orphan 0 of the 10 people this source knows (40 % together)"
        ) && held.stderr.contains("ilm fetch hr --approve-removals"),
        "{}",
        held.stderr
    );
    assert!(incidents(&ilm).is_empty(), "a held fetch created incidents");
    assert_eq!(
        ilm.ok(&["profile", "list", "--json", "--size", "100"]),
        profiles,
        "a held fetch changed profiles"
    );

    let approved = fetch(&ilm, &["--approve-removals"]);
    assert_eq!(approved["events"]["IAM - Terminate User"], 4, "{approved}");
    assert_eq!(incidents(&ilm).len(), 4);
}

#[test]
fn lying_values_skip_only_the_rows_that_need_them_and_never_block_a_leaver() {
    let (server, ilm) = setup(50, PASSWORD);
    let mut people = vec![
        row("71", "numbers@acme.test", "Active", "01/01/2020"),
        row("72", "leaver@acme.test", "Active", "01/01/2020"),
        row("73", "long@acme.test", "Active", "01/01/2020"),
    ];
    server.set_rows(&Value::Array(people.clone()));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 3);

    people[0]["Email_Address"] = json!(42);
    people[1]["Employment_Status"] = json!("Terminated");
    people[1]["Manager_Email_Address"] = json!({"email": "boss@acme.test"});
    people[2]["Title"] = json!("T".repeat(5000));
    let mut huge_id = row("74", "new@acme.test", "Active", "01/10/2025");
    huge_id["Emp_ID"] = json!("7".repeat(5000));
    people.push(huge_id);
    server.set_rows(&Value::Array(people));

    let out = fetch(&ilm, &[]);
    let skipped: Vec<&str> = out["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(skipped.len(), 2, "{out}");
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("Email_Address \"42\" is not an email address: it has no @")),
        "{out}"
    );
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("Emp_ID is 5000 bytes long, more than max_value_length (1024)")),
        "{out}"
    );
    let warnings = out["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 2, "{out}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("Manager_Email_Address is an object"),
        "{out}"
    );
    // Only the leaver becomes an incident: no update from a left-out title, no orphan for
    // the person whose row was skipped.
    assert_eq!(out["events"], json!({"IAM - Terminate User": 1}), "{out}");
    let created = incidents(&ilm);
    assert_eq!(created[0]["name"], "leaver@acme.test");
    let human = ilm.ok(&["fetch", "hr", "--as-of", AS_OF, "--dry-run"]);
    assert!(
        human.contains("skipped: Email_Address \"42\"")
            && human.contains("warning: Title is 5000 bytes long"),
        "{human}"
    );
}

/// The shipped plugins, but Workday's manifest without its `[report]` request: a plugin
/// built before the host streamed reports, whose `fetch` returns the whole body.
fn plugins_returning_the_body() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shipped = dist("plugins");
    std::fs::copy(
        shipped.join("workday.wasm"),
        dir.path().join("workday.wasm"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(shipped.join("workday.toml")).unwrap();
    let start = manifest
        .find("\n[report]")
        .expect("the manifest has a [report] request");
    let end = start + 1 + manifest[start + 1..].find("\n[").unwrap();
    let old = format!("{}{}", &manifest[..start], &manifest[end..]);
    std::fs::write(dir.path().join("workday.toml"), old).unwrap();
    dir
}

/// A realistic report of `rows` people (about 45 columns), with `mix` of changes.
fn generated_rows(rows: usize, mix: &ilm::fetch::generate::Mix) -> Vec<Value> {
    let map = ilm::fetch::IncomingMap::load(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../playbooks/mappers/workday-incoming.toml"),
    )
    .unwrap();
    let today = chrono::NaiveDate::parse_from_str(AS_OF, "%Y-%m-%d").unwrap();
    let params = ilm::fetch::WorkdayParams::default();
    ilm::fetch::generate::generate(rows, mix, &map, &params, today)
        .unwrap()
        .rows
}

#[test]
fn a_report_streamed_by_the_host_gives_the_same_plan_and_incidents_as_one_read_whole() {
    use ilm::fetch::generate::Mix;
    let unchanged = Mix {
        new_hires: 0.0,
        updates: 0.0,
        terminations: 0.0,
        ad_activations: 0.0,
        rehires: 0.0,
        orphans: 0.0,
    };
    let busy = Mix {
        new_hires: 0.05,
        updates: 0.08,
        terminations: 0.02,
        ad_activations: 0.02,
        rehires: 0.02,
        orphans: 0.0,
    };
    let before = generated_rows(400, &unchanged);
    let mut after = generated_rows(400, &busy);
    // Updates and leavers; two people leave the report (orphans) and one row is malformed.
    after.truncate(398);
    after.push(json!("not a row"));

    let old_plugins = plugins_returning_the_body();
    let (server, streaming) = setup(1000, PASSWORD);
    let whole = Ilm::new(old_plugins.path().to_path_buf());
    add_hr(&whole, &server, 1000, PASSWORD);

    server.set_rows(&Value::Array(before));
    for ilm in [&streaming, &whole] {
        assert_eq!(fetch(ilm, &[])["profiles_created"], 400);
    }
    server.set_rows(&Value::Array(after));
    let mut plans = Vec::new();
    let mut fetches = Vec::new();
    for ilm in [&streaming, &whole] {
        let plan: Value = serde_json::from_str(&ilm.ok(&[
            "fetch",
            "hr",
            "--as-of",
            AS_OF,
            "--dry-run",
            "--json",
        ]))
        .unwrap();
        plans.push(plan);
        fetches.push(fetch(ilm, &[]));
    }
    assert_eq!(plans[0], plans[1]);
    assert_eq!(fetches[0], fetches[1]);
    let events = &fetches[0]["events"];
    for kind in ["IAM - Update User", "IAM - Terminate User"] {
        assert!(events[kind].as_u64().unwrap_or(0) > 0, "{kind}: {events}");
    }
    assert_eq!(fetches[0]["orphans"], 2, "{}", fetches[0]);
    assert_eq!(fetches[0]["skipped"].as_array().unwrap().len(), 1);
    assert_eq!(incidents(&streaming).len(), incidents(&whole).len());
}

#[test]
fn a_report_larger_than_max_report_mib_is_refused_before_any_profile_changes() {
    let (server, ilm) = setup(50, PASSWORD);
    ilm.ok(&["instance", "edit", "hr", "--param", "max_report_mib=1"]);
    let people = active_people(100..105);
    server.set_rows(&Value::Array(people.clone()));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 5);

    // Five leavers and 5,000 new hires, in a report of more than 1 MiB.
    let mut large: Vec<Value> = people
        .iter()
        .map(|p| {
            let mut p = p.clone();
            p["Employment_Status"] = json!("Terminated");
            p
        })
        .collect();
    large.extend(active_people(1000..6000));
    server.set_rows(&Value::Array(large));
    assert!(std::fs::metadata(server.report.path()).unwrap().len() > 1 << 20);
    let limit = "larger than max_report_mib (1 MiB); nothing was changed";
    fetch_fails(&ilm, &["--approve-removals"], limit);
    assert!(incidents(&ilm).is_empty());
    assert_eq!(profile_count(&ilm), 5);
    fetch_fails(&ilm, &["--dry-run"], limit);

    ilm.ok(&["instance", "edit", "hr", "--param", "max_report_mib=8"]);
    let read = fetch(&ilm, &["--approve-removals"]);
    assert_eq!(read["rows"], 5005, "{read}");
}

#[test]
fn a_report_that_breaks_off_mid_stream_fails_the_fetch_and_leaves_state_untouched() {
    let (server, ilm) = setup(50, PASSWORD);
    let mut people = active_people(200..260);
    server.set_rows(&Value::Array(people.clone()));
    let length = std::fs::metadata(server.report.path()).unwrap().len() as usize;
    server.cut_after(Some(length / 2));
    fetch_fails(&ilm, &[], "nothing was changed");
    assert_eq!(
        profile_count(&ilm),
        0,
        "no first-run sync from half a report"
    );

    server.cut_after(None);
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 60);

    // The rows cut off would look like 30 orphans; the change before the cut like an update.
    people[0]["Title"] = json!("Principal Engineer");
    server.set_rows(&Value::Array(people));
    server.cut_after(Some(length / 2));
    for extra in [&[][..], &["--approve-removals"], &["--dry-run"]] {
        fetch_fails(&ilm, extra, "nothing was changed");
    }
    assert!(incidents(&ilm).is_empty());
    assert_eq!(profile_count(&ilm), 60);

    server.cut_after(None);
    let whole = fetch(&ilm, &[]);
    assert_eq!(whole["events"], json!({"IAM - Update User": 1}), "{whole}");
    assert_eq!(whole["orphans"], 0);
}

#[test]
fn an_oversized_row_is_skipped_with_its_reason_and_the_stream_goes_on() {
    let (server, ilm) = setup(50, PASSWORD);
    ilm.ok(&["instance", "edit", "hr", "--param", "max_row_bytes=2000"]);
    let mut people = active_people(300..303);
    server.set_rows(&Value::Array(people.clone()));
    assert_eq!(fetch(&ilm, &[])["profiles_created"], 3);

    // A column the map does not read, too large for the row; after it, a leaver and a hire.
    people[0]["Worker_Notes"] = json!("n".repeat(3000));
    people[0]["Title"] = json!("Changed but never read");
    people[1]["Employment_Status"] = json!("Terminated");
    people.push(row("304", "hire@acme.test", "Active", "01/10/2025"));
    server.set_rows(&Value::Array(people));

    let out = fetch(&ilm, &[]);
    let skipped = out["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{out}");
    let reason = skipped[0].as_str().unwrap();
    assert!(
        reason.contains("more than max_row_bytes (2000)") && reason.contains("employee 300"),
        "{reason}"
    );
    assert_eq!(out["rows"], 4, "{out}");
    // The person whose row was skipped is still in the report: no orphan, no update.
    assert_eq!(
        out["events"],
        json!({"IAM - New Hire": 1, "IAM - Terminate User": 1}),
        "{out}"
    );
    assert_eq!(out["orphans"], 0);
}
