//! Property tests of the report reader, the normalizer and the whole plan over hostile
//! input: nothing panics, every rejection carries a reason, only a column the classifier
//! needs can drop a row, and every row is accounted for exactly once.

use super::*;
use crate::testing::{config, json, object_with, text};
use chrono::NaiveDate;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::path::Path;
use std::sync::OnceLock;

fn map() -> &'static IncomingMap {
    static MAP: OnceLock<IncomingMap> = OnceLock::new();
    MAP.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../playbooks/mappers/workday-incoming.toml");
        IncomingMap::load(&path).expect("the shipped map loads")
    })
}

/// Report keys the shipped map reads, so most generated values reach a field.
const REPORT_KEYS: &[&str] = &[
    "Emp_ID",
    "Email_Address",
    "Preferred_Name",
    "Employment_Status",
    "Prehire_Flag",
    "Rehired_Employee",
    "Last_Hire_Date",
    "Hire_Date",
    "Termination_Date",
    "Last_Day_of_Work",
    "Manager_Email_Address",
    "Email_-_Primary_Home",
    "Title",
    "Department",
];

/// Profile fields the classifier and the orphan rules read.
const PROFILE_KEYS: &[&str] = &[
    "email",
    "employeeid",
    "displayname",
    "employmentstatus",
    "adaccountstatus",
    "isprocessed",
    "sourcepriority",
    "terminationtrigger",
    "conversionhire",
    "hiredate",
];

/// Report columns whose problem may skip a row under `params`.
fn deciding_keys(params: &WorkdayParams) -> Vec<&'static str> {
    let mut keys = vec![
        "Emp_ID",
        "Email_Address",
        "Employment_Status",
        "Prehire_Flag",
        "Rehired_Employee",
        "Last_Hire_Date",
        "Hire_Date",
    ];
    keys.push(match params.deactivation_date_field {
        DeactivationField::LastDayOfWork => "Last_Day_of_Work",
        DeactivationField::TerminationDate => "Termination_Date",
    });
    keys
}

fn params() -> impl Strategy<Value = WorkdayParams> {
    (
        prop::sample::select(vec!["%m/%d/%Y", "%Y-%m-%d", "%d.%m.%Y"]),
        any::<bool>(),
        prop::option::of(-5i64..30),
        prop::option::of(-5i64..30),
        1i64..3,
        16usize..2000,
    )
        .prop_map(
            |(format, by_termination, sync, ad, priority, limit)| WorkdayParams {
                date_format: DateFormat::new(format).expect("a valid format"),
                deactivation_date_field: match by_termination {
                    true => DeactivationField::TerminationDate,
                    false => DeactivationField::LastDayOfWork,
                },
                days_before_hire_to_sync: sync,
                days_before_hire_to_enable_ad: ad,
                source_priority: priority,
                max_value_length: limit,
            },
        )
}

/// A report row: usually an object of the map's keys, sometimes any JSON.
fn row() -> impl Strategy<Value = Value> {
    prop_oneof![
        9 => object_with(REPORT_KEYS).prop_map(Value::Object),
        1 => json(),
    ]
}

fn profiles() -> impl Strategy<Value = Vec<Map<String, Value>>> {
    prop::collection::vec(object_with(PROFILE_KEYS), 0..12)
}

fn today() -> impl Strategy<Value = NaiveDate> {
    (2000i32..2040, 1u32..13, 1u32..29)
        .prop_map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).expect("a valid date"))
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn the_report_reader_never_panics_and_says_why_it_refuses(
        body in prop_oneof![
            text(),
            json().prop_map(|v| v.to_string()),
            prop::collection::vec(row(), 0..4)
                .prop_map(|rows| serde_json::json!({"Report_Entry": rows}).to_string()),
        ]
    ) {
        match read_rows(body.as_bytes(), &ReportLimits::default(), &super::stream::parsed, &mut |_| {}) {
            Ok(_) => {
                let value: Value = serde_json::from_str(&body).expect("a report is JSON");
                prop_assert!(value["Report_Entry"].is_array());
            }
            Err(err) => {
                let message = format!("{err:#}");
                prop_assert!(!message.trim().is_empty());
            }
        }
    }

    #[test]
    fn the_normalizer_never_panics_and_only_needed_columns_drop_a_row(
        raw in row(),
        params in params(),
    ) {
        let was_object = raw.is_object();
        match map().normalize(raw, &params) {
            Err(err) => {
                prop_assert!(!err.to_string().trim().is_empty());
                let key = match &err.problem {
                    RowProblem::NotAnObject { .. } => {
                        prop_assert!(!was_object);
                        None
                    }
                    RowProblem::RowTooLong { .. } => {
                        prop_assert!(false, "normalize never measures a whole row");
                        None
                    }
                    RowProblem::NotScalar { key, .. }
                    | RowProblem::TooLong { key, .. }
                    | RowProblem::BadEmail { key, .. }
                    | RowProblem::BadDate { key, .. } => Some(key),
                };
                if let Some(key) = key {
                    prop_assert!(
                        deciding_keys(&params).contains(&key.as_str()),
                        "{key} dropped the row: {err}"
                    );
                }
                // Messages quote values cut short, whatever the report sent.
                prop_assert!(err.to_string().chars().count() < 600);
            }
            Ok(row) => {
                for (name, value) in row.fields() {
                    prop_assert!(value.len() <= params.max_value_length, "{name}");
                }
                let email = row.email();
                prop_assert!(email.is_empty() || super::email::check(email).is_ok(), "{email:?}");
                prop_assert_eq!(email.to_lowercase(), email);
                for warning in row.warnings() {
                    let message = warning.to_string();
                    prop_assert!(!message.trim().is_empty() && message.chars().count() < 600);
                }
                // The profile holds only the map's fields and the runtime's two.
                prop_assert!(row.profile().len() <= row.fields().count() + 2);
            }
        }
    }

    #[test]
    fn a_plan_accounts_for_every_row_once_and_never_panics(
        rows in prop::collection::vec(row(), 0..12),
        stored in profiles(),
        params in params(),
        today in today(),
    ) {
        let count = rows.len();
        let plan = plan(rows, map(), &params, stored, today).expect("a plan from held documents");
        let s = &plan.summary;
        prop_assert_eq!(s.rows, count);
        prop_assert!(s.skipped.iter().chain(&s.warnings).all(|r| !r.trim().is_empty()));
        prop_assert!(s.orphans <= s.known_people);
        prop_assert!(s.orphans <= plan.events.len());
        let dropped: usize = s.dropped.values().sum();
        prop_assert_eq!(s.skipped.len() + dropped + plan.events.len() - s.orphans, count);
        for event in &plan.events {
            prop_assert!(event.user_profile().is_some());
        }
    }

    #[test]
    fn the_removal_guard_holds_exactly_above_the_share(
        terminations in any::<usize>(),
        orphans in any::<usize>(),
        known in any::<usize>(),
        max_percent in 0u8..=100,
        approved in any::<bool>(),
    ) {
        let guard = RemovalGuard { max_percent, approved };
        let removed = terminations as u128 + orphans as u128;
        let over = removed > 1 && removed * 100 > u128::from(max_percent) * (known as u128);
        match guard.check("hr", Removals { terminations, orphans }, known) {
            Ok(()) => prop_assert!(approved || !over),
            Err(hold) => {
                prop_assert!(!approved && over);
                prop_assert!(hold.to_string().contains("--approve-removals"));
            }
        }
    }
}
