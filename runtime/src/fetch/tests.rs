//! The classifier against the acceptance scenarios 1–23, 25, 26 (named `sNN_…`), the choices
//! where the original pack is wrong (`d13_N_…`), and normalization. Conventions of the scenarios: today is
//! 2025-01-15, deactivation field lastdayofwork, source priority 1, both hire thresholds
//! empty; rows go through the shipped map `playbooks/mappers/workday-incoming.toml`.

use super::*;
use chrono::NaiveDate;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::OnceLock;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 15).unwrap()
}

fn map() -> &'static IncomingMap {
    static MAP: OnceLock<IncomingMap> = OnceLock::new();
    MAP.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../playbooks/mappers/workday-incoming.toml");
        IncomingMap::load(&path).unwrap()
    })
}

fn params(set: impl FnOnce(&mut WorkdayParams)) -> WorkdayParams {
    let mut params = WorkdayParams::default();
    set(&mut params);
    params
}

/// Jane Doe, an active engineer hired in 2020, as the report sends her; `None` removes a key.
fn report_row(changes: &[(&str, Option<&str>)]) -> Value {
    let mut row = json!({
        "Emp_ID": "1001",
        "Email_Address": "Jane.Doe@Example.com",
        "Preferred_Name": "Jane Doe",
        "Preferred_Name_-_First_Name": "Jane",
        "Preferred_Name_-_Last_Name": "Doe",
        "Employment_Status": "Active",
        "Prehire_Flag": "False",
        "Rehired_Employee": "No",
        "Last_Hire_Date": "01/02/2020",
        "Title": "Engineer",
        "Department": "Engineering",
        "Workday_ID": "5aa443c785ff"
    });
    let fields = row.as_object_mut().unwrap();
    for (key, value) in changes {
        match value {
            Some(value) => fields.insert((*key).to_owned(), json!(value)),
            None => fields.remove(*key),
        };
    }
    row
}

fn row_with(params: &WorkdayParams, changes: &[(&str, Option<&str>)]) -> NormalizedRow {
    map().normalize(report_row(changes), params).unwrap()
}

fn row(changes: &[(&str, Option<&str>)]) -> NormalizedRow {
    row_with(&WorkdayParams::default(), changes)
}

/// The profile a previous fetch stored for `row` (AD enabled, not processed), with
/// `changes` applied (`null` removes a field).
fn stored_from(row: &NormalizedRow, changes: &[(&str, Value)]) -> Profile {
    let mut profile = row.profile();
    profile.insert("adaccountstatus".into(), json!("Enabled"));
    profile.insert("isprocessed".into(), json!(false));
    for (key, value) in changes {
        match value {
            Value::Null => profile.remove(*key),
            value => profile.insert((*key).to_owned(), value.clone()),
        };
    }
    profile
}

fn stored(changes: &[(&str, Value)]) -> Profile {
    stored_from(&row(&[]), changes)
}

/// Classifies `row` against `stored` (the only stored profile, so no display-name
/// conflict).
fn run(row: &NormalizedRow, stored: Option<&Profile>, params: &WorkdayParams) -> Decision {
    let index = ProfileIndex::new(stored.into_iter().cloned().collect(), map());
    classify(row, index.profiles().first(), &index, params, today()).unwrap()
}

fn event(decision: Decision) -> Event {
    match decision {
        Decision::Event(event) => event,
        Decision::Drop(reason) => panic!("expected an event, got a drop: {reason}"),
    }
}

fn dropped(decision: Decision) -> DropReason {
    match decision {
        Decision::Drop(reason) => reason,
        Decision::Event(event) => panic!("expected a drop, got {}", event.incident_type),
    }
}

fn profile_of(event: &Event) -> Profile {
    event.user_profile().unwrap()
}

const TERMINATED: (&str, Option<&str>) = ("Employment_Status", Some("Terminated"));
const PREHIRE: (&str, Option<&str>) = ("Prehire_Flag", Some("True"));
const REHIRED: (&str, Option<&str>) = ("Rehired_Employee", Some("Yes"));
const NO_STATUS: (&str, Option<&str>) = ("Employment_Status", Some(""));
const SR_TITLE: (&str, Option<&str>) = ("Title", Some("Sr Engineer"));

// Acceptance scenarios

#[test]
fn s01_prehire_beyond_sync_days_is_dropped() {
    let p = params(|p| p.days_before_hire_to_sync = Some(7));
    let r = row_with(
        &p,
        &[PREHIRE, NO_STATUS, ("Last_Hire_Date", Some("01/25/2025"))],
    );
    assert_eq!(
        dropped(run(&r, None, &p)),
        DropReason::HireBeyondSync { days: 10, limit: 7 }
    );
}

#[test]
fn s02_prehire_within_sync_days_is_a_new_hire() {
    let p = params(|p| p.days_before_hire_to_sync = Some(10));
    let r = row_with(
        &p,
        &[PREHIRE, NO_STATUS, ("Last_Hire_Date", Some("01/25/2025"))],
    );
    let e = event(run(&r, None, &p));
    assert_eq!(e.incident_type, IncidentType::NewHire);
    assert_eq!(e.details, "The user has been hired.");
    assert_eq!(e.name, "jane.doe@example.com");
    let profile = profile_of(&e);
    assert_eq!(profile["sourceoftruth"], json!("Workday IAM"));
    assert_eq!(profile["sourcepriority"], json!(1));
    assert_eq!(profile["hiredate"], json!("01/25/2025"));
    // rawJSON is the report row as sent, plus UserProfile.
    assert_eq!(e.raw_json()["Email_Address"], json!("Jane.Doe@Example.com"));
    assert_eq!(e.raw_json()["Workday_ID"], json!("5aa443c785ff"));
    assert!(e.changed_fields.is_empty());
}

#[test]
fn s03_active_unknown_user_is_synced_anyway() {
    let r = row(&[("Last_Day_of_Work", Some("12/12/2100"))]);
    let e = event(run(&r, None, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::NewHire);
}

#[test]
fn s04_terminated_unknown_user_is_dropped() {
    let r = row(&[TERMINATED, ("Last_Day_of_Work", Some("12/12/2020"))]);
    assert_eq!(
        dropped(run(&r, None, &WorkdayParams::default())),
        DropReason::TerminatedUnknownUser
    );
}

#[test]
fn s05_rows_without_employee_id_email_or_hire_date_are_dropped() {
    let p = WorkdayParams::default();
    for (key, field) in [
        ("Emp_ID", "employeeid"),
        ("Email_Address", "email"),
        ("Last_Hire_Date", "hiredate"),
    ] {
        for blank in [None, Some(""), Some("   ")] {
            for variant in [vec![(key, blank)], vec![(key, blank), PREHIRE, NO_STATUS]] {
                let r = row(&variant);
                let expected = DropReason::MissingRequired {
                    fields: vec![field],
                };
                assert_eq!(dropped(run(&r, None, &p)), expected, "{variant:?}");
                let u = stored(&[]);
                assert_eq!(dropped(run(&r, Some(&u), &p)), expected, "{variant:?}");
            }
        }
    }
}

#[test]
fn s06_profile_being_processed_is_left_alone() {
    let r = row(&[SR_TITLE]);
    for flag in [json!(true), json!("true"), json!("True")] {
        let u = stored(&[("isprocessed", flag)]);
        assert_eq!(
            dropped(run(&r, Some(&u), &WorkdayParams::default())),
            DropReason::BeingProcessed
        );
    }
}

#[test]
fn s07_profile_of_a_higher_priority_source_is_dropped() {
    // the README says the opposite; code, test and "lower number wins" agree on this.
    let p = params(|p| p.source_priority = 2);
    let r = row_with(&p, &[SR_TITLE]);
    let u = stored(&[("sourcepriority", json!(1))]);
    assert_eq!(
        dropped(run(&r, Some(&u), &p)),
        DropReason::HigherPrioritySource {
            stored: 1,
            instance: 2
        }
    );
    // A profile of a lower-priority source is taken over.
    let u = stored(&[("sourcepriority", json!(3))]);
    assert_eq!(
        event(run(&r, Some(&u), &p)).incident_type,
        IncidentType::UpdateUser
    );
}

#[test]
fn s08_ad_activation_waits_for_enable_ad_days() {
    let r = row(&[("Last_Hire_Date", Some("01/20/2025"))]);
    let u = stored_from(&r, &[("adaccountstatus", json!("Pending"))]);
    let two = params(|p| p.days_before_hire_to_enable_ad = Some(2));
    assert_eq!(dropped(run(&r, Some(&u), &two)), DropReason::NoChange);
    let five = params(|p| p.days_before_hire_to_enable_ad = Some(5));
    let e = event(run(&r, Some(&u), &five));
    assert_eq!(e.incident_type, IncidentType::AdUserActivation);
    assert_eq!(e.details, "Active Directory user account was enabled.");
}

#[test]
fn s09_ad_activation_without_enable_ad_days_is_immediate() {
    let r = row(&[("Last_Hire_Date", Some("01/20/2025"))]);
    let u = stored_from(&r, &[("adaccountstatus", json!("Pending"))]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::AdUserActivation);
}

#[test]
fn s10_postponed_hire_deactivates_ad() {
    let p = params(|p| p.days_before_hire_to_enable_ad = Some(2));
    let r = row_with(&p, &[("Last_Hire_Date", Some("12/12/2035"))]);
    let u = stored(&[]);
    let e = event(run(&r, Some(&u), &p));
    assert_eq!(e.incident_type, IncidentType::AdUserDeactivation);
    assert_eq!(
        e.details,
        "Active Directory user account was disabled due to hire date postponement."
    );
}

#[test]
fn s11_conversion_hires_are_not_deactivated() {
    let p = params(|p| p.days_before_hire_to_enable_ad = Some(2));
    let r = row_with(&p, &[("Last_Hire_Date", Some("12/12/2035"))]);
    for u in [
        stored(&[("conversionhire", json!(true))]),
        stored(&[("sourcepriority", json!(2))]),
    ] {
        let e = event(run(&r, Some(&u), &p));
        assert_eq!(e.incident_type, IncidentType::UpdateUser, "{u:?}");
        assert_eq!(
            e.changed_fields.first().map(String::as_str),
            Some("hiredate")
        );
    }
}

#[test]
fn s12_disabled_prehire_rehired_is_a_rehire() {
    let u = stored(&[
        ("adaccountstatus", json!("Disabled")),
        ("employmentstatus", json!("Terminated")),
        ("lastdayofwork", json!("06/30/2024")),
    ]);
    let r = row(&[
        PREHIRE,
        REHIRED,
        NO_STATUS,
        ("Last_Hire_Date", Some("02/01/2025")),
    ]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::RehireUser);
    assert_eq!(e.details, "The user has been rehired.");
}

#[test]
fn s13_terminated_and_disabled_is_not_updated() {
    let u = stored(&[
        ("adaccountstatus", json!("Disabled")),
        ("employmentstatus", json!("Terminated")),
    ]);
    let r = row(&[TERMINATED, SR_TITLE]);
    assert_eq!(
        dropped(run(&r, Some(&u), &WorkdayParams::default())),
        DropReason::NoChange
    );
}

#[test]
fn s14_terminated_in_workday_terminates() {
    let u = stored(&[]);
    let r = row(&[TERMINATED]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::TerminateUser);
    assert_eq!(e.details, "The user has been terminated.");
    assert_eq!(e.changed_fields, ["employmentstatus"]);
}

#[test]
fn s15_last_day_of_work_today_terminates() {
    let u = stored(&[]);
    let r = row(&[("Last_Day_of_Work", Some("01/15/2025"))]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::TerminateUser);
    // Tomorrow is not yet: the new last day of work is an update.
    let r = row(&[("Last_Day_of_Work", Some("01/16/2025"))]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
}

#[test]
fn s16_terminated_prehire_is_neither_terminated_nor_updated() {
    let u = stored(&[]);
    let r = row(&[
        TERMINATED,
        PREHIRE,
        ("Last_Day_of_Work", Some("12/12/2100")),
    ]);
    assert_eq!(
        dropped(run(&r, Some(&u), &WorkdayParams::default())),
        DropReason::NoChange
    );
    let r = row(&[TERMINATED, PREHIRE, SR_TITLE]);
    assert_eq!(
        dropped(run(&r, Some(&u), &WorkdayParams::default())),
        DropReason::NoChange
    );
}

#[test]
fn s17_title_change_is_an_update_with_old_user_data() {
    let u = stored(&[]);
    let r = row(&[SR_TITLE]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
    assert_eq!(
        e.details,
        "The user has been updated:\ntitle field was updated to \"Sr Engineer\"."
    );
    assert_eq!(profile_of(&e)["olduserdata"], Value::Object(u));
    assert_eq!(profile_of(&e)["title"], json!("Sr Engineer"));
    assert!(!profile_of(&e).contains_key("conversionhire"));
    assert_eq!(e.changed_fields, ["title"]);
}

#[test]
fn s18_profile_of_a_lower_priority_source_is_a_conversion_hire() {
    let u = stored(&[("sourcepriority", json!(3))]);
    let r = row(&[SR_TITLE]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
    assert_eq!(
        e.details,
        "A conversion hire was detected:\ntitle field was updated to \"Sr Engineer\".\n\
         sourcepriority field was updated to \"1\"."
    );
    assert_eq!(profile_of(&e)["conversionhire"], json!(true));
}

#[test]
fn s19_leave_of_absence_is_a_plain_update() {
    let u = stored(&[]);
    let r = row(&[("Employment_Status", Some("Leave of Absence"))]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
    assert_eq!(
        e.details,
        "The user has been updated:\nemploymentstatus field was updated to \"Leave of Absence\"."
    );
}

#[test]
fn s20_tufe_profiles_only_react_to_a_rehire() {
    let u = stored(&[("terminationtrigger", json!("TUFE"))]);
    let r = row(&[SR_TITLE]);
    assert_eq!(
        dropped(run(&r, Some(&u), &WorkdayParams::default())),
        DropReason::Tufe
    );
    let u = stored(&[
        ("terminationtrigger", json!("TUFE")),
        ("adaccountstatus", json!("Disabled")),
    ]);
    let r = row(&[PREHIRE, REHIRED, SR_TITLE]);
    let e = event(run(&r, Some(&u), &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::RehireUser);
}

/// Jane's namesake: another employee, AD enabled, with the same display name.
fn namesake(changes: &[(&str, Value)]) -> Profile {
    let mut changes = changes.to_vec();
    changes.splice(
        0..0,
        [
            ("employeeid", json!("2002")),
            ("email", json!("jane.doe2@example.com")),
            ("username", json!("jane.doe2@example.com")),
            ("title", json!("Accountant")),
        ],
    );
    stored(&changes)
}

fn run_indexed(row: &NormalizedRow, index: &ProfileIndex, params: &WorkdayParams) -> Decision {
    let stored = index.find(row.employee_id(), row.email());
    classify(row, stored, index, params, today()).unwrap()
}

/// The orphans among `stored` when the report matched none of them.
fn orphans_of(stored: &[&Profile], params: &WorkdayParams) -> Vec<Event> {
    let index = ProfileIndex::new(stored.iter().map(|p| (*p).clone()).collect(), map());
    orphan_events(&index, &ReportMatches::default(), params)
        .collect::<anyhow::Result<_>>()
        .unwrap()
}

#[test]
fn s21_new_hire_with_a_taken_display_name_needs_review() {
    let other = namesake(&[]);
    let index = ProfileIndex::new(vec![other.clone()], map());
    let e = event(run_indexed(&row(&[]), &index, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::SyncUser);
    assert_eq!(
        e.details,
        "Detected an \"IAM - New Hire\" event, but display name already exists. Please review."
    );
    // the existing account with Workday's data on top, for "Overwrite Existing Account".
    let profile = profile_of(&e);
    let merged = profile["mergeduserprofile"].as_object().unwrap();
    assert_eq!(merged["email"], json!("jane.doe2@example.com"));
    assert_eq!(merged["username"], json!("jane.doe2@example.com"));
    assert_eq!(merged["adaccountstatus"], json!("Enabled"));
    assert_eq!(merged["employeeid"], json!("1001"));
    assert_eq!(merged["title"], json!("Engineer"));
}

#[test]
fn s22_email_change_is_an_update() {
    let u = stored(&[]);
    let index = ProfileIndex::new(vec![u.clone()], map());
    let r = row(&[("Email_Address", Some("Jane.Smith@Example.com"))]);
    let e = event(run_indexed(&r, &index, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
    assert_eq!(e.name, "jane.smith@example.com");
    assert_eq!(
        e.details,
        "The user has been updated:\n\
         username field was updated to \"jane.smith@example.com\".\n\
         email field was updated to \"jane.smith@example.com\"."
    );
    assert_eq!(
        profile_of(&e)["olduserdata"]["email"],
        json!("jane.doe@example.com")
    );
}

#[test]
fn s23_stored_user_missing_from_the_report_is_an_orphan() {
    let u = stored(&[]);
    let p = WorkdayParams::default();
    let events = orphans_of(&[&u], &p);
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.name, "jane.doe@example.com");
    assert_eq!(e.incident_type, IncidentType::TerminateUser);
    assert_eq!(
        e.details,
        "An orphan user was detected (could not find the user in Workday report). \
         Please review and terminate if necessary."
    );
    assert_eq!(profile_of(e)["employmentstatus"], json!("Terminated"));
    assert_eq!(profile_of(e)["terminationtrigger"], json!("Orphan"));
    assert_eq!(e.raw_json()["Email_Address"], json!("jane.doe@example.com"));
    assert_eq!(e.raw_json()["Emp_ID"], json!("1001"));

    let processed = stored(&[("isprocessed", json!(true))]);
    assert!(orphans_of(&[&processed], &p).is_empty());
}

#[test]
fn s25_first_run_creates_profiles_only_for_current_staff() {
    let p = params(|p| p.days_before_hire_to_sync = Some(7));
    let rows = [
        row_with(
            &p,
            &[
                ("Emp_ID", Some("1")),
                ("Email_Address", Some("gone@example.com")),
                TERMINATED,
                ("Last_Day_of_Work", Some("12/31/2024")),
            ],
        ),
        row_with(
            &p,
            &[
                ("Emp_ID", Some("2")),
                ("Email_Address", Some("future@example.com")),
                PREHIRE,
                NO_STATUS,
                ("Last_Hire_Date", Some("02/14/2025")),
            ],
        ),
        row_with(&p, &[("Emp_ID", Some("3"))]),
    ];
    let outcomes: Vec<_> = first_run_profiles(rows, &p, today()).collect();
    assert_eq!(outcomes[0], Err(DropReason::TerminatedUnknownUser));
    assert_eq!(
        outcomes[1],
        Err(DropReason::HireBeyondSync { days: 30, limit: 7 })
    );
    let profile = outcomes[2].as_ref().unwrap();
    assert_eq!(profile["employeeid"], json!("3"));
    assert!(!profile.contains_key("adaccountstatus"));

    // A hire within the sync window but beyond the AD one starts Pending.
    let p = params(|p| {
        p.days_before_hire_to_sync = Some(7);
        p.days_before_hire_to_enable_ad = Some(2);
    });
    let soon = row_with(
        &p,
        &[PREHIRE, NO_STATUS, ("Last_Hire_Date", Some("01/20/2025"))],
    );
    let outcomes: Vec<_> = first_run_profiles([soon], &p, today()).collect();
    assert_eq!(
        outcomes[0].as_ref().unwrap()["adaccountstatus"],
        json!("Pending")
    );
}

#[test]
fn s26_first_run_keeps_the_first_row_of_a_shared_email() {
    let rows = [row(&[("Emp_ID", Some("1"))]), row(&[("Emp_ID", Some("2"))])];
    let outcomes: Vec<_> = first_run_profiles(rows, &WorkdayParams::default(), today()).collect();
    assert_eq!(outcomes[0].as_ref().unwrap()["employeeid"], json!("1"));
    assert_eq!(outcomes[1], Err(DropReason::EmailTaken));
}

// Where the original pack is wrong: our choices

#[test]
fn d13_2_orphans_skip_terminated_foreign_matched_and_processed_profiles() {
    let p = WorkdayParams::default();
    // No isprocessed at all: still an orphan (the original required it to be exactly false).
    let u = stored(&[("isprocessed", Value::Null)]);
    assert_eq!(orphans_of(&[&u], &p).len(), 1);
    for u in [
        stored(&[("employmentstatus", json!("terminated"))]),
        stored(&[("sourcepriority", json!(2))]),
        stored(&[("isprocessed", json!("True"))]),
    ] {
        assert!(orphans_of(&[&u], &p).is_empty(), "{u:?}");
    }
    // A row's email matches the stored one whatever its case.
    let u = stored(&[("email", json!("Jane.Doe@Example.com"))]);
    let index = ProfileIndex::new(vec![u], map());
    let mut matched = ReportMatches::default();
    matched.record(index.find("", "jane.doe@example.com").unwrap());
    assert!(orphan_events(&index, &matched, &p).next().is_none());
}

#[test]
fn d13_3_update_with_a_taken_display_name_lists_the_changes() {
    let u = stored(&[]);
    let other = namesake(&[("displayname", json!("John Roe"))]);
    let index = ProfileIndex::new(vec![u, other], map());
    let r = row(&[("Preferred_Name", Some("John Roe"))]);
    let e = event(run_indexed(&r, &index, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::SyncUser);
    assert_eq!(
        e.details,
        "Detected an \"IAM - Update User\" event, but display name already exists. Please review.\n\
         displayname field was updated to \"John Roe\"."
    );
    assert!(profile_of(&e).contains_key("olduserdata"));
    assert_eq!(
        profile_of(&e)["mergeduserprofile"]["email"],
        json!("jane.doe2@example.com")
    );
}

#[test]
fn d13_4_rehire_needs_a_change() {
    let r = row(&[PREHIRE, REHIRED, NO_STATUS]);
    let u = stored_from(&r, &[("adaccountstatus", json!("Disabled"))]);
    assert_eq!(
        dropped(run(&r, Some(&u), &WorkdayParams::default())),
        DropReason::NoChange
    );
}

#[test]
fn d13_5_a_terminated_namesake_frees_the_name_for_a_stored_user() {
    let u = stored(&[]);
    let gone = namesake(&[
        ("displayname", json!("John Roe")),
        ("employmentstatus", json!("Terminated")),
    ]);
    let index = ProfileIndex::new(vec![u, gone], map());
    let r = row(&[("Preferred_Name", Some("John Roe"))]);
    let e = event(run_indexed(&r, &index, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
    // A new user still needs review: it may be the leaver coming back.
    let index = ProfileIndex::new(
        vec![namesake(&[("employmentstatus", json!("Terminated"))])],
        map(),
    );
    let e = event(run_indexed(&row(&[]), &index, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::SyncUser);
}

#[test]
fn a_user_keeping_its_own_name_is_no_conflict() {
    let u = stored(&[]);
    let index = ProfileIndex::new(vec![u, namesake(&[])], map());
    let e = event(run_indexed(
        &row(&[SR_TITLE]),
        &index,
        &WorkdayParams::default(),
    ));
    assert_eq!(e.incident_type, IncidentType::UpdateUser);
}

#[test]
fn a_row_without_a_display_name_never_conflicts() {
    let nameless = namesake(&[("displayname", Value::Null)]);
    let index = ProfileIndex::new(vec![nameless], map());
    let r = row(&[("Preferred_Name", None)]);
    let e = event(run_indexed(&r, &index, &WorkdayParams::default()));
    assert_eq!(e.incident_type, IncidentType::NewHire);
}

// Changed-field detection and normalization

#[test]
fn equivalent_values_are_no_change() {
    let r = row(&[
        ("Title", Some("  Engineer ")),
        ("Termination_Date", Some("")),
        ("Manager_Email_Address", None),
    ]);
    let u = stored(&[
        ("employeeid", json!(1001)),
        ("title", json!("Engineer")),
        ("prehireflag", json!(false)),
        ("sourcepriority", json!("1")),
        ("sourceoftruth", Value::Null),
        ("terminationdate", Value::Null),
        ("manageremailaddress", json!("boss@example.com")),
    ]);
    assert_eq!(
        dropped(run(&r, Some(&u), &WorkdayParams::default())),
        DropReason::NoChange
    );
    // A profile without a priority is priority 1: a priority-2 instance leaves it alone.
    let u = stored(&[("sourcepriority", Value::Null)]);
    let p = params(|p| p.source_priority = 2);
    assert_eq!(
        dropped(run(&row_with(&p, &[]), Some(&u), &p)),
        DropReason::HigherPrioritySource {
            stored: 1,
            instance: 2
        }
    );
}

#[test]
fn a_cleared_value_is_a_change() {
    let u = stored(&[]);
    let e = event(run(
        &row(&[("Title", Some(""))]),
        Some(&u),
        &WorkdayParams::default(),
    ));
    assert_eq!(
        e.details,
        "The user has been updated:\ntitle field was updated to \"\"."
    );
}

#[test]
fn another_source_of_truth_is_a_change() {
    let u = stored(&[("sourceoftruth", json!("Okta IAM"))]);
    let e = event(run(&row(&[]), Some(&u), &WorkdayParams::default()));
    assert_eq!(e.changed_fields, ["sourceoftruth"]);
}

#[test]
fn the_deactivation_field_is_configurable() {
    let fields = [
        ("Termination_Date", Some("01/10/2025")),
        ("Last_Day_of_Work", Some("02/28/2025")),
    ];
    let u = stored_from(&row(&fields), &[]);
    let by_termination = params(|p| p.deactivation_date_field = DeactivationField::TerminationDate);
    let e = event(run(&row(&fields), Some(&u), &by_termination));
    assert_eq!(e.incident_type, IncidentType::TerminateUser);
    assert_eq!(
        dropped(run(&row(&fields), Some(&u), &WorkdayParams::default())),
        DropReason::NoChange
    );
}

#[test]
fn normalization_canonicalizes_values() {
    let mut raw = report_row(&[("Hire_Date", Some("01/02/2020")), ("Last_Hire_Date", None)]);
    raw["Emp_ID"] = json!(1001);
    raw["Prehire_Flag"] = json!(true);
    raw["Title"] = Value::Null;
    raw["Department"] = json!("  Engineering\t");
    let r = map().normalize(raw, &WorkdayParams::default()).unwrap();
    assert_eq!(r.employee_id(), "1001");
    assert_eq!(r.email(), "jane.doe@example.com");
    assert_eq!(r.text("username"), "jane.doe@example.com");
    assert_eq!(r.text("prehireflag"), "True");
    assert_eq!(r.profile()["title"], json!(""));
    assert_eq!(r.text("department"), "Engineering");
    assert_eq!(r.hire_date(), NaiveDate::from_ymd_opt(2020, 1, 2));
    // Keys the row lacks stay out of the profile; the runtime's fields come last.
    let profile = r.profile();
    assert!(!profile.contains_key("lastdayofwork"));
    let keys: Vec<_> = profile.keys().map(String::as_str).collect();
    assert_eq!(keys[..3], ["employeeid", "username", "email"]);
    assert_eq!(keys[keys.len() - 2..], ["sourcepriority", "sourceoftruth"]);
}

#[test]
fn dates_are_read_in_the_configured_format() {
    let p = params(|p| p.date_format = DateFormat::new("%Y-%m-%d").unwrap());
    let r = row_with(
        &p,
        &[
            ("Last_Hire_Date", Some("2020-01-02")),
            ("Last_Day_of_Work", Some("2025-03-31")),
        ],
    );
    assert_eq!(r.text("hiredate"), "01/02/2020");
    assert_eq!(r.text("lastdayofwork"), "03/31/2025");
    assert_eq!(
        r.deactivation_date(DeactivationField::LastDayOfWork),
        NaiveDate::from_ymd_opt(2025, 3, 31)
    );
}

#[test]
fn malformed_rows_are_errors_naming_the_row() {
    let p = WorkdayParams::default();
    let err = map()
        .normalize(report_row(&[("Last_Hire_Date", Some("2020-01-02"))]), &p)
        .unwrap_err();
    assert_eq!(err.employee_id.as_deref(), Some("1001"));
    assert_eq!(err.email.as_deref(), Some("jane.doe@example.com"));
    assert_eq!(
        err.to_string(),
        "Last_Hire_Date \"2020-01-02\" is not a date in the format %m/%d/%Y (workday_date_format) \
         (employee 1001, jane.doe@example.com)"
    );

    let err = map().normalize(json!(["not", "a", "row"]), &p).unwrap_err();
    assert_eq!(err.problem, RowProblem::NotAnObject { found: "an array" });
    assert_eq!(err.to_string(), "the row is an array, not an object");

    let mut raw = report_row(&[("Emp_ID", None)]);
    raw["Employment_Status"] = json!({"en": "Active"});
    let err = map().normalize(raw, &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Employment_Status is an object; expected text, a number or a boolean (jane.doe@example.com)"
    );
}

#[test]
fn an_email_that_is_not_an_address_skips_the_row_with_the_reason() {
    let p = WorkdayParams::default();
    for bad in ["42", "jane", "jane doe@example.com", "jane@example"] {
        let err = map()
            .normalize(report_row(&[("Email_Address", Some(bad))]), &p)
            .unwrap_err();
        assert!(
            matches!(err.problem, RowProblem::BadEmail { .. }),
            "{bad}: {err}"
        );
        // The employee id still identifies the row, so its person is not taken for an orphan.
        assert_eq!(err.employee_id.as_deref(), Some("1001"), "{bad}");
    }
    let mut raw = report_row(&[]);
    raw["Email_Address"] = json!(42);
    let err = map().normalize(raw, &p).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Email_Address \"42\" is not an email address: it has no @ (employee 1001, 42)"
    );
}

#[test]
fn an_unusable_optional_column_is_left_out_with_a_warning() {
    let p = WorkdayParams::default();
    let mut raw = report_row(&[("Manager_Email_Address", Some("ada@example.com"))]);
    raw["Title"] = json!(["Engineer"]);
    raw["Department"] = json!("x".repeat(2000));
    raw["Email_-_Primary_Home"] = json!("not an address");
    raw["Termination_Date"] = json!("soon"); // not the deactivation field here
    let row = map().normalize(raw, &p).unwrap();
    let left_out: Vec<String> = row.warnings().map(|w| w.to_string()).collect();
    assert_eq!(
        left_out,
        [
            "Termination_Date \"soon\" is not a date in the format %m/%d/%Y (workday_date_format); left out of the profile (employee 1001, jane.doe@example.com)",
            "Title is an array; expected text, a number or a boolean; left out of the profile (employee 1001, jane.doe@example.com)",
            "Department is 2000 bytes long, more than max_value_length (1024); left out of the profile (employee 1001, jane.doe@example.com)",
            "Email_-_Primary_Home \"not an address\" is not an email address: it contains a space or a control character; left out of the profile (employee 1001, jane.doe@example.com)",
        ]
    );
    let profile = row.profile();
    for gone in ["title", "department", "terminationdate", "personalemail"] {
        assert!(!profile.contains_key(gone), "{gone}: {profile:?}");
    }
    // Checked email columns keep their case; only the profile's key is lower-cased.
    let row = map()
        .normalize(
            report_row(&[("Manager_Email_Address", Some("Ada.Lovelace@Example.com"))]),
            &p,
        )
        .unwrap();
    assert_eq!(row.text("manageremailaddress"), "Ada.Lovelace@Example.com");
    assert_eq!(row.warnings().count(), 0);

    // A left-out value is no change: the stored title stays, nothing to update.
    let u = stored(&[]);
    let mut raw = report_row(&[]);
    raw["Title"] = json!({"en": "Engineer"});
    let row = map().normalize(raw, &p).unwrap();
    assert_eq!(dropped(run(&row, Some(&u), &p)), DropReason::NoChange);
}

#[test]
fn d13_23_a_malformed_optional_column_never_blocks_a_termination() {
    let p = WorkdayParams::default();
    let u = stored(&[]);
    let mut raw = report_row(&[TERMINATED]);
    raw["Manager_Email_Address"] = json!({"email": "ada@example.com"});
    let row = map().normalize(raw, &p).unwrap();
    assert_eq!(row.warnings().count(), 1);
    let e = event(run(&row, Some(&u), &p));
    assert_eq!(e.incident_type, IncidentType::TerminateUser);
    assert!(!profile_of(&e).contains_key("manageremailaddress"));
}

#[test]
fn columns_that_decide_the_event_skip_the_row_when_unusable() {
    let long = "9".repeat(1025);
    let by_termination = params(|p| p.deactivation_date_field = DeactivationField::TerminationDate);
    let cases: [(&str, Value, &WorkdayParams); 7] = [
        ("Emp_ID", json!(long), &WorkdayParams::default()),
        ("Email_Address", json!({"a": 1}), &WorkdayParams::default()),
        ("Last_Hire_Date", json!(long), &WorkdayParams::default()),
        (
            "Employment_Status",
            json!(["Terminated"]),
            &WorkdayParams::default(),
        ),
        ("Prehire_Flag", json!({}), &WorkdayParams::default()),
        (
            "Last_Day_of_Work",
            json!("tomorrow"),
            &WorkdayParams::default(),
        ),
        ("Termination_Date", json!("tomorrow"), &by_termination),
    ];
    for (key, value, p) in cases {
        let mut raw = report_row(&[]);
        raw[key] = value;
        let err = map().normalize(raw, p).unwrap_err();
        assert!(err.to_string().starts_with(key), "{key}: {err}");
    }
    let mut raw = report_row(&[]);
    raw["Emp_ID"] = json!(long);
    let err = map().normalize(raw, &WorkdayParams::default()).unwrap_err();
    assert_eq!(
        err.problem,
        RowProblem::TooLong {
            key: "Emp_ID".into(),
            length: 1025,
            limit: 1024
        }
    );
    // The message never quotes the oversized value.
    assert!(!err.to_string().contains(&long));
    let roomy = params(|p| p.max_value_length = 2000);
    let mut raw = report_row(&[]);
    raw["Title"] = json!("t".repeat(1500));
    assert_eq!(map().normalize(raw, &roomy).unwrap().warnings().count(), 0);
}

#[test]
fn map_errors_say_what_to_fix() {
    let map_with = |entries: &str| {
        let text = format!(
            "fields = [\n{{ to = \"email\", from = \"Email_Address\" }},\n\
             {{ to = \"employeeid\", from = \"Emp_ID\" }},\n{entries}\n]"
        );
        IncomingMap::from_toml(&text, "test.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert_eq!(map_with("{ to = \"hiredate\", from = \"Hire_Date\" },"), "");
    let cases = [
        ("", "no field maps to \"hiredate\""),
        (
            "{ to = \"hiredate\", form = \"Hire_Date\" },",
            "unknown field `form`",
        ),
        (
            "{ to = \"hiredate\", from = \"A\" }, { to = \"hiredate\", from = \"B\" },",
            "field \"hiredate\" is mapped twice",
        ),
        (
            "{ to = \"Hire Date\", from = \"A\" },",
            "profile fields are cli names",
        ),
        (
            "{ to = \"hiredate\", from = \"A\" }, { to = \"sourcepriority\", from = \"B\" },",
            "is set by the runtime",
        ),
        (
            "{ to = \"hiredate\", from = \"A\", transform = \"lowercase\" },",
            "always a date",
        ),
        (
            "{ to = \"hiredate\", from = [] },",
            "at least one report key",
        ),
        (
            "{ to = \"hiredate\", from = \"A\", transform = \"upper\" },",
            "unknown variant `upper`",
        ),
        ("{ to = \"hiredate\" from = \"A\" },", "line 4"),
    ];
    for (entries, expected) in cases {
        let err = map_with(entries);
        assert!(err.starts_with("incoming field map test.toml: "), "{err}");
        assert!(err.contains(expected), "{entries}: {err}");
    }
    let err = IncomingMap::load(Path::new("/nonexistent/workday.toml")).unwrap_err();
    assert!(err.to_string().contains("cannot read it"), "{err}");
}

#[test]
fn parameters_are_read_leniently_and_checked() {
    let given = json!({
        "workday_date_format": "%Y-%m-%d",
        "deactivation_date_field": "Termination_Date",
        "days_before_hire_to_sync": "7",
        "days_before_hire_to_enable_ad": 2,
        "source_priority": "2",
        "report_url": "https://example.com/report"
    });
    let p = WorkdayParams::from_instance(given.as_object().unwrap()).unwrap();
    assert_eq!(p.max_value_length, DEFAULT_MAX_VALUE_LENGTH);
    assert_eq!(p.date_format.as_str(), "%Y-%m-%d");
    assert_eq!(
        p.deactivation_date_field,
        DeactivationField::TerminationDate
    );
    assert_eq!(p.days_before_hire_to_sync, Some(7));
    assert_eq!(p.days_before_hire_to_enable_ad, Some(2));
    assert_eq!(p.source_priority, 2);

    let blank = json!({"days_before_hire_to_sync": "", "source_priority": null, "workday_date_format": " "});
    let p = WorkdayParams::from_instance(blank.as_object().unwrap()).unwrap();
    assert_eq!(p.days_before_hire_to_sync, None);
    assert_eq!(p.source_priority, 1);
    assert_eq!(p.date_format.as_str(), "%m/%d/%Y");
    assert_eq!(p.deactivation_date_field, DeactivationField::LastDayOfWork);

    for (name, value, expected) in [
        (
            "days_before_hire_to_sync",
            json!("soon"),
            "not a whole number of days",
        ),
        (
            "source_priority",
            json!(0),
            "not a whole number of 1 or more",
        ),
        (
            "workday_date_format",
            json!("%m/%Y"),
            "does not read back a full date",
        ),
        (
            "deactivation_date_field",
            json!("Hire_Date"),
            "neither lastdayofwork",
        ),
        ("max_value_length", json!(0), "1 or more"),
    ] {
        let given = json!({ name: value });
        let err = WorkdayParams::from_instance(given.as_object().unwrap()).unwrap_err();
        assert_eq!(err.name, name);
        assert!(err.to_string().contains(expected), "{err}");
    }
}

#[test]
fn events_serialize_in_the_incident_shape() {
    let e = event(run(&row(&[]), None, &WorkdayParams::default()));
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["type"], json!("IAM - New Hire"));
    assert_eq!(
        json["rawJSON"]["UserProfile"]["email"],
        json!("jane.doe@example.com")
    );
    let back: Event = serde_json::from_value(json).unwrap();
    assert_eq!(back, e);
}

#[test]
fn drop_reasons_read_well() {
    let reason = DropReason::MissingRequired {
        fields: vec!["email", "hiredate"],
    };
    assert_eq!(reason.to_string(), "the row has no email, hiredate");
    assert_eq!(reason.code(), "missing-required-data");
    assert_eq!(
        DropReason::HireBeyondSync { days: 10, limit: 7 }.to_string(),
        "the hire date is 10 days away, more than days_before_hire_to_sync (7)"
    );
}

// Input that lies: the fetch as a whole, against a real store.

/// Ten active people, as the report sends them.
fn staff() -> Vec<Value> {
    (0..10)
        .map(|i| {
            report_row(&[
                ("Emp_ID", Some(&format!("{}", 2000 + i))),
                ("Email_Address", Some(&format!("p{i}@example.com"))),
                ("Preferred_Name", Some(&format!("Person {i}"))),
            ])
        })
        .collect()
}

fn report(rows: &[Value]) -> String {
    json!({ "Report_Entry": rows }).to_string()
}

struct Fetched {
    _dir: tempfile::TempDir,
    store: crate::store::Store,
}

impl Fetched {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(dir.path().join("ilm.db")).unwrap();
        store
            .add_instance(&crate::store::Instance::bare("hr", "workday"))
            .unwrap();
        Self { _dir: dir, store }
    }

    fn fetch(&self, body: &str, guard: RemovalGuard) -> anyhow::Result<FetchSummary> {
        Self::fetch_with(&self.store, guard, || Ok(body.to_owned()))
    }

    /// A fetch through `store` that reads the report with `read_report`.
    fn fetch_with(
        store: &crate::store::Store,
        guard: RemovalGuard,
        read_report: impl Fn() -> anyhow::Result<String>,
    ) -> anyhow::Result<FetchSummary> {
        let params = WorkdayParams::default();
        Fetch {
            store,
            instance: "hr",
            map: map(),
            params: &params,
            max_fetch: 100,
            first_run: true,
            removal_guard: guard,
            today: today(),
            progress: &|_| {},
        }
        .run(&|prepare, on_row| {
            Ok(read_rows(
                read_report()?.as_bytes(),
                &ReportLimits::default(),
                prepare,
                on_row,
            )?)
        })
    }

    /// Another handle on the same database, as a second process has.
    fn second_handle(&self) -> crate::store::Store {
        crate::store::Store::open(self._dir.path().join("ilm.db")).unwrap()
    }

    fn incidents(&self) -> u64 {
        self.store
            .search_incidents(
                &crate::store::IncidentFilter::default(),
                crate::store::PageRequest::new(0, 100).unwrap(),
            )
            .unwrap()
            .total
    }
}

/// How many profiles `store` holds.
fn profile_count(store: &crate::store::Store) -> usize {
    let mut count = 0;
    store
        .each_profile_json(&mut |_, _| {
            count += 1;
            Ok(())
        })
        .unwrap();
    count
}

#[test]
fn a_first_run_report_that_breaks_off_keeps_none_of_its_profiles() {
    let f = Fetched::new();
    let whole = report(&staff());
    // Every row is there but the report's end is not: the rows were read (and written)
    // before the stream failed.
    let cut = &whole[..whole.len() - 2];
    let err = format!("{:#}", f.fetch(cut, RemovalGuard::default()).unwrap_err());
    assert!(err.contains("broke off"), "{err}");
    assert_eq!(profile_count(&f.store), 0);
    assert_eq!(f.store.fetch_state("hr").unwrap(), None);

    let summary = f.fetch(&whole, RemovalGuard::default()).unwrap();
    assert_eq!(summary.profiles_created, 10);
    assert_eq!(profile_count(&f.store), 10);
    let state = f.store.fetch_state("hr").unwrap().unwrap();
    assert_eq!(state["synced_users"], json!(true));
}

#[test]
fn a_report_that_is_an_error_object_fails_the_fetch_and_changes_nothing() {
    let f = Fetched::new();
    f.fetch(&report(&staff()), RemovalGuard::default()).unwrap();
    let state = f.store.fetch_state("hr").unwrap();
    for body in [
        r#"{"Error": "Session expired"}"#,
        "{}",
        r#"{"Report_Entry": null}"#,
    ] {
        let err = format!("{:#}", f.fetch(body, RemovalGuard::default()).unwrap_err());
        assert!(err.contains("nothing was changed"), "{body}: {err}");
        assert_eq!(f.incidents(), 0, "{body}");
        assert_eq!(f.store.fetch_state("hr").unwrap(), state, "{body}");
    }
}

#[test]
fn a_report_that_would_orphan_more_than_the_share_stops_until_approved() {
    let f = Fetched::new();
    let people = staff();
    assert_eq!(
        f.fetch(&report(&people), RemovalGuard::default())
            .unwrap()
            .profiles_created,
        10
    );
    // One of ten gone: exactly the default 10 %, so the orphan is created.
    let summary = f
        .fetch(&report(&people[1..]), RemovalGuard::default())
        .unwrap();
    assert_eq!((summary.orphans, summary.known_people), (1, 10));
    assert_eq!(f.incidents(), 1);
    // Three more gone (four of ten, the first still unprocessed): held, nothing written.
    let state = f.store.fetch_state("hr").unwrap();
    let err = f
        .fetch(&report(&people[4..]), RemovalGuard::default())
        .unwrap_err();
    let hold = err.downcast_ref::<RemovalHold>().expect("a removal hold");
    assert_eq!(
        (
            hold.removals.orphans,
            hold.removals.terminations,
            hold.known
        ),
        (4, 0, 10)
    );
    assert_eq!(f.incidents(), 1);
    assert_eq!(f.store.fetch_state("hr").unwrap(), state);
    // Approved once: the four orphans become incidents, but for the first, whose
    // Terminate is still open.
    let approved = RemovalGuard {
        approved: true,
        ..RemovalGuard::default()
    };
    let summary = f.fetch(&report(&people[4..]), approved).unwrap();
    assert_eq!(summary.events["IAM - Terminate User"], 3);
    assert_eq!(
        summary.carried["an open incident carries the same change"],
        1
    );
    assert_eq!(f.incidents(), 4);
}

#[test]
fn a_report_that_terminates_more_than_the_share_stops_until_approved() {
    let f = Fetched::new();
    let mut people = staff();
    f.fetch(&report(&people), RemovalGuard::default()).unwrap();
    let profiles = f.store.all_profile_fields().unwrap();
    let state = f.store.fetch_state("hr").unwrap();
    // An export that marks three of ten active people terminated at once: held.
    for person in &mut people[..3] {
        person["Employment_Status"] = json!("Terminated");
    }
    let err = f
        .fetch(&report(&people), RemovalGuard::default())
        .unwrap_err();
    let hold = err.downcast_ref::<RemovalHold>().expect("a removal hold");
    assert_eq!(
        (
            hold.removals.terminations,
            hold.removals.orphans,
            hold.known
        ),
        (3, 0, 10)
    );
    assert!(
        hold.to_string()
            .contains("terminate 3 and orphan 0 of the 10 people")
            && hold.to_string().contains("--approve-removals"),
        "{hold}"
    );
    assert_eq!(f.incidents(), 0);
    assert_eq!(f.store.fetch_state("hr").unwrap(), state);
    assert_eq!(f.store.all_profile_fields().unwrap(), profiles);
    // One termination and one orphan, each within the share alone, are held together.
    let mut mixed: Vec<Value> = staff()[1..].to_vec();
    mixed[0]["Employment_Status"] = json!("Terminated");
    let hold = f
        .fetch(&report(&mixed), RemovalGuard::default())
        .unwrap_err();
    let hold = hold.downcast_ref::<RemovalHold>().expect("a removal hold");
    assert_eq!((hold.removals.terminations, hold.removals.orphans), (1, 1));
    // Approved once: the three terminations become incidents.
    let approved = RemovalGuard {
        approved: true,
        ..RemovalGuard::default()
    };
    let summary = f.fetch(&report(&people), approved).unwrap();
    assert_eq!(summary.events["IAM - Terminate User"], 3);
    assert_eq!(f.incidents(), 3);
}

#[test]
fn skipped_rows_and_left_out_values_are_counted_with_their_reasons() {
    let f = Fetched::new();
    let mut people = staff();
    f.fetch(&report(&people), RemovalGuard::default()).unwrap();
    people[0]["Email_Address"] = json!("42");
    people[1]["Employment_Status"] = json!("Terminated");
    people[1]["Manager_Email_Address"] = json!({"email": "boss@example.com"});
    people[2]["Title"] = json!("x".repeat(5000));
    let summary = f.fetch(&report(&people), RemovalGuard::default()).unwrap();
    assert_eq!(summary.skipped.len(), 1, "{summary:?}");
    assert!(summary.skipped[0].contains("not an email address"));
    assert_eq!(summary.warnings.len(), 2, "{summary:?}");
    // The skipped row still names a known person: no orphan, and the leaver is terminated.
    assert_eq!(summary.orphans, 0);
    assert_eq!(summary.events.get("IAM - Terminate User"), Some(&1));
    assert_eq!(summary.events.len(), 1, "{summary:?}");
}

/// The staff and one new hire, p10.
fn staff_and_a_hire() -> Vec<Value> {
    let mut people = staff();
    people.push(report_row(&[
        ("Emp_ID", Some("2010")),
        ("Email_Address", Some("p10@example.com")),
        ("Preferred_Name", Some("Person 10")),
    ]));
    people
}

#[test]
fn two_fetches_at_once_create_each_event_once() {
    let f = Fetched::new();
    f.fetch(&report(&staff()), RemovalGuard::default()).unwrap();
    let body = report(&staff_and_a_hire());
    let other = f.second_handle();
    let raced = std::cell::Cell::new(false);
    // While this fetch reads the report, another one runs to the end.
    let summary = Fetched::fetch_with(&f.store, RemovalGuard::default(), || {
        if !raced.replace(true) {
            let first =
                Fetched::fetch_with(&other, RemovalGuard::default(), || Ok(body.clone())).unwrap();
            assert_eq!(first.incidents_created, 1, "{first:?}");
        }
        Ok(body.clone())
    })
    .unwrap();
    assert_eq!(summary.incidents_created, 0, "{summary:?}");
    assert_eq!(f.incidents(), 1, "the hire's New Hire, once");
}

#[test]
fn a_fetch_while_the_hires_incident_is_open_or_just_closed_creates_no_second_one() {
    let f = Fetched::new();
    f.fetch(&report(&staff()), RemovalGuard::default()).unwrap();
    let body = report(&staff_and_a_hire());
    assert_eq!(
        f.fetch(&body, RemovalGuard::default()).unwrap().events["IAM - New Hire"],
        1
    );
    let open = f.fetch(&body, RemovalGuard::default()).unwrap();
    assert_eq!(open.incidents_created, 0, "{open:?}");
    assert_eq!(
        open.carried["an open incident carries the same change"], 1,
        "{open:?}"
    );

    // The run closes while the next fetch compares the report (before the run's profile
    // was there to compare with).
    let hire = f
        .store
        .search_incidents(
            &crate::store::IncidentFilter::default(),
            crate::store::PageRequest::new(0, 10).unwrap(),
        )
        .unwrap()
        .data[0]
        .id;
    let closed = Fetched::fetch_with(&f.store, RemovalGuard::default(), || {
        f.store
            .set_incident_status(hire, crate::store::IncidentStatus::Closed)
            .unwrap();
        Ok(body.clone())
    })
    .unwrap();
    assert_eq!(closed.incidents_created, 0, "{closed:?}");
    assert_eq!(
        closed.carried["an incident closed the same change after the comparison"], 1,
        "{closed:?}"
    );
    assert_eq!(f.incidents(), 1);
}

/// The profile a first-run sync writes as text is the map `select` builds, key for key
/// and in order, whatever the values hold.
#[test]
fn a_profile_written_as_json_is_the_selected_map() {
    let rows = [
        row(&[]),
        row(&[
            ("Title", Some("Ünïcode \"quoted\" \\ \n\t")),
            ("Hire_Date", None),
        ]),
    ];
    for r in &rows {
        for extra in [None, Some(("adaccountstatus", "Pending"))] {
            let mut expected = r.profile();
            if let Some((name, value)) = extra {
                expected.insert(name.into(), json!(value));
            }
            assert_eq!(r.profile_json(extra), Value::Object(expected).to_string());
        }
    }
}
