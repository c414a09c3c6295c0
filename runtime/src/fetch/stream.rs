//! Reading a report body as a stream, row by row: the body is scanned from a reader and
//! each `Report_Entry` row is parsed on its own as it arrives, so a report of any size
//! takes the memory of one row. The whole body is checked to its end before the caller
//! writes anything: a body that breaks off or grows past `max_report_mib` fails the fetch.
//! A row larger than `max_row_bytes` is not parsed; the stream goes on and the row is
//! handed on as [`RawRow::Oversized`] with the columns that fitted, for its identity.
//! Scanning and each row's preparation (a fetch parses and normalizes it) run on a thread
//! of their own, a few hundred rows ahead of the caller, so a fetch classifies one row
//! while the next is read.

use super::report::not_a_report;
use super::{params, values};
use serde_json::{Map, Value};
use std::io::{ErrorKind, Read};
use std::sync::mpsc::sync_channel;

/// How much of a value outside the rows (an error answer, say) is kept to describe it.
const KEPT_OUTSIDE_ROWS: usize = 64 << 10;

/// How much the scanner reads from the body at once.
const CHUNK: usize = 256 << 10;

/// Rows pass between the threads in batches of this many: one row at a time, waking the
/// other thread took ~10 % of a fetch in futex calls and context switches.
const ROWS_PER_BATCH: usize = 64;

/// How many batches may wait for each preparing thread, and for the caller from each
/// (rows are a few KB each).
const BATCHES_AHEAD: usize = 4;

/// The default `max_report_mib`: room for a million rows of realistic width.
pub const DEFAULT_MAX_REPORT_MIB: u64 = 4096;

/// The default `max_row_bytes`: dozens of times a realistic row (about 1.5 KB).
pub const DEFAULT_MAX_ROW_BYTES: usize = 64 << 10;

/// The size limits of one report.
#[derive(Debug, Clone, Copy)]
pub struct ReportLimits {
    /// `max_report_mib`, in bytes.
    pub max_bytes: u64,
    /// `max_row_bytes`.
    pub max_row_bytes: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_REPORT_MIB << 20,
            max_row_bytes: DEFAULT_MAX_ROW_BYTES,
        }
    }
}

impl ReportLimits {
    /// Reads `max_report_mib` and `max_row_bytes` from an instance's parameters.
    pub fn from_instance(params: &Map<String, Value>) -> Result<Self, params::ParamError> {
        let mut out = Self::default();
        if let Some(mib) = params::whole_number(params, "max_report_mib", "MiB")? {
            out.max_bytes = mib << 20;
        }
        if let Some(bytes) = params::whole_number(params, "max_row_bytes", "bytes")? {
            out.max_row_bytes = bytes as usize;
        }
        Ok(out)
    }

    /// Why a report of `length` bytes is refused, when it is: its size is known (from
    /// `Content-Length`) before any row is read.
    pub fn refuse(&self, length: u64) -> Option<ReadError> {
        (length > self.max_bytes).then_some(ReadError::TooLarge {
            limit_mib: self.max_bytes >> 20,
        })
    }
}

/// One row as the stream gives it.
#[derive(Debug, Clone, PartialEq)]
pub enum RawRow {
    Row(Value),
    /// A row's JSON text, checked to be JSON.
    Text(String),
    /// A row larger than `max_row_bytes`: not used. `partial` holds the columns that fitted
    /// within the limit (an empty object when none did), so the row can still be matched to
    /// its person and is not taken for a leaver.
    Oversized {
        partial: Value,
        bytes: u64,
        limit: usize,
    },
}

/// Why a report could not be read. Nothing has been written when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(
        "the report is larger than max_report_mib ({limit_mib} MiB); nothing was changed. \
         Raise the instance's max_report_mib if the report is really this large"
    )]
    TooLarge { limit_mib: u64 },
    #[error(
        "the report broke off after {at} bytes, before its end; nothing was changed. \
         Fetch again"
    )]
    Ended { at: u64 },
    #[error("reading the report failed after {at} bytes: {error}; nothing was changed")]
    Io { at: u64, error: std::io::Error },
    #[error("the report is not JSON ({problem}, near byte {at})")]
    Syntax { at: u64, problem: String },
    /// A body that is JSON but not a report (an error answer, say).
    #[error("{0}")]
    NotAReport(String),
}

/// A row's text that is not JSON, and why: the report is not JSON, and the fetch fails.
#[derive(Debug)]
pub struct NotJson(pub String);

/// What is made of each row before the caller gets it (a fetch parses and normalizes it).
/// It runs on threads beside the caller's, several rows at once: the scanner only finds
/// where a row ends, and parsing the row's text is this step's job.
pub type PrepareRow<'p, T> = dyn Fn(RawRow) -> Result<T, NotJson> + Sync + 'p;

/// Streams the rows of a report body (`{"Report_Entry": [...]}`) from `reader` through
/// `prepare` to `on_row`, in the report's order, and returns how many there were. Only a
/// JSON object with a `Report_Entry` array is a report; the error for any other body says
/// what it was.
///
/// One thread scans and hands batches of rows, in turn, to the preparing threads; the
/// caller takes the prepared batches back in the same turn, so the order holds.
pub fn read_rows<T: Send>(
    reader: impl Read + Send,
    limits: &ReportLimits,
    prepare: &PrepareRow<T>,
    on_row: &mut dyn FnMut(T),
) -> Result<usize, ReadError> {
    let mut scanner = Scanner {
        reader,
        buf: vec![0; CHUNK],
        start: 0,
        end: 0,
        read: 0,
        limits: *limits,
    };
    let workers = super::threads_up_to(MAX_PREPARING_THREADS);
    std::thread::scope(|scope| {
        let mut to_workers = Vec::with_capacity(workers);
        let mut from_workers = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (to_worker, scanned) = sync_channel::<Vec<(RawRow, RowPlace)>>(BATCHES_AHEAD);
            let (to_caller, prepared) = sync_channel::<Prepared<T>>(BATCHES_AHEAD);
            to_workers.push(to_worker);
            from_workers.push(prepared);
            scope.spawn(move || {
                for batch in scanned {
                    if to_caller.send(prepare_batch(prepare, batch)).is_err() {
                        return; // the caller stopped at an error
                    }
                }
            });
        }
        let scanning = scope.spawn(move || {
            let mut batch = Vec::with_capacity(ROWS_PER_BATCH);
            let mut sent = 0;
            // A send fails only when the caller has stopped; the scan still ends.
            let mut hand_out = |batch| {
                drop(to_workers[sent % workers].send(batch));
                sent += 1;
            };
            let read = scanner.report(&mut |row, place| {
                batch.push((row, place));
                if batch.len() == ROWS_PER_BATCH {
                    hand_out(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(ROWS_PER_BATCH),
                    ));
                }
            });
            // The last rows, even when the report failed after them: the caller counts
            // them before it learns of the failure, as it would one at a time.
            if !batch.is_empty() {
                hand_out(batch);
            }
            read
        });
        let mut failed = None;
        for turn in 0.. {
            let Ok(prepared) = from_workers[turn % workers].recv() else {
                break; // no batch has this turn: the scan is over
            };
            prepared.rows.into_iter().for_each(&mut *on_row);
            if let Some(error) = prepared.failed {
                failed = Some(error);
                break;
            }
        }
        drop(from_workers);
        let read = scanning
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match failed {
            Some(error) => Err(error),
            None => read,
        }
    })
}

/// More preparing threads than this wait on the scanner.
const MAX_PREPARING_THREADS: usize = 4;

/// Where a row is in the body, for its error.
#[derive(Debug, Clone, Copy)]
struct RowPlace {
    at: u64,
    /// 1 for the first row.
    number: usize,
}

/// A batch of rows prepared, up to the first that failed.
struct Prepared<T> {
    rows: Vec<T>,
    failed: Option<ReadError>,
}

fn prepare_batch<T>(prepare: &PrepareRow<T>, batch: Vec<(RawRow, RowPlace)>) -> Prepared<T> {
    let mut rows = Vec::with_capacity(batch.len());
    for (row, place) in batch {
        match prepare(row) {
            Ok(row) => rows.push(row),
            Err(NotJson(problem)) => {
                return Prepared {
                    rows,
                    failed: Some(ReadError::Syntax {
                        at: place.at,
                        problem: format!("row {}: {problem}", place.number),
                    }),
                }
            }
        }
    }
    Prepared { rows, failed: None }
}

/// Hands a row on, with its place.
type OnRow<'r> = dyn FnMut(RawRow, RowPlace) + 'r;

struct Scanner<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes read from the body so far.
    read: u64,
    limits: ReportLimits,
}

/// What scanning one value found.
struct Scanned {
    bytes: u64,
    /// Whether all of it was kept.
    whole: bool,
    /// For an object: how much of what was kept ends with a whole member.
    members_end: Option<usize>,
}

impl<R: Read> Scanner<R> {
    /// The position in the body of the next byte.
    fn at(&self) -> u64 {
        self.read - (self.end - self.start) as u64
    }

    /// Makes sure a byte is buffered; `false` at the end of the body.
    fn fill(&mut self) -> Result<bool, ReadError> {
        if self.start < self.end {
            return Ok(true);
        }
        loop {
            match self.reader.read(&mut self.buf) {
                Ok(0) => return Ok(false),
                Ok(n) => {
                    self.start = 0;
                    self.end = n;
                    self.read += n as u64;
                    if self.read > self.limits.max_bytes {
                        return Err(ReadError::TooLarge {
                            limit_mib: self.limits.max_bytes >> 20,
                        });
                    }
                    return Ok(true);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A body cut short of its Content-Length is a transfer that broke off.
                Err(e) if e.kind() == ErrorKind::UnexpectedEof => {
                    return Err(ReadError::Ended { at: self.read })
                }
                Err(error) => {
                    return Err(ReadError::Io {
                        at: self.read,
                        error,
                    })
                }
            }
        }
    }

    /// The next byte that is not whitespace, left unread; `None` at the end of the body.
    fn peek(&mut self) -> Result<Option<u8>, ReadError> {
        while self.fill()? {
            match self.buf[self.start..self.end]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
            {
                Some(i) => {
                    self.start += i;
                    return Ok(Some(self.buf[self.start]));
                }
                None => self.start = self.end,
            }
        }
        Ok(None)
    }

    /// The next byte that is not whitespace; the body must go on.
    fn next(&mut self) -> Result<u8, ReadError> {
        let byte = self.peek()?.ok_or(ReadError::Ended { at: self.read })?;
        self.start += 1;
        Ok(byte)
    }

    fn expect(&mut self, wanted: u8, what: &str) -> Result<(), ReadError> {
        let at = self.at();
        match self.next()? {
            byte if byte == wanted => Ok(()),
            byte => Err(ReadError::Syntax {
                at,
                problem: format!("expected {what}, found {:?}", byte as char),
            }),
        }
    }

    fn report(&mut self, on_row: &mut OnRow) -> Result<usize, ReadError> {
        if self.peek()? != Some(b'{') {
            return Err(self.not_an_object());
        }
        self.start += 1;
        let mut kept = Vec::new();
        let mut others = Map::new();
        let mut rows = None;
        loop {
            match self.peek()? {
                Some(b'}') => break,
                Some(b',') => {
                    self.start += 1;
                    continue;
                }
                Some(b'"') => {}
                Some(byte) => {
                    return Err(ReadError::Syntax {
                        at: self.at(),
                        problem: format!("expected a key, found {:?}", byte as char),
                    })
                }
                None => return Err(ReadError::Ended { at: self.read }),
            }
            let key = match self.kept_value(&mut kept)? {
                Value::String(key) => key,
                other => other.to_string(),
            };
            self.expect(b':', "':' after a key")?;
            if key == "Report_Entry" && self.peek()? == Some(b'[') {
                rows = Some(self.rows(on_row)?);
            } else if key == "Report_Entry" {
                let value = self.kept_value(&mut kept)?;
                return Err(ReadError::NotAReport(format!(
                    "the report's Report_Entry is {}, not an array of rows; nothing was changed",
                    values::json_type(&value)
                )));
            } else {
                let value = self.kept_value(&mut kept)?;
                others.insert(key, value);
            }
        }
        self.start += 1;
        if self.peek()?.is_some() {
            return Err(ReadError::Syntax {
                at: self.at(),
                problem: "text after the report's end".to_owned(),
            });
        }
        rows.ok_or_else(|| ReadError::NotAReport(not_a_report(&others)))
    }

    /// Why a body that does not start as an object is not a report, from its first bytes.
    fn not_an_object(&mut self) -> ReadError {
        let mut start = Vec::new();
        let read = (&mut self.reader)
            .take(KEPT_OUTSIDE_ROWS as u64)
            .read_to_end(&mut start);
        let mut body = self.buf[self.start..self.end].to_vec();
        body.extend(start);
        match (read, serde_json::from_slice::<Value>(&body)) {
            (Ok(_), Ok(value)) => ReadError::NotAReport(format!(
                "the report is {}, not a JSON object with Report_Entry; nothing was changed",
                values::json_type(&value)
            )),
            (_, Err(e)) => ReadError::Syntax {
                at: 0,
                problem: e.to_string(),
            },
            (Err(error), _) => ReadError::Io { at: 0, error },
        }
    }

    /// A value outside the rows, parsed from its first [`KEPT_OUTSIDE_ROWS`] bytes (a
    /// longer one stands as the text "…").
    fn kept_value(&mut self, kept: &mut Vec<u8>) -> Result<Value, ReadError> {
        kept.clear();
        let at = self.at();
        if !self.value(kept, KEPT_OUTSIDE_ROWS)?.whole {
            return Ok(Value::String("…".to_owned()));
        }
        serde_json::from_slice(kept).map_err(|e| ReadError::Syntax {
            at,
            problem: e.to_string(),
        })
    }

    /// The rows of the `Report_Entry` array, each handed to `on_row` as it is read.
    fn rows(&mut self, on_row: &mut OnRow) -> Result<usize, ReadError> {
        self.expect(b'[', "'['")?;
        let mut row = Vec::with_capacity(4096);
        let mut count = 0;
        loop {
            match self.peek()? {
                Some(b']') => {
                    self.start += 1;
                    return Ok(count);
                }
                Some(b',') => {
                    self.start += 1;
                    continue;
                }
                _ => {}
            }
            row.clear();
            let at = self.at();
            let scanned = self.value(&mut row, self.limits.max_row_bytes)?;
            count += 1;
            let place = RowPlace { at, number: count };
            let row = if scanned.whole {
                let text = String::from_utf8(row.clone()).map_err(|e| ReadError::Syntax {
                    at,
                    problem: format!("row {count}: {e}"),
                })?;
                RawRow::Text(text)
            } else {
                RawRow::Oversized {
                    partial: members(&mut row, scanned.members_end),
                    bytes: scanned.bytes,
                    limit: self.limits.max_row_bytes,
                }
            };
            on_row(row, place);
        }
    }

    /// Scans one JSON value (after any whitespace), copying its bytes into `out` while
    /// they fit in `cap`. Strings and nesting are tracked, scalars only delimited: the
    /// caller parses what it keeps.
    fn value(&mut self, out: &mut Vec<u8>, cap: usize) -> Result<Scanned, ReadError> {
        let first = self.peek()?.ok_or(ReadError::Ended { at: self.read })?;
        let begin = self.at();
        let mut whole = true;
        let mut members_end = None;
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut started = false;
        loop {
            if !self.fill()? {
                return Err(ReadError::Ended { at: self.read });
            }
            let chunk = &self.buf[self.start..self.end];
            let mut done = None;
            let mut i = 0;
            while i < chunk.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    // Most of a report is text: skip to the next byte that can end it.
                    let Some(found) = memchr::memchr2(b'"', b'\\', &chunk[i..]) else {
                        break;
                    };
                    i += found;
                    if chunk[i] == b'\\' {
                        escaped = true;
                    } else {
                        in_string = false;
                        if depth == 0 {
                            done = Some(i + 1);
                            break;
                        }
                    }
                    i += 1;
                    continue;
                }
                match chunk[i] {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => {
                        depth -= 1;
                        if depth == 0 {
                            done = Some(i + 1);
                            break;
                        }
                    }
                    b',' if depth == 1 && first == b'{' => {
                        let kept = out.len() + i;
                        if whole && kept <= cap {
                            members_end = Some(kept);
                        }
                    }
                    // A scalar ends where a delimiter begins.
                    b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' if depth == 0 && started => {
                        done = Some(i);
                        break;
                    }
                    _ => {}
                }
                started = true;
                i += 1;
            }
            let used = done.unwrap_or(chunk.len());
            if whole {
                let room = cap.saturating_sub(out.len());
                if used > room {
                    whole = false;
                }
                out.extend_from_slice(&chunk[..used.min(room)]);
            }
            self.start += used;
            if done.is_some() {
                return Ok(Scanned {
                    bytes: self.at() - begin,
                    whole,
                    members_end,
                });
            }
        }
    }
}

/// The whole members at the start of an oversized object row, as an object.
fn members(kept: &mut Vec<u8>, end: Option<usize>) -> Value {
    if kept.first() != Some(&b'{') {
        return Value::Null;
    }
    kept.truncate(end.unwrap_or(1));
    kept.push(b'}');
    serde_json::from_slice(kept).unwrap_or_else(|_| Value::Object(Map::new()))
}

/// Each row's text parsed (so rows compare as values), as a caller that uses every
/// row does.
#[cfg(test)]
pub(super) fn parsed(row: RawRow) -> Result<RawRow, NotJson> {
    match row {
        RawRow::Text(text) => serde_json::from_str(&text)
            .map(RawRow::Row)
            .map_err(|e| NotJson(e.to_string())),
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The rows of `body`, each row's text parsed (so rows compare as values).
    fn read(body: &[u8], limits: ReportLimits) -> Result<Vec<RawRow>, ReadError> {
        let mut rows = Vec::new();
        let count = read_rows(body, &limits, &parsed, &mut |row| rows.push(row))?;
        assert_eq!(count, rows.len());
        Ok(rows)
    }

    /// Hands out a body a few bytes at a time, so values straddle reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(buf.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn rows_arrive_one_by_one_whatever_the_reads() {
        let body = json!({
            "Report_Entry": [
                {"Emp_ID": "1", "Name": "Ada \"A\" \\ {[,", "N": 1.5e3, "Groups": [{"g": [1, 2]}]},
                {"Emp_ID": "2", "Flag": true, "Nothing": null},
                "not an object",
                7
            ],
            "After": {"x": [1, 2]}
        })
        .to_string();
        let parsed: Value = body.parse().unwrap();
        let expected: Vec<RawRow> = parsed["Report_Entry"]
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .map(RawRow::Row)
            .collect();
        assert_eq!(
            read(body.as_bytes(), ReportLimits::default()).unwrap(),
            expected
        );
        let mut trickled = Vec::new();
        read_rows(
            Trickle(body.as_bytes()),
            &ReportLimits::default(),
            &super::parsed,
            &mut |row| trickled.push(row),
        )
        .unwrap();
        assert_eq!(trickled, expected);
        let pretty = serde_json::to_string_pretty(&parsed).unwrap();
        assert_eq!(
            read(pretty.as_bytes(), ReportLimits::default()).unwrap(),
            expected
        );
    }

    #[test]
    fn an_oversized_row_is_passed_on_with_the_members_that_fitted() {
        let big = "x".repeat(500);
        let body = format!(
            r#"{{"Report_Entry": [{{"Emp_ID": "1", "Email": "a@b.test", "Note": "{big}", "Last": "z"}}, {{"Emp_ID": "2"}}, {{"Note": "{big}"}}]}}"#
        );
        let limits = ReportLimits {
            max_row_bytes: 100,
            ..ReportLimits::default()
        };
        let rows = read(body.as_bytes(), limits).unwrap();
        assert_eq!(rows.len(), 3);
        match &rows[0] {
            RawRow::Oversized {
                partial,
                bytes,
                limit,
            } => {
                assert_eq!(partial, &json!({"Emp_ID": "1", "Email": "a@b.test"}));
                assert!(*bytes > 500 && *limit == 100, "{bytes}");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(rows[1], RawRow::Row(json!({"Emp_ID": "2"})));
        assert!(matches!(&rows[2], RawRow::Oversized { partial, .. } if partial == &json!({})));
    }

    #[test]
    fn a_body_that_breaks_off_or_grows_too_large_fails() {
        let body = br#"{"Report_Entry": [{"Emp_ID": "1"}, {"Emp_ID": "2"#;
        for cut in [body.len(), 20, 1] {
            let err = read(&body[..cut], ReportLimits::default()).unwrap_err();
            assert!(matches!(err, ReadError::Ended { .. }), "{cut}: {err}");
            assert!(err.to_string().contains("broke off"), "{err}");
        }
        let unclosed = read(
            br#"{"Report_Entry": [{"Emp_ID": "1"}]"#,
            ReportLimits::default(),
        );
        assert!(matches!(unclosed, Err(ReadError::Ended { .. })));
        let limits = ReportLimits {
            max_bytes: 1 << 20,
            ..ReportLimits::default()
        };
        let huge = format!(r#"{{"Report_Entry": ["{}"]}}"#, "x".repeat(2 << 20));
        let err = read(huge.as_bytes(), limits).unwrap_err();
        assert!(
            err.to_string()
                .contains("larger than max_report_mib (1 MiB)"),
            "{err}"
        );
        assert!(limits.refuse(2 << 20).is_some() && limits.refuse(1 << 20).is_none());
    }

    /// Batches go to several preparing threads and come back in the report's order; a
    /// broken row stops the caller right after the rows before it.
    #[test]
    fn rows_keep_their_order_across_the_preparing_threads() {
        let count = ROWS_PER_BATCH * MAX_PREPARING_THREADS * 3 + 5;
        let broken = count - ROWS_PER_BATCH - 3;
        let rows: Vec<String> = (1..=count)
            .map(|n| match n == broken {
                true => r#"{"Emp_ID": tru}"#.to_owned(),
                false => format!(r#"{{"Emp_ID": {n}}}"#),
            })
            .collect();
        let body = format!(r#"{{"Report_Entry": [{}]}}"#, rows.join(","));
        let mut seen = Vec::new();
        let err = read_rows(
            body.as_bytes(),
            &ReportLimits::default(),
            &parsed,
            &mut |row| seen.push(row),
        )
        .unwrap_err();
        assert!(err.to_string().contains(&format!("row {broken}:")), "{err}");
        let expected: Vec<RawRow> = (1..broken)
            .map(|n| RawRow::Row(json!({"Emp_ID": n})))
            .collect();
        assert_eq!(seen, expected);
        let whole = body.replace("tru}", "true}");
        let mut numbers = Vec::new();
        let read = read_rows(
            whole.as_bytes(),
            &ReportLimits::default(),
            &parsed,
            &mut |row| {
                numbers.push(match row {
                    RawRow::Row(value) => value["Emp_ID"].as_u64(),
                    _ => None,
                })
            },
        )
        .unwrap();
        assert_eq!(read, count);
        assert_eq!(numbers.len(), count);
        for (i, number) in numbers.into_iter().enumerate() {
            if i + 1 != broken {
                assert_eq!(number, Some(i as u64 + 1), "row {}", i + 1);
            }
        }
    }

    #[test]
    fn a_row_that_is_not_json_fails_the_report() {
        let err = read(
            br#"{"Report_Entry": [{"Emp_ID": 1}, {"Emp_ID": tru}]}"#,
            ReportLimits::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("row 2"), "{err}");
    }
}
