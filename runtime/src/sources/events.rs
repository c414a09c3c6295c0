//! The event-log pipeline (Okta's System Log): read a page through the source plugin,
//! classify each event, and write the incidents, the queue and the plugin's new cursor in
//! one transaction. So a crash or an error between pages neither loses a page (the stored
//! cursor still points at it) nor repeats one (its incidents and the cursor moved
//! together), and an event id seen before is never made into a second incident. At most
//! `max_fetch` incidents are made per fetch; the rest wait in the queue, and no new page is
//! read while the queue is not empty. Each write checks that the stored state is still the
//! one this fetch read: when a concurrent fetch of the same instance moved it, this one
//! stops without writing, so no page is made into incidents twice.

use super::event_map::{EventDrop, EventMap, ProfilesByEmail};
use crate::store::{NewIncident, Store};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashSet, VecDeque};

/// Event ids remembered for de-duplication (the newest ones).
const REMEMBERED_IDS: usize = 20_000;
/// Pages read in one fetch at most, so one fetch cannot run forever on a busy log.
const MAX_PAGES_PER_FETCH: usize = 200;

/// One incident to create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventIncident {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub fields: Map<String, Value>,
}

/// What the pipeline keeps between fetches, in the instance's fetch state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EventFetchState {
    /// The plugin's cursor (null before the first page).
    #[serde(default)]
    pub cursor: Value,
    /// Incidents classified but not yet created (over `max_fetch`).
    #[serde(default)]
    pub queue: Vec<EventIncident>,
    /// Ids of the events read most recently.
    #[serde(default)]
    pub recent_ids: VecDeque<String>,
}

impl EventFetchState {
    /// The remembered ids as a set, built once per fetch: `classify_page` keeps it in step
    /// with `recent_ids` rather than rebuilding thousands of ids for every page.
    fn seen_ids(&self) -> HashSet<String> {
        self.recent_ids.iter().cloned().collect()
    }
}

/// One page as the plugin returned it.
pub struct Page {
    pub records: Vec<String>,
    pub cursor: Value,
    pub more: bool,
    /// Records the plugin left out itself, by reason.
    pub dropped: BTreeMap<String, usize>,
}

/// What a fetch did, for people and scripts.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EventSummary {
    pub pages: usize,
    pub events: usize,
    /// Events that made no incident, by reason.
    pub dropped: BTreeMap<String, usize>,
    /// Incidents created (or planned, in a dry run), by type.
    pub incidents: BTreeMap<String, usize>,
    pub incidents_created: usize,
    /// Incidents left in the queue for the next fetch.
    pub queued: usize,
    /// Why reading stopped early (the cursor stays at the page that failed).
    pub error: Option<String>,
}

/// A dry run: every incident the next pages would create.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EventPlan {
    pub incidents: Vec<EventIncident>,
    pub summary: EventSummary,
}

/// One fetch of an event source.
pub struct EventFetch<'a> {
    pub store: &'a Store,
    pub instance: &'a str,
    pub map: &'a EventMap,
    pub max_fetch: usize,
    /// App ids the IAM configuration maps to instances (None: no check).
    pub mapped_apps: Option<HashSet<String>>,
}

impl EventFetch<'_> {
    pub fn state(&self) -> Result<EventFetchState> {
        self.parse(self.store.fetch_state(self.instance)?)
    }

    fn parse(&self, stored: Option<Value>) -> Result<EventFetchState> {
        match stored {
            Some(value) => serde_json::from_value(value).with_context(|| {
                format!(
                    "the stored fetch state of {} is not an event cursor",
                    self.instance
                )
            }),
            None => Ok(EventFetchState::default()),
        }
    }

    /// Runs one fetch. `read_page` reads the page after a cursor; an error stops reading
    /// and is reported in the summary (what was read before it is kept).
    pub fn run(&self, mut read_page: impl FnMut(&Value) -> Result<Page>) -> Result<EventSummary> {
        let mut stored = self.store.fetch_state(self.instance)?;
        let mut state = self.parse(stored.clone())?;
        let mut summary = EventSummary::default();
        if !state.queue.is_empty() {
            self.commit(&mut stored, &mut state, &mut summary)?;
            return Ok(summary);
        }
        let profiles = self.profiles()?;
        let mut seen = state.seen_ids();
        while summary.pages < MAX_PAGES_PER_FETCH && summary.incidents_created < self.max_fetch {
            let page = match read_page(&state.cursor) {
                Ok(page) => page,
                Err(err) => {
                    tracing::warn!(instance = self.instance, "reading events stopped: {err:#}");
                    summary.error = Some(format!("{err:#}"));
                    break;
                }
            };
            let more = page.more;
            let incidents =
                self.classify_page(&page, &profiles, &mut state, &mut seen, &mut summary);
            state.queue.extend(incidents);
            state.cursor = page.cursor;
            if !self.commit(&mut stored, &mut state, &mut summary)? {
                break;
            }
            if !more {
                break;
            }
        }
        Ok(summary)
    }

    /// What the next fetch would create from the pages after the stored cursor, writing
    /// nothing (the queue first, then up to `max_pages` pages).
    pub fn dry_run(
        &self,
        mut read_page: impl FnMut(&Value) -> Result<Page>,
        max_pages: usize,
    ) -> Result<EventPlan> {
        let mut state = self.state()?;
        let mut plan = EventPlan {
            incidents: std::mem::take(&mut state.queue),
            summary: EventSummary::default(),
        };
        plan.summary.queued = plan.incidents.len();
        let profiles = self.profiles()?;
        let mut seen = state.seen_ids();
        let mut cursor = state.cursor.clone();
        while plan.summary.pages < max_pages {
            let page = read_page(&cursor)?;
            let incidents =
                self.classify_page(&page, &profiles, &mut state, &mut seen, &mut plan.summary);
            plan.incidents.extend(incidents);
            cursor = page.cursor;
            if !page.more {
                break;
            }
        }
        for incident in &plan.incidents {
            *plan
                .summary
                .incidents
                .entry(incident.kind.clone())
                .or_default() += 1;
        }
        Ok(plan)
    }

    fn profiles(&self) -> Result<ProfilesByEmail> {
        Ok(self
            .store
            .all_profile_fields()?
            .into_iter()
            .filter_map(|fields| {
                let email = fields.get("email")?.as_str()?.to_lowercase();
                Some((email, fields))
            })
            .collect())
    }

    fn classify_page(
        &self,
        page: &Page,
        profiles: &ProfilesByEmail,
        state: &mut EventFetchState,
        seen: &mut HashSet<String>,
        summary: &mut EventSummary,
    ) -> Vec<EventIncident> {
        summary.pages += 1;
        summary.events += page.records.len();
        for (reason, count) in &page.dropped {
            *summary.dropped.entry(reason.clone()).or_default() += count;
        }
        let mut out = Vec::new();
        for record in &page.records {
            let event: Value = serde_json::from_str(record).unwrap_or(Value::Null);
            let decision = match self.map.event_id(&event) {
                Some(id) if !seen.insert(id.clone()) => Err(EventDrop::Duplicate),
                Some(id) => {
                    state.recent_ids.push_back(id);
                    self.map
                        .classify(&event, profiles, self.mapped_apps.as_ref(), self.instance)
                }
                None => Err(EventDrop::Malformed),
            };
            match decision {
                Ok(incident) => out.push(incident),
                Err(reason) => {
                    tracing::debug!(
                        instance = self.instance,
                        reason = reason.code(),
                        "event makes no incident"
                    );
                    *summary.dropped.entry(reason.code().to_owned()).or_default() += 1;
                }
            }
        }
        while state.recent_ids.len() > REMEMBERED_IDS {
            if let Some(forgotten) = state.recent_ids.pop_front() {
                seen.remove(&forgotten);
            }
        }
        out
    }

    /// Creates the incidents this fetch may still create from the queue and stores the
    /// state, in one transaction, if the stored state is still `stored` (what this fetch
    /// last read or wrote). `false`: another fetch moved it, and nothing was written.
    fn commit(
        &self,
        stored: &mut Option<Value>,
        state: &mut EventFetchState,
        summary: &mut EventSummary,
    ) -> Result<bool> {
        let take = (self.max_fetch - summary.incidents_created).min(state.queue.len());
        let now: Vec<EventIncident> = state.queue.drain(..take).collect();
        let next = serde_json::to_value(&*state)?;
        let written = self.store.in_transaction(|store| {
            if store.fetch_state(self.instance)? != *stored {
                return Ok(false);
            }
            for incident in &now {
                store.insert_incident(&NewIncident {
                    kind: &incident.kind,
                    name: &incident.name,
                    fields: &incident.fields,
                })?;
            }
            store.set_fetch_state(self.instance, &next)?;
            Ok(true)
        })?;
        if !written {
            tracing::warn!(
                instance = self.instance,
                "another fetch of this instance read the same events at the same time; this one stops without writing them"
            );
            summary.error = Some(
                "another fetch of this instance ran at the same time and wrote these events; this one wrote nothing more"
                    .to_owned(),
            );
            return Ok(false);
        }
        *stored = Some(next);
        for incident in &now {
            *summary.incidents.entry(incident.kind.clone()).or_default() += 1;
        }
        summary.incidents_created += now.len();
        summary.queued = state.queue.len();
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::{EventFetch, Page};
    use crate::sources::event_map::tests::{event, MAP};
    use crate::sources::EventMap;
    use crate::store::{Instance, Store};
    use serde_json::{json, Value};
    use std::collections::BTreeMap;

    #[test]
    fn two_fetches_at_once_make_each_event_into_one_incident() {
        let dir = tempfile::tempdir().unwrap();
        let open = || Store::open(dir.path().join("ilm.db")).unwrap();
        let (first, second) = (open(), open());
        first.add_instance(&Instance::bare("okta", "okta")).unwrap();
        let Value::Object(jane) = json!({"email": "jane@x.test", "title": "Dev"}) else {
            unreachable!()
        };
        first.put_profile("jane@x.test", &jane).unwrap();
        let map = EventMap::parse(MAP).unwrap();
        let fetch = |store| EventFetch {
            store,
            instance: "okta",
            map: &map,
            max_fetch: 10,
            mapped_apps: None,
        };
        let page = || Page {
            records: vec![event("application.user_membership.add", Some("0oa1")).to_string()],
            cursor: json!("after-e1"),
            more: false,
            dropped: BTreeMap::new(),
        };
        let raced = std::cell::Cell::new(false);
        // While this fetch reads the page, another one reads and writes it.
        let summary = fetch(&first)
            .run(|_| {
                if !raced.replace(true) {
                    let other = fetch(&second).run(|_| Ok(page())).unwrap();
                    assert_eq!(other.incidents_created, 1, "{other:?}");
                }
                Ok(page())
            })
            .unwrap();
        assert_eq!(summary.incidents_created, 0, "{summary:?}");
        assert!(summary
            .error
            .is_some_and(|e| e.contains("at the same time")));
        let all = first
            .search_incidents(
                &Default::default(),
                crate::store::PageRequest::new(0, 10).unwrap(),
            )
            .unwrap();
        assert_eq!(all.total, 1, "one incident for the one event");
        assert_eq!(fetch(&first).state().unwrap().cursor, json!("after-e1"));
    }
}
