//! The HR report source (Workday): read the whole report through the plugin, classify every
//! row against the stored profiles with the editable incoming map.

use super::{FetchOptions, Fetched};
use crate::fetch::{Fetch, IncomingMap, RemovalGuard, WorkdayParams, DEFAULT_MAX_REMOVAL_PERCENT};
use crate::integrations::Integrations;
use anyhow::{Context, Result};
use serde_json::{json, Value};
use std::path::Path;

/// The report's incoming map, read afresh so an administrator's edit applies at once.
pub fn incoming_map(path: &Path) -> Result<IncomingMap> {
    IncomingMap::load(path).with_context(|| format!("the incoming map {}", path.display()))
}

pub(super) fn fetch(
    integrations: &Integrations,
    instance: &str,
    options: &FetchOptions,
) -> Result<Fetched> {
    let plugin = integrations.plugin_of(instance)?;
    let map = incoming_map(
        &options
            .mappers_dir
            .join(format!("{}-incoming.toml", plugin.manifest.name)),
    )?;
    let params = integrations.params(instance)?;
    let workday = WorkdayParams::from_instance(&params).map_err(|e| {
        anyhow::anyhow!("instance {instance:?}: parameter {}: {}", e.name, e.problem)
    })?;
    let number =
        |name: &str, default: i64| params.get(name).and_then(Value::as_i64).unwrap_or(default);
    // The parameter keeps its first name; it now bounds terminations and orphans together.
    let max_orphan_percent = number("max_orphan_percent", DEFAULT_MAX_REMOVAL_PERCENT.into());
    let removal_guard = RemovalGuard {
        max_percent: u8::try_from(max_orphan_percent)
            .ok()
            .filter(|percent| *percent <= 100)
            .with_context(|| {
                format!(
                    "instance {instance:?}: parameter max_orphan_percent: {max_orphan_percent} is not a percentage from 0 to 100"
                )
            })?,
        approved: options.approve_removals,
    };
    let bar = indicatif::ProgressBar::new(0).with_style(
        indicatif::ProgressStyle::with_template("first-run sync {bar:40} {pos}/{len} profiles")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let fetch = Fetch {
        store: integrations.store,
        instance,
        map: &map,
        params: &workday,
        max_fetch: number("max_fetch", 50).max(1) as usize,
        first_run: params
            .get("first_run")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        removal_guard,
        today: options.today,
        progress: &progress,
    };
    let read_report = || -> Result<String> {
        let state = json!({"now": integrations.store.now_utc()?, "cursor": null}).to_string();
        let (mut records, _) = integrations.fetch(instance, &state)?;
        records
            .pop()
            .with_context(|| format!("{instance} returned no report"))
    };
    let outcome = if options.dry_run {
        Fetched::ReportPlan(fetch.dry_run(&read_report()?)?)
    } else {
        Fetched::Report(fetch.run(read_report)?)
    };
    bar.finish_and_clear();
    Ok(outcome)
}
