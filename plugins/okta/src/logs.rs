//! Okta's System Log as an event source, read with Okta's polling query (a `since` and no
//! `until`, ascending): every answer carries a `next` link that resumes exactly after the
//! last event returned, so following it neither skips nor repeats events. One fetch reads
//! one page. The cursor keeps that link, the filter it was made for, the `published` time
//! of the last event read and the ids of the events read at that instant, and the id of
//! the token's own user. Invariant: an event is handed to the host at most once per
//! cursor, and the cursor only moves past events that were handed over (or deliberately
//! left out); when the link cannot be used (the filter changed, or Okta sent none) reading
//! restarts at the last event's time and skips the events already read there.
//!
//! Also the `okta-get-logs` command, a plain bounded query.

use crate::args;
use crate::client::{encode, quote, Okta};
use crate::{config, users};
use ilm_plugin_sdk::time::{format_rfc3339, parse_relative, parse_rfc3339};
use ilm_plugin_sdk::{app_error, log, AppError, FetchResult};
use serde_json::{json, Map, Value};

/// `dropped` reason: events the token's own user caused (this runtime's provisioning),
/// which must not start another round of provisioning.
pub const OWN_CHANGE: &str = "own-change";
/// `dropped` reason: events read before, met again when reading restarts at a time.
pub const ALREADY_READ: &str = "already-read";

/// The event types the automatic filter reads: an app assigned to or removed from a user.
const APP_MEMBERSHIP_EVENTS: &[&str] = &[
    "application.user_membership.add",
    "application.user_membership.remove",
];

/// The largest page Okta's System Log serves.
pub const MAX_PAGE: u64 = 1000;

/// Where reading stands between fetches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cursor {
    /// Okta's `next` link of the last page read.
    pub next: Option<String>,
    /// The filter the link was made for.
    pub filter: String,
    /// `published` of the last event read.
    pub last_published: Option<String>,
    /// `uuid`s of the events read whose `published` is `last_published`.
    pub read_at_last: Vec<String>,
    /// The id of the token's own user (`users/me`), read once.
    pub self_id: Option<String>,
}

impl Cursor {
    /// The cursor stored by an earlier fetch; `None` for null or anything not an object.
    pub fn from_json(value: &Value) -> Option<Self> {
        let map = value.as_object()?;
        let text = |key: &str| {
            map.get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Some(Self {
            next: text("next"),
            filter: text("filter").unwrap_or_default(),
            last_published: text("last_published"),
            read_at_last: map
                .get("read_at_last")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            self_id: text("self_id"),
        })
    }

    pub fn to_json(&self) -> Value {
        json!({
            "next": self.next,
            "filter": self.filter,
            "last_published": self.last_published,
            "read_at_last": self.read_at_last,
            "self_id": self.self_id,
        })
    }
}

/// Where the next page is read from.
#[derive(Debug, PartialEq)]
pub enum Start {
    /// The stored `next` link.
    Next(String),
    /// A new polling query from this time.
    Since(String),
}

/// Decides where to read: the stored link when it was made for `filter` and lies under
/// this org's API (`owned`); else from the last event's time, or `first_since` when no
/// event was ever read.
pub fn start(
    cursor: Option<&Cursor>,
    filter: &str,
    first_since: &str,
    owned: impl Fn(&str) -> bool,
) -> Start {
    let Some(cursor) = cursor else {
        return Start::Since(first_since.to_owned());
    };
    match &cursor.next {
        Some(next) if cursor.filter == filter && owned(next) => Start::Next(next.clone()),
        _ => Start::Since(
            cursor
                .last_published
                .clone()
                .unwrap_or_else(|| first_since.to_owned()),
        ),
    }
}

/// The first URL of a polling query.
pub fn polling_url(logs_url: &str, since: &str, filter: &str, page_size: u64) -> String {
    let mut url = format!(
        "{logs_url}?since={}&limit={page_size}&sortOrder=ASCENDING",
        encode(since)
    );
    if !filter.is_empty() {
        url.push_str(&format!("&filter={}", encode(filter)));
    }
    url
}

/// The filter of this fetch: in automatic mode the app add/remove events of the apps in
/// the IAM configuration; otherwise the instance's own filter (empty: every event).
pub fn filter_for(automatic: bool, manual: &str, app_ids: &[String]) -> Result<String, AppError> {
    if !automatic {
        return Ok(manual.trim().to_owned());
    }
    if app_ids.is_empty() {
        return Err(app_error(
            "config",
            "no Okta app is mapped to an instance, so there is nothing to fetch: map one with \
             `ilm command okta-iam-set-configuration --using <instance> --arg configuration='[{\"ApplicationID\": \"<app id>\", \"Instance\": \"<instance>\"}]'`, \
             or set auto_generate_query_filter=false and a fetch_query_filter",
        ));
    }
    let either = |field: &str, values: &mut dyn Iterator<Item = &str>| {
        values
            .map(|v| format!("{field} eq \"{}\"", quote(v)))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    Ok(format!(
        "({}) and ({})",
        either("eventType", &mut APP_MEMBERSHIP_EVENTS.iter().copied()),
        either("target.id", &mut app_ids.iter().map(String::as_str))
    ))
}

/// What one page did: the events to hand over, what was left out, where reading stands.
#[derive(Debug, PartialEq)]
pub struct Step {
    pub records: Vec<String>,
    pub own_changes: u64,
    pub already_read: u64,
    pub cursor: Cursor,
    pub more: bool,
}

/// Applies one page read with `filter` to the previous cursor. Events by `self_id` are
/// left out as own changes; events already read at the restart time are skipped. `more`
/// says another page is waiting: this one had events and a `next` link.
pub fn advance(
    previous: Option<&Cursor>,
    filter: &str,
    self_id: &str,
    events: Vec<Value>,
    next: Option<String>,
) -> Step {
    let mut last_published = previous.and_then(|c| c.last_published.clone());
    let mut read_at_last = previous.map(|c| c.read_at_last.clone()).unwrap_or_default();
    let mut step = Step {
        records: Vec::with_capacity(events.len()),
        own_changes: 0,
        already_read: 0,
        cursor: Cursor::default(),
        more: !events.is_empty() && next.is_some(),
    };
    for event in events {
        let uuid = event.get("uuid").and_then(Value::as_str).map(str::to_owned);
        let published = event
            .get("published")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let at_last = published.is_some() && published == last_published;
        if at_last && uuid.as_ref().is_some_and(|u| read_at_last.contains(u)) {
            step.already_read += 1;
            continue;
        }
        if let Some(published) = published {
            if !at_last {
                last_published = Some(published);
                read_at_last.clear();
            }
            read_at_last.extend(uuid);
        }
        let actor = event.pointer("/actor/id").and_then(Value::as_str);
        if !self_id.is_empty() && actor == Some(self_id) {
            step.own_changes += 1;
        } else {
            step.records.push(event.to_string());
        }
    }
    step.cursor = Cursor {
        next,
        filter: filter.to_owned(),
        last_published,
        read_at_last,
        self_id: Some(self_id.to_owned()).filter(|s| !s.is_empty()),
    };
    step
}

/// One fetch: reads the next page of the System Log given the host's state
/// `{"now": …, "cursor": …}`.
pub fn fetch(state: &str) -> Result<FetchResult, AppError> {
    let state = ilm_plugin_sdk::json_object(state, "the fetch state")?;
    let now = state
        .get("now")
        .and_then(Value::as_str)
        .ok_or_else(|| app_error("state", "the host passed no `now` to the fetch"))?;
    let now = parse_rfc3339(now).ok_or_else(|| {
        app_error(
            "state",
            format!("the host's `now` {now:?} is not an RFC 3339 time"),
        )
    })?;
    let cursor = match state.get("cursor") {
        None | Some(Value::Null) => None,
        Some(stored) => {
            let cursor = Cursor::from_json(stored);
            if cursor.is_none() {
                log::write(
                    log::Level::Warn,
                    "the stored fetch cursor is not an object; reading starts over from first_fetch",
                );
            }
            cursor
        }
    };

    let params = ilm_plugin_sdk::params();
    let okta = Okta::from_params(&params)?;
    let automatic = args::flag(&params, "auto_generate_query_filter", true)?;
    let manual = args::text(&params, "fetch_query_filter").unwrap_or_default();
    let filter = filter_for(automatic, &manual, &config::app_ids(&config::load()))?;
    let first_fetch = args::text(&params, "first_fetch").unwrap_or_else(|| "0 minutes".into());
    let back = parse_relative(&first_fetch)
        .map_err(|e| app_error("config", format!("first_fetch: {e}")))?;
    let first_since = format_rfc3339(now.saturating_sub(back));
    let page_size = args::count(&params, "page_size", MAX_PAGE, MAX_PAGE)?;

    let self_id = match cursor.as_ref().and_then(|c| c.self_id.clone()) {
        Some(id) => id,
        None => users::me(&okta)?
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| app_error("502", "Okta's users/me answer has no id"))?,
    };
    let url = match start(cursor.as_ref(), &filter, &first_since, |u| okta.owns(u)) {
        Start::Next(next) => next,
        Start::Since(since) => {
            ilm_plugin_sdk::info(&format!("System Log polling starts at {since}"));
            polling_url(&okta.url("logs"), &since, &filter, page_size)
        }
    };
    let page = okta.page(&url)?;
    let step = advance(cursor.as_ref(), &filter, &self_id, page.items, page.next);
    let mut dropped = Map::new();
    if step.own_changes > 0 {
        dropped.insert(OWN_CHANGE.to_owned(), step.own_changes.into());
    }
    if step.already_read > 0 {
        dropped.insert(ALREADY_READ.to_owned(), step.already_read.into());
    }
    let next_state = json!({
        "cursor": step.cursor.to_json(),
        "more": step.more,
        "dropped": dropped,
    });
    Ok(FetchResult {
        records: step.records,
        next_state: next_state.to_string(),
    })
}

/// `okta-get-logs`: events matching `filter` between `since` and `until`, in `sortOrder`,
/// following `next` links up to `limit` events.
pub fn get_logs(okta: &Okta, arguments: &Map<String, Value>) -> Result<Value, AppError> {
    let limit = args::count(arguments, "limit", 100, MAX_PAGE)?;
    let order = args::text(arguments, "sortOrder")
        .unwrap_or_else(|| "ASCENDING".into())
        .to_ascii_uppercase();
    if order != "ASCENDING" && order != "DESCENDING" {
        return Err(app_error(
            "400",
            format!("sortOrder must be ASCENDING or DESCENDING, not {order:?}"),
        ));
    }
    let mut url = format!("{}?limit={limit}&sortOrder={order}", okta.url("logs"));
    for name in ["filter", "since", "until"] {
        if let Some(value) = args::text(arguments, name) {
            url.push_str(&format!("&{name}={}", encode(&value)));
        }
    }
    let events = okta.collect(&url, usize::try_from(limit).ok())?;
    Ok(Value::Array(events))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://acme.okta.com/api/v1/";

    fn owned(url: &str) -> bool {
        url.starts_with(BASE)
    }

    fn event(uuid: &str, published: &str, actor: &str) -> Value {
        json!({"uuid": uuid, "published": published, "actor": {"id": actor}, "eventType": "x"})
    }

    fn cursor(next: Option<&str>, filter: &str, last: Option<&str>, read: &[&str]) -> Cursor {
        Cursor {
            next: next.map(str::to_owned),
            filter: filter.to_owned(),
            last_published: last.map(str::to_owned),
            read_at_last: read.iter().map(|s| s.to_string()).collect(),
            self_id: Some("00uME".to_owned()),
        }
    }

    #[test]
    fn the_automatic_filter_reads_app_membership_of_the_configured_apps() {
        let ids = vec!["0oa1".to_owned(), "0oa\"2".to_owned()];
        assert_eq!(
            filter_for(true, "ignored", &ids).ok().as_deref(),
            Some(
                "(eventType eq \"application.user_membership.add\" or eventType eq \"application.user_membership.remove\") \
                 and (target.id eq \"0oa1\" or target.id eq \"0oa\\\"2\")"
            )
        );
    }

    #[test]
    fn automatic_mode_without_configuration_says_how_to_fix_it() {
        let err = filter_for(true, "", &[]).unwrap_err();
        assert_eq!(err.code, "config");
        assert!(err
            .message
            .contains("okta-iam-set-configuration --using <instance>"));
        assert!(err.message.contains("auto_generate_query_filter=false"));
    }

    #[test]
    fn manual_mode_takes_the_filter_as_given() {
        let manual = "eventType eq \"user.account.update_profile\"";
        assert_eq!(filter_for(false, manual, &[]).ok().as_deref(), Some(manual));
        assert_eq!(filter_for(false, "  ", &[]).ok().as_deref(), Some(""));
    }

    #[test]
    fn the_first_fetch_polls_from_first_fetch() {
        assert_eq!(
            start(None, "f", "2025-01-15T09:00:00Z", owned),
            Start::Since("2025-01-15T09:00:00Z".into())
        );
        assert_eq!(
            polling_url("https://acme.okta.com/api/v1/logs", "2025-01-15T09:00:00Z", "a eq \"b\"", 1000),
            "https://acme.okta.com/api/v1/logs?since=2025-01-15T09%3A00%3A00Z&limit=1000&sortOrder=ASCENDING&filter=a%20eq%20%22b%22"
        );
        assert_eq!(
            polling_url("L", "S", "", 5),
            "L?since=S&limit=5&sortOrder=ASCENDING"
        );
    }

    #[test]
    fn the_stored_link_is_followed_while_the_filter_is_unchanged() {
        let next = "https://acme.okta.com/api/v1/logs?after=abc";
        let c = cursor(Some(next), "f", Some("2025-01-15T09:30:00.000Z"), &[]);
        assert_eq!(start(Some(&c), "f", "T0", owned), Start::Next(next.into()));
    }

    #[test]
    fn a_changed_filter_restarts_at_the_last_event() {
        let c = cursor(
            Some("https://acme.okta.com/api/v1/logs?after=abc"),
            "old",
            Some("2025-01-15T09:30:00.000Z"),
            &[],
        );
        assert_eq!(
            start(Some(&c), "new", "T0", owned),
            Start::Since("2025-01-15T09:30:00.000Z".into())
        );
        let never_read = cursor(
            Some("https://acme.okta.com/api/v1/logs?after=abc"),
            "old",
            None,
            &[],
        );
        assert_eq!(
            start(Some(&never_read), "new", "T0", owned),
            Start::Since("T0".into())
        );
    }

    #[test]
    fn a_missing_or_foreign_link_restarts_at_the_last_event() {
        let c = cursor(None, "f", Some("2025-01-15T09:30:00.000Z"), &[]);
        assert_eq!(
            start(Some(&c), "f", "T0", owned),
            Start::Since("2025-01-15T09:30:00.000Z".into())
        );
        let moved = cursor(
            Some("https://old.okta.com/api/v1/logs?after=x"),
            "f",
            None,
            &[],
        );
        assert_eq!(
            start(Some(&moved), "f", "T0", owned),
            Start::Since("T0".into())
        );
    }

    #[test]
    fn own_changes_are_left_out_and_counted() {
        let events = vec![
            event("e1", "2025-01-15T10:00:00.000Z", "00uADMIN"),
            event("e2", "2025-01-15T10:00:01.000Z", "00uME"),
            event("e3", "2025-01-15T10:00:02.000Z", "00uADMIN"),
        ];
        let step = advance(None, "f", "00uME", events.clone(), Some("N".into()));
        assert_eq!(
            step.records,
            vec![events[0].to_string(), events[2].to_string()]
        );
        assert_eq!(
            (step.own_changes, step.already_read, step.more),
            (1, 0, true)
        );
        assert_eq!(
            step.cursor,
            Cursor {
                next: Some("N".into()),
                filter: "f".into(),
                last_published: Some("2025-01-15T10:00:02.000Z".into()),
                read_at_last: vec!["e3".into()],
                self_id: Some("00uME".into()),
            }
        );
    }

    #[test]
    fn an_own_change_still_moves_the_cursor() {
        let events = vec![event("e1", "2025-01-15T10:00:00.000Z", "00uME")];
        let step = advance(None, "f", "00uME", events, None);
        assert!(step.records.is_empty());
        assert_eq!(
            step.cursor.last_published.as_deref(),
            Some("2025-01-15T10:00:00.000Z")
        );
        assert!(!step.more, "no next link: nothing more to read now");
    }

    #[test]
    fn an_empty_page_keeps_the_position_and_the_new_link() {
        let previous = cursor(Some("OLD"), "f", Some("2025-01-15T10:00:00.000Z"), &["e1"]);
        let step = advance(
            Some(&previous),
            "f",
            "00uME",
            Vec::new(),
            Some("NEW".into()),
        );
        assert!(step.records.is_empty());
        assert!(!step.more, "an empty page means the log is read up to now");
        assert_eq!(step.cursor.next.as_deref(), Some("NEW"));
        assert_eq!(step.cursor.last_published, previous.last_published);
        assert_eq!(step.cursor.read_at_last, vec!["e1".to_owned()]);
    }

    #[test]
    fn a_restart_skips_the_events_already_read_at_its_time() {
        // The previous page ended with e1 and e2 at 10:00:00; `since` is inclusive, so a
        // restart there meets them again.
        let previous = cursor(None, "f", Some("2025-01-15T10:00:00.000Z"), &["e1", "e2"]);
        let events = vec![
            event("e1", "2025-01-15T10:00:00.000Z", "00uA"),
            event("e2", "2025-01-15T10:00:00.000Z", "00uA"),
            event("e3", "2025-01-15T10:00:00.000Z", "00uA"),
            event("e4", "2025-01-15T10:00:05.000Z", "00uA"),
        ];
        let step = advance(
            Some(&previous),
            "f",
            "00uME",
            events.clone(),
            Some("N".into()),
        );
        assert_eq!(
            step.records,
            vec![events[2].to_string(), events[3].to_string()]
        );
        assert_eq!(step.already_read, 2);
        assert_eq!(step.cursor.read_at_last, vec!["e4".to_owned()]);

        // Ending at the same instant keeps every id read there.
        let events = vec![event("e3", "2025-01-15T10:00:00.000Z", "00uA")];
        let step = advance(Some(&previous), "f", "00uME", events, None);
        assert_eq!(
            step.cursor.read_at_last,
            vec!["e1".to_owned(), "e2".into(), "e3".into()]
        );
    }

    #[test]
    fn the_cursor_round_trips_through_json() {
        let c = cursor(Some("N"), "f", Some("T"), &["e1"]);
        assert_eq!(Cursor::from_json(&c.to_json()), Some(c));
        assert_eq!(Cursor::from_json(&json!(null)), None);
        assert_eq!(Cursor::from_json(&json!("x")), None);
        assert_eq!(Cursor::from_json(&json!({})), Some(Cursor::default()));
    }

    #[test]
    fn a_real_event_is_handed_over_whole() {
        // The shape of an Okta System Log event, trimmed.
        let event = json!({
            "actor": {"alternateId": "admin@acme.com", "displayName": "Admin", "id": "00uADMIN", "type": "User"},
            "displayMessage": "Add user to application membership",
            "eventType": "application.user_membership.add",
            "outcome": {"reason": null, "result": "SUCCESS"},
            "published": "2021-12-13T01:47:08.556Z",
            "target": [
                {"alternateId": "jdoe@acme.com", "displayName": "J Doe", "id": "00u1", "type": "User"},
                {"alternateId": "Slack", "displayName": "Slack", "id": "0oa1", "type": "AppInstance"},
            ],
            "uuid": "6d9d4f0c-5be0-11ec-9b6d-7f7b4f0e1c22",
        });
        let step = advance(None, "", "00uME", vec![event.clone()], Some("N".into()));
        assert_eq!(step.records.len(), 1);
        assert_eq!(
            serde_json::from_str::<Value>(&step.records[0]).ok(),
            Some(event)
        );
        assert_eq!(
            step.cursor.last_published.as_deref(),
            Some("2021-12-13T01:47:08.556Z")
        );
    }
}
