//! Shared pieces of the property tests: a case count that keeps CI fast unless
//! `PROPTEST_CASES` asks for a long run, and strategies for the hostile JSON a report or an
//! app can send (odd text, long text, deep nesting, every JSON type where text is expected).

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Map, Value};

/// `cases` per property, or `PROPTEST_CASES` when set (a long local run).
pub fn config(cases: u32) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    config
}

/// Text as reports and apps send it, usual and not: any characters, addresses, dates,
/// statuses, and text far longer than any field should be.
pub fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,24}",
        "[A-Za-z0-9._%+'-]{1,12}@[a-z0-9-]{1,10}\\.[a-z]{2,4}",
        "(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/(19|20)[0-9]{2}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}",
        prop::sample::select(vec![
            "",
            " ",
            "Active",
            "Terminated",
            "True",
            "False",
            "Yes",
            "No",
            "Pending",
            "Enabled",
            "Disabled",
            "42",
            "a@b",
            "@",
            "\u{0}",
            "(",
            "*)(uid=*",
        ])
        .prop_map(str::to_owned),
        (1000usize..3000).prop_map(|n| "é".repeat(n / 2)),
    ]
}

/// Any JSON value, text-heavy, nested a few levels.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter_map("finite numbers only", |f| {
            serde_json::Number::from_f64(f).map(Value::Number)
        }),
        text().prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((".{0,8}", inner), 0..4)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// An object whose keys are mostly `keys` (so the code under test reads them) and whose
/// values are any JSON.
pub fn object_with(keys: &'static [&'static str]) -> impl Strategy<Value = Map<String, Value>> {
    let key = prop_oneof![
        4 => prop::sample::select(keys).prop_map(str::to_owned),
        1 => ".{0,10}",
    ];
    prop::collection::vec((key, json()), 0..(keys.len() + 3))
        .prop_map(|pairs| pairs.into_iter().collect())
}
