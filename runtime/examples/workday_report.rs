//! Writes a generated Workday report for load tests: `workday_report ROWS DIR` writes
//! `DIR/current.json` (ROWS rows with the default change mix) and `DIR/previous.json` (the
//! report a previous fetch read: a first-run sync of it stores the profiles `current.json`
//! is compared with). Rows look like a real report, about 1.4 KB each. `scripts/bench-fetch`
//! uses it.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use ilm::fetch::generate::{write_reports, Mix};
use ilm::fetch::DateFormat;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: workday_report ROWS DIR";
    let rows: usize = args
        .next()
        .context(usage)?
        .parse()
        .context("ROWS is a whole number")?;
    let dir = PathBuf::from(args.next().context(usage)?);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let open = |name: &str| -> Result<BufWriter<File>> {
        let path = dir.join(name);
        Ok(BufWriter::new(
            File::create(&path).with_context(|| format!("creating {}", path.display()))?,
        ))
    };
    let (mut current, mut previous) = (open("current.json")?, open("previous.json")?);
    let today = NaiveDate::from_ymd_opt(2025, 1, 15).context("the report date")?;
    write_reports(
        rows,
        &Mix::default(),
        &DateFormat::default(),
        today,
        &mut current,
        &mut previous,
    )?;
    current.flush()?;
    previous.flush()?;
    Ok(())
}
