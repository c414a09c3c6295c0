//! Okta System Log throughput: 10,000 events shaped like Okta's (the fixture
//! `get_logs_response.json`), of the three types the shipped map turns into incidents
//! (app assigned, app unassigned, profile updated), about people drawn from 5,000 stored
//! profiles plus some strangers, classified with `playbooks/mappers/okta-events.toml`.
//! Measures (a) `EventMap::classify` alone, over parsed events, and (b) the whole fetch
//! pipeline, `EventFetch::run`, into a fresh SQLite store with `max_fetch` = 10,000, fed
//! pages of 1,000 records the way the plugin returns them. Goal: ≥ 20,000 events/s.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ilm::sources::event_map::ProfilesByEmail;
use ilm::sources::{EventFetch, EventMap, EventSummary, Page};
use ilm::store::{Instance, Store};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const EVENTS: usize = 10_000;
const PROFILES: usize = 5_000;
const PAGE: usize = 1_000;
const APPS: usize = 10;
const INSTANCE: &str = "okta";

struct Setup {
    map: EventMap,
    /// The events as the plugin hands them over (one JSON text each), in pages.
    pages: Vec<Vec<String>>,
    events: Vec<Value>,
    profiles: ProfilesByEmail,
    mapped_apps: HashSet<String>,
    /// A database with the instance and the profiles, copied for each pipeline run.
    template_db: PathBuf,
    _dir: tempfile::TempDir,
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first event of Okta's example System Log answer, or one shaped like it.
fn event_template() -> Value {
    let fixture = root().join("../shared/fixtures/okta/get_logs_response.json");
    std::fs::read_to_string(fixture)
        .ok()
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|events| events.get(0).cloned())
        .unwrap_or_else(|| {
            json!({
                "actor": {"alternateId": "example", "detailEntry": null, "displayName": "dummy name",
                          "id": "123", "type": "User"},
                "authenticationContext": {"authenticationProvider": null, "authenticationStep": 0,
                    "credentialProvider": null, "credentialType": null, "externalSessionId": "123",
                    "interface": null, "issuer": null},
                "client": {"device": "Unknown", "geographicalContext": {"city": "Boardman",
                    "country": "United States", "geolocation": {"lat": 1.2, "lon": 3.4},
                    "postalCode": "123", "state": "Oregon"}, "id": null, "ipAddress": "8.8.8.8",
                    "userAgent": {"browser": "UNKNOWN", "os": "Unknown", "rawUserAgent": "1.0"},
                    "zone": "null"},
                "debugContext": {"debugData": {"requestId": "123", "requestUri": "/api/v1/groups",
                    "url": "/api/v1/groups"}},
                "device": null, "displayMessage": "", "eventType": "", "legacyEventType": "",
                "outcome": {"reason": null, "result": "SUCCESS"},
                "published": "2021-12-13T01:47:08.556Z",
                "request": {"ipChain": [{"geographicalContext": {"city": "Boardman",
                    "country": "United States", "geolocation": {"lat": 1.2, "lon": 3.4},
                    "postalCode": "123", "state": "Oregon"}, "ip": "8.8.8.8", "source": null,
                    "version": "V4"}]},
                "securityContext": {"asNumber": null, "asOrg": null, "domain": null,
                    "isProxy": null, "isp": null},
                "severity": "INFO", "target": [],
                "transaction": {"detail": {}, "id": "123", "type": "WEB"},
                "uuid": "123", "version": "0"
            })
        })
}

fn email(n: usize) -> String {
    format!("user{n:05}@acme.test")
}

/// A stored profile with the fields a Workday fetch gives one.
fn profile(n: usize) -> Map<String, Value> {
    let departments = ["Engineering", "Sales", "Finance", "Support", "Legal"];
    let fields = json!({
        "email": email(n),
        "username": email(n),
        "employeeid": format!("{:06}", 100_000 + n),
        "givenname": format!("Given{n}"),
        "surname": format!("Sur{n}"),
        "displayname": format!("Given{n} Sur{n}"),
        "title": "Engineer",
        "department": departments[n % departments.len()],
        "costcenter": format!("CC{:03}", n % 120),
        "location": "London",
        "manageremailaddress": email((n / 10) * 10),
        "employmentstatus": "Active",
        "hiredate": "03/01/2021",
        "lastdayofwork": "",
        "sourceoftruth": "Workday IAM",
        "sourcepriority": 1,
        "isprocessed": false,
        "adaccountstatus": "Enabled",
    });
    fields.as_object().cloned().unwrap_or_default()
}

fn app_id(n: usize) -> String {
    format!("0oa{n:02}appid{:08}", n * 7919)
}

fn app_label(n: usize) -> &'static str {
    [
        "GitHub",
        "Slack",
        "Salesforce",
        "Zoom",
        "Atlassian",
        "Box",
        "Workday",
        "ServiceNow",
        "Asana",
        "Figma",
    ][n % APPS]
}

/// Event `n`: half app assignments, three in ten unassignments, two in ten profile
/// updates; one in twelve about someone with no profile here.
fn event(template: &Value, n: usize) -> Value {
    let mut event = template.clone();
    let (event_type, legacy, message) = match n % 10 {
        0..=4 => (
            "application.user_membership.add",
            "app.generic.provision.assign_user_to_app",
            "Add user to application membership",
        ),
        5..=7 => (
            "application.user_membership.remove",
            "app.generic.provision.deprovision_user_from_app",
            "Remove user from application membership",
        ),
        _ => (
            "user.account.update_profile",
            "core.user.config.profile_update.success",
            "Update user profile for Okta",
        ),
    };
    let person = (n * 7919) % PROFILES;
    let (login, display) = if n % 12 == 11 {
        (
            format!("contractor{n}@partner.test"),
            format!("Contractor {n}"),
        )
    } else {
        (email(person), format!("Given{person} Sur{person}"))
    };
    let user_id = format!("00u{person:05}user{:09}", person * 31);
    let mut targets = vec![json!({
        "alternateId": login, "detailEntry": null, "displayName": display,
        "id": user_id, "type": "User"
    })];
    // Not `n % APPS`: that would tie the app to the event type.
    let app = (n / 10) % APPS;
    let request_uri = if event_type == "user.account.update_profile" {
        format!("/api/v1/users/{user_id}")
    } else {
        targets.push(json!({
            "alternateId": app_label(app), "detailEntry": null, "displayName": app_label(app),
            "id": app_id(app), "type": "AppInstance"
        }));
        format!("/api/v1/apps/{}/users/{user_id}", app_id(app))
    };
    let mut debug = json!({
        "requestId": format!("Y{n:09}Xw3cAAAB{:06}", n % 999_983),
        "requestUri": request_uri,
        "url": request_uri,
    });
    if event_type == "user.account.update_profile" {
        debug["changedAttributes"] =
            json!(["title", "title,department", "manager,costCenter"][n % 3]);
    }
    let ms = n as u64 * 300;
    let (h, m, s) = (8 + ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60);
    event["uuid"] = json!(format!(
        "{:08x}-{:04x}-11ef-{:04x}-{:012x}",
        n * 2_654_435_761 % 0xffff_ffff,
        n % 0xffff,
        (n * 7) % 0xffff,
        n * 97
    ));
    event["published"] = json!(format!("2025-01-15T{h:02}:{m:02}:{s:02}.{:03}Z", ms % 1000));
    event["eventType"] = json!(event_type);
    event["legacyEventType"] = json!(legacy);
    event["displayMessage"] = json!(message);
    event["actor"] = json!({
        "alternateId": "okta.admin@acme.test", "detailEntry": null,
        "displayName": "Okta Admin", "id": "00uadmin000000000001", "type": "User"
    });
    event["target"] = Value::Array(targets);
    event["debugContext"]["debugData"] = debug;
    event["transaction"]["id"] = json!(format!("Y{n:09}Xw3cAAAB"));
    event
}

fn setup() -> Setup {
    let map = EventMap::load(&root().join("playbooks/mappers/okta-events.toml"))
        .expect("the shipped event map");
    let template = event_template();
    let events: Vec<Value> = (0..EVENTS).map(|n| event(&template, n)).collect();
    let records: Vec<String> = events.iter().map(Value::to_string).collect();
    let pages = records.chunks(PAGE).map(<[String]>::to_vec).collect();

    let dir = tempfile::tempdir().expect("tempdir");
    let template_db = dir.path().join("template.db");
    let store = Store::open(&template_db).expect("store");
    store
        .add_instance(&Instance {
            name: INSTANCE.into(),
            plugin: "okta".into(),
            params: Map::new(),
            secrets: Default::default(),
            allow_hosts: Vec::new(),
            limits: Map::new(),
            enabled: true,
        })
        .expect("instance");
    store
        .in_transaction(|store| {
            for n in 0..PROFILES {
                store.put_profile(&email(n), &profile(n))?;
            }
            Ok(())
        })
        .expect("profiles");
    // As the pipeline reads them: by lower-cased email.
    let profiles: ProfilesByEmail = store
        .all_profile_fields()
        .expect("profiles")
        .into_iter()
        .filter_map(|fields| {
            let email = fields.get("email")?.as_str()?.to_lowercase();
            Some((email, fields))
        })
        .collect();
    // Closing checkpoints the WAL into the file, so a copy of the file is the database.
    drop(store);
    // Every app but the last is mapped to an instance by the IAM configuration.
    let mapped_apps = (0..APPS - 1).map(app_id).collect();
    Setup {
        map,
        pages,
        events,
        profiles,
        mapped_apps,
        template_db,
        _dir: dir,
    }
}

fn classify_all(setup: &Setup) -> usize {
    setup
        .events
        .iter()
        .filter(|event| {
            setup
                .map
                .classify(event, &setup.profiles, Some(&setup.mapped_apps), INSTANCE)
                .is_ok()
        })
        .count()
}

/// A fresh copy of the template database and the pages to feed.
struct Run {
    store: Store,
    pages: VecDeque<Vec<String>>,
    _dir: tempfile::TempDir,
}

fn fresh_run(setup: &Setup) -> Run {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("ilm.db");
    std::fs::copy(&setup.template_db, &db).expect("copying the template database");
    Run {
        store: Store::open(&db).expect("store"),
        pages: setup.pages.iter().cloned().collect(),
        _dir: dir,
    }
}

fn pipeline(setup: &Setup, run: &mut Run) -> EventSummary {
    let fetch = EventFetch {
        store: &run.store,
        instance: INSTANCE,
        map: &setup.map,
        max_fetch: EVENTS,
        mapped_apps: Some(setup.mapped_apps.clone()),
    };
    let pages = &mut run.pages;
    let mut read = 0usize;
    fetch
        .run(|cursor: &Value| {
            assert_eq!(
                cursor.as_u64().unwrap_or(0) as usize,
                read,
                "the cursor moves"
            );
            read += 1;
            let records = pages.pop_front().unwrap_or_default();
            Ok(Page {
                records,
                cursor: json!(read),
                more: !pages.is_empty(),
                dropped: BTreeMap::new(),
            })
        })
        .expect("the fetch")
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = work();
    (out, start.elapsed())
}

/// One timed run of each stage, so the figures show up plainly.
fn report_figures(setup: &Setup) {
    let show = |stage: &str, elapsed: Duration| {
        let rate = EVENTS as f64 / elapsed.as_secs_f64();
        eprintln!("  {stage:<40} {elapsed:>9.2?}  {rate:>9.0} events/s");
    };
    let bytes: usize = setup.pages.iter().flatten().map(String::len).sum();
    eprintln!(
        "\n{EVENTS} events ({:.1} MiB of JSON, pages of {PAGE}), {} stored profiles, {} of {APPS} apps mapped",
        bytes as f64 / (1024.0 * 1024.0),
        setup.profiles.len(),
        setup.mapped_apps.len()
    );
    let (parsed, elapsed) = timed(|| {
        setup
            .pages
            .iter()
            .flatten()
            .map(|r| serde_json::from_str::<Value>(r).unwrap_or(Value::Null))
            .collect::<Vec<_>>()
    });
    show("parse event JSON", elapsed);
    drop(parsed);
    let (incidents, elapsed) = timed(|| classify_all(setup));
    show("classify (pure)", elapsed);
    let mut run = fresh_run(setup);
    let (summary, elapsed) = timed(|| pipeline(setup, &mut run));
    show("pipeline: EventFetch::run into SQLite", elapsed);
    assert_eq!(summary.incidents_created, incidents);
    eprintln!(
        "    pages {}, incidents {} {:?}, dropped {:?}",
        summary.pages, summary.incidents_created, summary.incidents, summary.dropped
    );
}

fn benches(c: &mut Criterion) {
    let setup = setup();
    report_figures(&setup);
    let mut group = c.benchmark_group("okta events");
    group
        .sample_size(10)
        .throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("classify", |b| b.iter(|| classify_all(&setup)));
    group.bench_function("EventFetch::run into SQLite", |b| {
        b.iter_batched(
            || fresh_run(&setup),
            |mut run| {
                let summary = pipeline(&setup, &mut run);
                // Dropped (the store closed, its directory removed) outside the timing.
                (summary, run)
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(event_benches, benches);
criterion_main!(event_benches);
