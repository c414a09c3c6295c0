//! The store's clock functions on SQLite, the same names and formats PostgreSQL's schema
//! defines (`postgres/V1__schema.sql`), so one query text serves both: `ilm_now()` and
//! `ilm_now_ms()` (UTC, RFC 3339, whole seconds or milliseconds), `ilm_after(seconds)` and
//! `ilm_after_ms(seconds)` (that far from now), `ilm_today()` (`YYYY-MM-DD`).

use chrono::{DateTime, Utc};
use rusqlite::functions::FunctionFlags;
use rusqlite::Connection;
use std::time::{Duration, SystemTime};

const SECONDS: &str = "%Y-%m-%dT%H:%M:%SZ";
const MILLISECONDS: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

pub(super) fn register(conn: &Connection) -> rusqlite::Result<()> {
    let flags = FunctionFlags::SQLITE_UTF8;
    conn.create_scalar_function("ilm_now", 0, flags, |_| Ok(at(0.0, SECONDS)))?;
    conn.create_scalar_function("ilm_now_ms", 0, flags, |_| Ok(at(0.0, MILLISECONDS)))?;
    conn.create_scalar_function("ilm_after", 1, flags, |ctx| {
        Ok(at(ctx.get::<f64>(0)?, SECONDS))
    })?;
    conn.create_scalar_function("ilm_after_ms", 1, flags, |ctx| {
        Ok(at(ctx.get::<f64>(0)?, MILLISECONDS))
    })?;
    conn.create_scalar_function("ilm_today", 0, flags, |_| Ok(at(0.0, "%Y-%m-%d")))?;
    Ok(())
}

/// Now plus `seconds` (which may be negative), formatted.
fn at(seconds: f64, format: &str) -> String {
    let now = SystemTime::now();
    let shifted = if seconds >= 0.0 {
        now.checked_add(Duration::from_secs_f64(seconds.min(1e12)))
    } else {
        now.checked_sub(Duration::from_secs_f64((-seconds).min(1e12)))
    };
    DateTime::<Utc>::from(shifted.unwrap_or(now))
        .format(format)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::register;

    #[test]
    fn the_clock_functions_format_as_sqlite_strftime_does() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        register(&conn).unwrap();
        let (now, strftime, later, ms): (String, String, String, String) = conn
            .query_row(
                "SELECT ilm_now(), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ilm_after(3600),
                        ilm_now_ms()",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(now.len(), strftime.len());
        assert!(later > now, "{later} should be after {now}");
        assert_eq!(ms.len(), "2026-01-01T00:00:00.000Z".len(), "{ms}");
        assert!(ms.starts_with(&now[..16]) || ms > now);
    }
}
