//! Workday classification throughput (issue 5): a generated report of `ILM_BENCH_ROWS`
//! rows (default 100,000) against as many stored profiles, with the default change mix of
//! `ilm::fetch::generate`. Prints one timed run per stage, then measures report parsing,
//! normalization and the dry-run plan (normalize + look up + classify every row + orphans;
//! goal ≥ 20,000 rows/s) with criterion.

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ilm::fetch::generate::{generate, Mix};
use ilm::fetch::{
    classify, orphan_events, Decision, IncomingMap, ProfileIndex, ReportMatches, WorkdayParams,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

struct Setup {
    map: IncomingMap,
    params: WorkdayParams,
    today: NaiveDate,
    rows: Vec<Value>,
    report: String,
    index: ProfileIndex<'static>,
}

fn setup() -> Setup {
    let count = std::env::var("ILM_BENCH_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../playbooks/mappers/workday-incoming.toml");
    let map = IncomingMap::load(&path).expect("the shipped map");
    let params = WorkdayParams::default();
    let today = NaiveDate::from_ymd_opt(2025, 1, 15).expect("date");
    let generated = generate(count, &Mix::default(), &map, &params, today).expect("generate");
    Setup {
        report: generated.report_json(),
        index: ProfileIndex::new(generated.stored, &map),
        rows: generated.rows,
        map,
        params,
        today,
    }
}

fn parse(report: &str) -> Vec<Value> {
    let mut body: Value = serde_json::from_str(report).expect("report JSON");
    match body["Report_Entry"].take() {
        Value::Array(rows) => rows,
        _ => Vec::new(),
    }
}

/// The dry-run plan: what a fetch decides for every row, counted by outcome.
fn plan(setup: &Setup, rows: Vec<Value>) -> BTreeMap<String, usize> {
    let index = &setup.index;
    let mut outcomes = BTreeMap::new();
    let mut matches = ReportMatches::default();
    for raw in rows {
        let outcome = match setup.map.normalize(raw, &setup.params) {
            Err(_) => "malformed".to_owned(),
            Ok(row) => {
                let user = index.find(row.employee_id(), row.email());
                if let Some(user) = user {
                    matches.record(user);
                }
                match classify(&row, user, index, &setup.params, setup.today) {
                    Ok(Decision::Event(event)) => event.incident_type.name().to_owned(),
                    Ok(Decision::Drop(reason)) => format!("drop: {}", reason.code()),
                    Err(err) => format!("failed: {err:#}"),
                }
            }
        };
        *outcomes.entry(outcome).or_insert(0) += 1;
    }
    let mut orphans = 0;
    for event in orphan_events(index, &matches, &setup.params) {
        event.expect("held documents");
        orphans += 1;
    }
    *outcomes
        .entry("orphans (IAM - Terminate User)".into())
        .or_insert(0) += orphans;
    outcomes
}

fn timed<T>(work: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = work();
    (out, start.elapsed())
}

/// One timed run of each stage of a fetch's plan, so the figures show up plainly.
fn report_figures(setup: &Setup) {
    let n = setup.rows.len();
    let show = |stage: &str, elapsed: Duration| {
        let rate = n as f64 / elapsed.as_secs_f64();
        eprintln!("  {stage:<36} {elapsed:>9.2?}  {rate:>9.0} rows/s");
    };
    eprintln!(
        "\n{n} rows, {} stored profiles, report {:.1} MiB",
        setup.index.profiles().len(),
        setup.report.len() as f64 / (1024.0 * 1024.0)
    );
    let (rows, elapsed) = timed(|| parse(&setup.report));
    show("parse report JSON", elapsed);
    let normalize = |rows: Vec<Value>| {
        rows.into_iter()
            .filter_map(|raw| setup.map.normalize(raw, &setup.params).ok())
            .collect::<Vec<_>>()
    };
    let (normalized, elapsed) = timed(|| normalize(rows));
    show("normalize", elapsed);
    let index = &setup.index;
    let ((decisions, matches), elapsed) = timed(|| {
        let mut matches = ReportMatches::default();
        let decisions: Vec<Decision> = normalized
            .iter()
            .map(|row| {
                let user = index.find(row.employee_id(), row.email());
                if let Some(user) = user {
                    matches.record(user);
                }
                classify(row, user, index, &setup.params, setup.today).expect("held documents")
            })
            .collect();
        (decisions, matches)
    });
    show("find + classify", elapsed);
    let (_, elapsed) = timed(|| orphan_events(index, &matches, &setup.params));
    show("orphans", elapsed);
    let (_, elapsed) = timed(|| drop((normalized, decisions)));
    show("free rows and decisions", elapsed);
    let (outcomes, elapsed) = timed(|| plan(setup, parse(&setup.report)));
    show("all: parse + plan", elapsed);
    for (outcome, count) in &outcomes {
        eprintln!("    {outcome}: {count}");
    }
}

fn benches(c: &mut Criterion) {
    let setup = setup();
    report_figures(&setup);
    let mut group = c.benchmark_group("workday");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(setup.rows.len() as u64));
    group.bench_function("parse report JSON", |b| b.iter(|| parse(&setup.report)));
    group.bench_function("normalize", |b| {
        b.iter_batched(
            || setup.rows.clone(),
            |rows| {
                rows.into_iter()
                    .filter_map(|raw| setup.map.normalize(raw, &setup.params).ok())
                    .count()
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("plan", |b| {
        b.iter_batched(
            || setup.rows.clone(),
            |rows| plan(&setup, rows),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("parse + plan", |b| {
        b.iter(|| plan(&setup, parse(&setup.report)))
    });
    group.finish();
}

criterion_group!(classify_benches, benches);
criterion_main!(classify_benches);
