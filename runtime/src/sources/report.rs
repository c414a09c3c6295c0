//! The HR report source (Workday): stream the report row by row and classify every row
//! against the stored profiles with the editable incoming map. A plugin whose manifest has
//! a `[report]` request is never handed the body: the host sends the request and parses the
//! body as it arrives. An older plugin returns the whole body from its `fetch`.

use super::{FetchOptions, Fetched};
use crate::fetch::{
    read_rows, Fetch, IncomingMap, PrepareRow, ReadRow, RemovalGuard, ReportLimits, WorkdayParams,
    DEFAULT_MAX_REMOVAL_PERCENT,
};
use crate::integrations::Integrations;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::Read;
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
    // The profiles are written as the report streams in, so their number is not known
    // until its end: a counter, not a bar.
    let bar = indicatif::ProgressBar::new_spinner().with_style(
        indicatif::ProgressStyle::with_template(
            "first-run sync {spinner} {pos} profiles written ({per_sec})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    let progress = |done: usize| bar.set_position(done as u64);
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
    let limits = ReportLimits::from_instance(&params).map_err(|e| {
        anyhow::anyhow!("instance {instance:?}: parameter {}: {}", e.name, e.problem)
    })?;
    let read_report =
        |prepare: &PrepareRow<ReadRow>, on_row: &mut dyn FnMut(ReadRow)| -> Result<usize> {
            let rows = match integrations.open_report(instance)? {
                Some(response) => read_response(response, &limits, prepare, on_row)?,
                None => {
                    let state =
                        json!({"now": integrations.store.now_utc()?, "cursor": null}).to_string();
                    let (mut records, _) = integrations.fetch(instance, &state)?;
                    let body = records
                        .pop()
                        .with_context(|| format!("{instance} returned no report"))?;
                    read_rows(body.as_bytes(), &limits, prepare, on_row)?
                }
            };
            Ok(rows)
        };
    let outcome = if options.dry_run {
        Fetched::ReportPlan(fetch.dry_run(&read_report, options.on_planned)?)
    } else {
        Fetched::Report(fetch.run(&read_report)?)
    };
    bar.finish_and_clear();
    Ok(outcome)
}

/// Streams the rows of a report response, refusing it before any row when its declared
/// size is over the limit.
fn read_response(
    response: reqwest::blocking::Response,
    limits: &ReportLimits,
    prepare: &PrepareRow<ReadRow>,
    on_row: &mut dyn FnMut(ReadRow),
) -> Result<usize> {
    let status = response.status().as_u16();
    match status {
        200 => {}
        // No content: a report without rows (the removal guard stops a mass removal).
        204 => return Ok(0),
        401 | 403 => bail!(
            "the report service refused the credentials (HTTP {status}); check the instance's \
             username and password"
        ),
        _ => {
            let mut start = Vec::new();
            // Only for the message: a body that cannot be read quotes nothing.
            let _ = response.take(ERROR_QUOTE_BYTES).read_to_end(&mut start);
            bail!(
                "the report service answered HTTP {status}: {}",
                String::from_utf8_lossy(&start)
                    .chars()
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect::<String>()
            )
        }
    }
    if let Some(refused) = response.content_length().and_then(|n| limits.refuse(n)) {
        return Err(refused.into());
    }
    Ok(read_rows(response, limits, prepare, on_row)?)
}

/// How much of an error answer's body a message quotes.
const ERROR_QUOTE_BYTES: u64 = 200;
