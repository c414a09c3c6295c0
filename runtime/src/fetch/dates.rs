//! Report dates: the instance's `strftime` date format, compiled once, and the `MM/DD/YYYY`
//! form every profile keeps.

use chrono::format::{parse, Item, Parsed, StrftimeItems};
use chrono::{Datelike, NaiveDate};
use std::fmt::{self, Write};

/// A compiled date format (the `workday_date_format` parameter, default `%m/%d/%Y`).
#[derive(Clone)]
pub struct DateFormat {
    spec: String,
    items: Vec<Item<'static>>,
}

impl DateFormat {
    /// Compiles `spec`; it must name a day, a month and a year, or no date could be read.
    pub fn new(spec: &str) -> Result<Self, String> {
        let items = StrftimeItems::new(spec)
            .parse_to_owned()
            .map_err(|_| format!("{spec:?} is not a valid date format"))?;
        let format = Self {
            spec: spec.to_owned(),
            items,
        };
        // A round trip proves the format holds a full date (e.g. "%m/%Y" would not).
        let probe = NaiveDate::from_ymd_opt(2001, 2, 3).expect("a valid date");
        if format.parse(&format.format(probe)) != Some(probe) {
            return Err(format!(
                "{spec:?} does not read back a full date (it needs a day, a month and a year, e.g. %m/%d/%Y)"
            ));
        }
        Ok(format)
    }

    /// The date in `text`, or `None` when `text` does not match the format.
    pub fn parse(&self, text: &str) -> Option<NaiveDate> {
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, self.items.iter()).ok()?;
        parsed.to_naive_date().ok()
    }

    /// `date` written in this format.
    pub fn format(&self, date: NaiveDate) -> String {
        date.format_with_items(self.items.iter()).to_string()
    }

    pub fn as_str(&self) -> &str {
        &self.spec
    }
}

impl Default for DateFormat {
    fn default() -> Self {
        Self::new("%m/%d/%Y").expect("the default date format compiles")
    }
}

impl fmt::Debug for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DateFormat").field(&self.spec).finish()
    }
}

/// Appends `date` as profiles store it: `MM/DD/YYYY`.
pub fn push_profile_date(out: &mut String, date: NaiveDate) {
    // Writing to a String cannot fail.
    let _ = write!(
        out,
        "{:02}/{:02}/{:04}",
        date.month(),
        date.day(),
        date.year()
    );
}
