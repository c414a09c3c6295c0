//! What a body that is not a report says. Only a JSON object with a `Report_Entry` array is a report; any
//! other body fails the fetch before anything is written. Reading an error object (Workday
//! answers `{"Error": "Session expired"}` with status 200) or a body without rows as "no
//! rows" would make every stored person an orphan.

use serde_json::{Map, Value};

/// Keys under which services put the reason of an error answer.
const ERROR_KEYS: &[&str] = &["error", "errors", "message", "fault", "faultstring"];

/// How much of an unexpected value an error message quotes.
const QUOTE_CHARS: usize = 200;

/// Why an object without `Report_Entry` is not a report: the service's error when it gave
/// one, else the keys it has.
pub(super) fn not_a_report(object: &Map<String, Value>) -> String {
    let error = object
        .iter()
        .find(|(key, _)| ERROR_KEYS.contains(&key.to_ascii_lowercase().as_str()));
    match error {
        Some((key, value)) => format!(
            "Workday answered with an error instead of the report's Report_Entry rows ({key}: {}); nothing was \
             changed. Check the integration user's password and session, then fetch again",
            quote(value)
        ),
        None => {
            let keys: Vec<&str> = object.keys().map(String::as_str).take(10).collect();
            format!(
                "the report has no Report_Entry (its keys: {}); nothing was changed. Is the \
                 URL a report with format=json?",
                if keys.is_empty() {
                    "none".to_owned()
                } else {
                    quote(&Value::from(keys.join(", ")))
                }
            )
        }
    }
}

/// A value as text for a message, cut short: the body is not trusted.
fn quote(value: &Value) -> String {
    let text = match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut quoted: String = text
        .chars()
        .take(QUOTE_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(QUOTE_CHARS).is_some() {
        quoted.push('…');
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::super::stream::{parsed, read_rows, RawRow, ReportLimits};

    fn report_rows(body: &str) -> Result<Vec<RawRow>, super::super::ReadError> {
        let mut rows = Vec::new();
        read_rows(
            body.as_bytes(),
            &ReportLimits::default(),
            &parsed,
            &mut |row| rows.push(row),
        )?;
        Ok(rows)
    }

    fn rows(body: &str) -> Vec<RawRow> {
        report_rows(body).unwrap()
    }

    fn error(body: &str) -> String {
        report_rows(body).unwrap_err().to_string()
    }

    #[test]
    fn only_an_object_with_a_report_entry_array_is_a_report() {
        assert!(rows(r#"{"Report_Entry": []}"#).is_empty());
        assert_eq!(
            rows(r#"{"Report_Entry": [{"Emp_ID": "1"}], "x": 1}"#).len(),
            1
        );
        let expired = error(r#"{"Error": "Session expired"}"#);
        assert!(
            expired.contains("Workday answered with an error")
                && expired.contains("Error: Session expired")
                && expired.contains("nothing was changed"),
            "{expired}"
        );
        let nested = error(r#"{"errors": [{"error": "Invalid user"}]}"#);
        assert!(nested.contains("Invalid user"), "{nested}");
        let empty = error("{}");
        assert!(
            empty.contains("no Report_Entry (its keys: none)"),
            "{empty}"
        );
        let other = error(r#"{"Data": []}"#);
        assert!(other.contains("its keys: Data"), "{other}");
        assert!(error(r#"{"Report_Entry": null}"#).contains("Report_Entry is null"));
        assert!(error(r#"{"Report_Entry": {}}"#).contains("is an object, not an array"));
        assert!(error("[]").contains("the report is an array"));
        assert!(error("<html>").contains("not JSON"));
    }

    #[test]
    fn quotes_from_the_body_are_short_and_on_one_line() {
        let long = format!(r#"{{"message": "{}\nnext"}}"#, "x".repeat(500));
        let message = error(&long);
        assert!(
            message.contains('…') && !message.contains('\n'),
            "{message}"
        );
        assert!(message.len() < 500, "{message}");
    }
}
