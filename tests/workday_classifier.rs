//! The Workday pack's own fetch scenarios (`tests/fixtures/workday/`, data from
//! demisto/content, MIT) through the shipped incoming map and the classifier, the way a
//! fetch runs them: normalize each row, find its stored profile, classify, then orphans.
//!
//! The original tests mocked the mapper (`mapped_workday_user`), so their expectations
//! differ from a real run in known ways, each adjusted below where it applies:
//! - the mock skipped the mapper's toLowerCase on `Email_Address`; ours lower-cases;
//! - `UserProfile` may hold fields the fixture's older code did not add yet
//!   (`sourceoftruth`, `olduserdata`) or that our choices where the pack is wrong add (`terminationtrigger`,
//!   `mergeduserprofile`); every expected field must match, and each extra one is named.

use chrono::NaiveDate;
use ilm::fetch::{
    classify, orphan_events, Decision, Event, IncidentType, IncomingMap, Profile, ProfileIndex,
    ReportMatches, WorkdayParams,
};
use serde_json::{Map, Value};
use std::path::PathBuf;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> Value {
    let path = manifest_dir().join("../tests/fixtures/workday").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn map() -> IncomingMap {
    IncomingMap::load(&manifest_dir().join("../playbooks/mappers/workday-incoming.toml")).unwrap()
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 15).unwrap()
}

/// The fixture's stored profiles (its employee-id and email maps hold the same objects).
fn stored(fixture: &Value) -> Vec<Profile> {
    let mut profiles: Vec<Profile> = Vec::new();
    for key in ["employee_id_to_user_profile", "email_to_user_profile"] {
        for profile in fixture[key].as_object().into_iter().flat_map(Map::values) {
            let profile = profile.as_object().unwrap();
            if !profiles.contains(profile) {
                profiles.push(profile.clone());
            }
        }
    }
    profiles
}

/// One fetch over the fixture's report; `orphans: false` where the original test mocked
/// orphan detection away.
fn fetch(fixture: &Value, params: &WorkdayParams, orphans: bool) -> Vec<Event> {
    let map = map();
    let index = ProfileIndex::new(stored(fixture), &map);
    let mut matches = ReportMatches::default();
    let mut events = Vec::new();
    for raw in fixture["full_report"]["Report_Entry"].as_array().unwrap() {
        let row = map.normalize(raw.clone(), params).unwrap();
        let user = index.find(row.employee_id(), row.email());
        if let Some(user) = user {
            matches.record(user);
        }
        if let Decision::Event(event) = classify(&row, user, &index, params, today()).unwrap() {
            events.push(event);
        }
    }
    if orphans {
        events.extend(orphan_events(&index, &matches, params).map(Result::unwrap));
    }
    events
}

/// The mock mapper skipped toLowerCase: lower-case the quoted emails of an expectation.
fn lowercase_emails(text: &str) -> String {
    text.split('"')
        .map(|part| match part.contains('@') && !part.contains(' ') {
            true => part.to_lowercase(),
            false => part.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\"")
}

/// Compares an event with the fixture's expected event, allowing the named extra
/// `UserProfile` fields.
fn assert_event(actual: &Event, expected: &Value, extra_fields: &[&str]) {
    assert_eq!(
        actual.name,
        lowercase_emails(expected["name"].as_str().unwrap())
    );
    assert_eq!(actual.incident_type.name(), expected["type"]);
    assert_eq!(
        actual.details,
        lowercase_emails(expected["details"].as_str().unwrap())
    );

    let raw: Map<String, Value> =
        serde_json::from_str(expected["rawJSON"].as_str().unwrap()).unwrap();
    for (key, value) in &raw {
        if key != Event::USER_PROFILE {
            assert_eq!(actual.raw_json().get(key), Some(value), "rawJSON {key}");
        }
    }
    let expected_profile: Map<String, Value> =
        serde_json::from_str(&lowercase_emails(&raw[Event::USER_PROFILE].to_string())).unwrap();
    let profile = actual.user_profile().unwrap();
    for (key, value) in &expected_profile {
        assert_eq!(profile.get(key), Some(value), "UserProfile {key}");
    }
    let mut extra: Vec<&str> = profile
        .keys()
        .map(String::as_str)
        .filter(|key| !expected_profile.contains_key(*key))
        .collect();
    extra.sort_unstable();
    assert_eq!(extra, extra_fields, "UserProfile fields the fixture lacks");
}

#[test]
fn fixture_email_change_is_an_update_with_old_user_data() {
    let fixture = fixture("fetch_incidents_email_change_mock_data.json");
    let events = fetch(&fixture, &WorkdayParams::default(), true);
    assert_eq!(events.len(), 1);
    // The fixture predates `sourceoftruth`; its stored profile has none, which is no change.
    assert_event(&events[0], &fixture["event_data"][0], &["sourceoftruth"]);
}

#[test]
fn fixture_employee_id_change_is_an_update() {
    let fixture = fixture("fetch_incidents_employee_id_change_mock_data.json");
    let events = fetch(&fixture, &WorkdayParams::default(), true);
    assert_eq!(events.len(), 1);
    // The fixture's code version did not attach `olduserdata` yet; the spec's does.
    assert_event(&events[0], &fixture["event_data"][0], &["olduserdata"]);
}

#[test]
fn fixture_orphan_user_is_terminated_with_the_orphan_trigger() {
    let fixture = fixture("fetch_incidents_orphan_user_mock_data.json");
    let events = fetch(&fixture, &WorkdayParams::default(), true);
    assert_eq!(events.len(), 1);
    // same type as the fixture, but the Orphan trigger makes the Terminate playbook
    // ask an admin first, so the details say so instead of "has been terminated".
    let mut expected = fixture["event_data"][0].clone();
    assert_eq!(expected["details"], "The orphan user has been terminated.");
    expected["details"] =
        "An orphan user was detected (could not find the user in Workday report). \
         Please review and terminate if necessary."
            .into();
    assert_event(&events[0], &expected, &["terminationtrigger"]);
    assert_eq!(
        events[0].user_profile().unwrap()["terminationtrigger"],
        "Orphan"
    );
}

#[test]
fn fixture_partial_name_match_asks_for_review() {
    let fixture = fixture("fetch_incidents_partial_name_match_mock_data.json");
    let events = fetch(&fixture, &WorkdayParams::default(), false);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].incident_type, IncidentType::SyncUser);
    // we also build the merged profile the Sync User playbook offers to provision.
    assert_event(
        &events[0],
        &fixture["event_data"][0],
        &["mergeduserprofile"],
    );
    let profile = events[0].user_profile().unwrap();
    let merged = &profile["mergeduserprofile"];
    assert_eq!(merged["email"], "rrahardjo@paloaltonetworks.com");
    assert_eq!(merged["employeeid"], "100123");
}

#[test]
fn fixture_source_priority_leaves_the_other_sources_user_alone() {
    let fixture = fixture("fetch_incidents_source_priority_mock_data.json");
    // The original test runs this instance at source priority 2.
    let params = WorkdayParams {
        source_priority: 2,
        ..WorkdayParams::default()
    };
    assert_eq!(fixture["event_data"], Value::Array(vec![]));
    assert!(fetch(&fixture, &params, true).is_empty());
}

/// incident field names become cli names (alphanumerics, lower-cased).
fn cli_name(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[test]
fn the_shipped_map_gives_what_the_tests_mocked() {
    let map = map();
    let params = WorkdayParams::default();
    for name in [
        "fetch_incidents_email_change_mock_data.json",
        "fetch_incidents_employee_id_change_mock_data.json",
        "fetch_incidents_partial_name_match_mock_data.json",
        "fetch_incidents_source_priority_mock_data.json",
    ] {
        let fixture = fixture(name);
        let raw = fixture["full_report"]["Report_Entry"][0].clone();
        let row = map.normalize(raw, &params).unwrap();
        let mut ours = row.profile();
        // The runtime sets these two itself, whatever the mapper gives.
        for key in ["sourcepriority", "sourceoftruth"] {
            ours.remove(key);
        }
        let mocked: Map<String, Value> = fixture["mapped_workday_user"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(key, value)| (cli_name(key), value.clone()))
            .filter(|(key, _)| key != "sourcepriority" && key != "sourceoftruth")
            .map(|(key, value)| match key.as_str() {
                "email" | "username" => (key, value.as_str().unwrap().to_lowercase().into()),
                _ => (key, value),
            })
            .collect();
        assert_eq!(ours, mocked, "{name}");
    }
}

#[test]
fn a_real_report_row_maps_and_is_a_new_hire() {
    let report = fixture("json_raw_response.json");
    let raw = report["Report_Entry"][0].clone();
    let row = map().normalize(raw, &WorkdayParams::default()).unwrap();
    let expect = [
        ("employeeid", "100122"),
        ("email", "rrahardjo@paloaltonetworks.com"),
        ("displayname", "Ronny Rahardjo"),
        ("givenname", "Ronny"),
        ("surname", "Rahardjo"),
        ("employmentstatus", ""),
        ("prehireflag", "True"),
        ("hiredate", "10/05/2020"),
        ("lastdayofwork", "10/05/2035"),
        ("costcenter", "Channel Sales"),
        ("locationregion", "Americas"),
        ("personalemail", "test@test.com"),
        ("zipcode", "95054"),
    ];
    for (field, value) in expect {
        assert_eq!(row.text(field), value, "{field}");
    }
    // A pre-hire with no status and no stored profile is a new hire.
    let nobody = ProfileIndex::new(Vec::new(), &map());
    let decision = classify(&row, None, &nobody, &WorkdayParams::default(), today()).unwrap();
    match decision {
        Decision::Event(event) => assert_eq!(event.incident_type, IncidentType::NewHire),
        Decision::Drop(reason) => panic!("dropped: {reason}"),
    }
}
