//! Time arithmetic without a clock: a guest has none, so every instant is derived from
//! the `now` the host passes to a fetch. Instants are whole seconds since 1970-01-01 UTC;
//! text is RFC 3339 in UTC (`YYYY-MM-DDTHH:MM:SSZ`), the proleptic Gregorian calendar.
//!
//! ```
//! use ilm_plugin_sdk::time::{format_rfc3339, parse_relative, parse_rfc3339};
//! let now = parse_rfc3339("2025-01-15T10:00:00+02:00").unwrap();
//! let since = now - parse_relative("3 days").unwrap();
//! assert_eq!(format_rfc3339(since), "2025-01-12T08:00:00Z");
//! ```

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Seconds since the epoch of an RFC 3339 time such as `2025-01-15T10:00:00.123Z` or
/// `2025-01-15T12:00:00+02:00`; fractions of a second are dropped. `None` when it is not
/// one.
///
/// ```
/// use ilm_plugin_sdk::time::parse_rfc3339;
/// assert_eq!(parse_rfc3339("1970-01-02T00:00:00.5Z"), Some(86_400));
/// assert_eq!(parse_rfc3339("2021-02-30T00:00:00Z"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let year = number(date.get(0..4)?)?;
    let month = number(date.get(5..7)?)?;
    let day = number(date.get(8..10)?)?;
    if date.get(4..5) != Some("-") || date.get(7..8) != Some("-") {
        return None;
    }
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let hour = number(rest.get(0..2)?)?;
    let minute = number(rest.get(3..5)?)?;
    let second = number(rest.get(6..8)?)?;
    if rest.get(2..3) != Some(":") || rest.get(5..6) != Some(":") {
        return None;
    }
    // A leap second (60) is accepted as the next second's start.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut zone = rest.get(8..)?;
    if let Some(fraction) = zone.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        zone = &fraction[digits..];
    }
    let offset = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = match zone.get(0..1)? {
                "+" => 1,
                "-" => -1,
                _ => return None,
            };
            if zone.len() != 6 || zone.get(3..4) != Some(":") {
                return None;
            }
            let hours = number(zone.get(1..3)?)?;
            let minutes = number(zone.get(4..6)?)?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * HOUR + minutes * MINUTE)
        }
    };
    let days = days_from_civil(year, month, day);
    Some(days * DAY + hour * HOUR + minute * MINUTE + second - offset)
}

/// An instant as `YYYY-MM-DDTHH:MM:SSZ`.
///
/// ```
/// assert_eq!(ilm_plugin_sdk::time::format_rfc3339(1_609_459_200), "2021-01-01T00:00:00Z");
/// ```
pub fn format_rfc3339(seconds: i64) -> String {
    let days = seconds.div_euclid(DAY);
    let in_day = seconds.rem_euclid(DAY);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        in_day / HOUR,
        in_day % HOUR / MINUTE,
        in_day % MINUTE
    )
}

/// The length in seconds of a relative time such as `0 minutes`, `12 hours` or `3 days`
/// (singular or plural; `min`/`mins` too). The error says what is accepted.
///
/// ```
/// use ilm_plugin_sdk::time::parse_relative;
/// assert_eq!(parse_relative("12 hours"), Ok(12 * 3600));
/// assert!(parse_relative("soon").is_err());
/// ```
pub fn parse_relative(text: &str) -> Result<i64, String> {
    let bad = || {
        format!(
            "{text:?} is not a relative time: write a whole number and a unit, e.g. \"10 minutes\", \"12 hours\" or \"3 days\""
        )
    };
    let mut words = text.split_whitespace();
    let (Some(amount), Some(unit), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
    let amount: i64 = amount.parse().map_err(|_| bad())?;
    if amount < 0 {
        return Err(bad());
    }
    let unit = match unit.to_ascii_lowercase().as_str() {
        "minute" | "minutes" | "min" | "mins" => MINUTE,
        "hour" | "hours" => HOUR,
        "day" | "days" => DAY,
        "week" | "weeks" => 7 * DAY,
        _ => return Err(bad()),
    };
    amount.checked_mul(unit).ok_or_else(bad)
}

fn number(text: &str) -> Option<i64> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59Z",
            "2025-01-15T10:00:00Z",
            "1969-12-31T23:59:59Z",
            "2100-03-01T00:00:00Z",
        ] {
            let seconds = parse_rfc3339(text).expect(text);
            assert_eq!(format_rfc3339(seconds), text);
        }
        assert_eq!(parse_rfc3339("1970-01-02T00:00:00Z"), Some(DAY));
    }

    #[test]
    fn fractions_and_offsets_are_understood() {
        let base = parse_rfc3339("2021-12-13T01:47:08Z");
        assert_eq!(parse_rfc3339("2021-12-13T01:47:08.556Z"), base);
        assert_eq!(parse_rfc3339("2021-12-13T03:47:08+02:00"), base);
        assert_eq!(parse_rfc3339("2021-12-12T23:47:08.1-02:00"), base);
    }

    #[test]
    fn malformed_times_are_refused() {
        for text in [
            "",
            "2021-12-13",
            "2021-12-13T01:47:08",
            "2021-02-30T00:00:00Z",
            "2021-13-01T00:00:00Z",
            "2021-12-13T24:00:00Z",
            "2021-12-13T01:47:08.Z",
            "2021-12-13T01:47:08+0200",
            "2021/12/13T01:47:08Z",
            "+021-12-13T01:47:08Z",
            "2021-12-13T01:47:08Zjunk",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text}");
        }
    }

    #[test]
    fn relative_times_in_minutes_hours_days() {
        assert_eq!(parse_relative("0 minutes"), Ok(0));
        assert_eq!(parse_relative("1 minute"), Ok(60));
        assert_eq!(parse_relative(" 12  Hours "), Ok(12 * HOUR));
        assert_eq!(parse_relative("3 days"), Ok(3 * DAY));
        assert_eq!(parse_relative("2 weeks"), Ok(14 * DAY));
        for bad in [
            "",
            "3",
            "days",
            "-1 days",
            "3 fortnights",
            "1.5 hours",
            "3 days ago",
        ] {
            let err = parse_relative(bad).expect_err(bad);
            assert!(err.contains("relative time"), "{err}");
        }
    }
}
