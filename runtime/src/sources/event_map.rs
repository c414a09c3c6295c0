//! The editable map from one source event (e.g. an Okta System Log event) to one incident,
//! with no I/O: which event types become which incident types, how the incident's name,
//! fields and details are read out of the event, and why an event makes no incident. Each
//! value is a template: text with `{path}` placeholders, where a path walks the event's
//! JSON (`actor.alternateId`) and `name[Type]` picks the element of array `name` whose
//! `type` is `Type` (`target[User].id`). Templates are parsed once, when the map loads.

use super::events::EventIncident;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Why an event makes no incident; every reason has a stable code for counts and scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventDrop {
    /// Not a JSON object, or without the id the map names.
    Malformed,
    /// An event type the map does not list.
    UnknownType,
    /// No user the event is about.
    NoUser,
    /// The user has no profile here (only known people are provisioned).
    NoProfile,
    /// About an app the IAM configuration maps to no instance.
    UnmappedApp,
    /// Already turned into an incident (the same event id was read before).
    Duplicate,
}

impl EventDrop {
    pub fn code(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::UnknownType => "unknown-event-type",
            Self::NoUser => "no-user-target",
            Self::NoProfile => "no-profile",
            Self::UnmappedApp => "unmapped-app",
            Self::Duplicate => "duplicate",
        }
    }
}

/// The map file as written (`playbooks/mappers/<plugin>-events.toml`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    /// Event type → incident type.
    types: BTreeMap<String, String>,
    incident: IncidentFile,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    /// Incident type → details template, instead of the `details` field's.
    #[serde(default)]
    details: BTreeMap<String, String>,
    #[serde(default)]
    mapped_apps: Option<MappedAppsFile>,
}

/// Where the instance keeps the apps it maps: events about another app are skipped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappedAppsFile {
    /// The key of the instance's integration context holding a list of rows.
    context_key: String,
    /// The field of each row holding an app id.
    id_field: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IncidentFile {
    /// The event's unique id (for de-duplication).
    id: String,
    /// The field holding the event type.
    event_type: String,
    /// The incident's name.
    name: String,
    /// The user's login: the email of the profile the incident acts on.
    user: String,
    /// The app the event is about ("" when none); checked against the IAM configuration.
    #[serde(default)]
    app: Option<String>,
}

/// A parsed event map.
#[derive(Debug)]
pub struct EventMap {
    types: HashMap<String, String>,
    id: Template,
    event_type: Template,
    name: Template,
    user: Template,
    app: Option<Template>,
    fields: Vec<(String, Template)>,
    details: HashMap<String, Template>,
    /// (context key, id field) of the mapped apps, when the map checks them.
    mapped_apps: Option<(String, String)>,
}

/// Stored profiles by lower-cased email.
pub type ProfilesByEmail = HashMap<String, Map<String, Value>>;

impl EventMap {
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the event map {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("the event map {}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self> {
        let file: MapFile = toml::from_str(text)?;
        if file.types.is_empty() {
            bail!("[types] maps no event type to an incident type");
        }
        let template = |what: &str, text: &str| {
            Template::parse(text).with_context(|| format!("{what} = {text:?}"))
        };
        Ok(Self {
            types: file.types.into_iter().collect(),
            id: template("incident.id", &file.incident.id)?,
            event_type: template("incident.event_type", &file.incident.event_type)?,
            name: template("incident.name", &file.incident.name)?,
            user: template("incident.user", &file.incident.user)?,
            app: file
                .incident
                .app
                .as_deref()
                .map(|t| template("incident.app", t))
                .transpose()?,
            fields: file
                .fields
                .iter()
                .map(|(name, text)| Ok((name.clone(), template(&format!("fields.{name}"), text)?)))
                .collect::<Result<_>>()?,
            details: file
                .details
                .iter()
                .map(|(kind, text)| {
                    Ok((kind.clone(), template(&format!("details.{kind:?}"), text)?))
                })
                .collect::<Result<_>>()?,
            mapped_apps: file.mapped_apps.map(|m| (m.context_key, m.id_field)),
        })
    }

    /// The app ids the instance's integration context maps, when this map checks them.
    pub fn mapped_apps(&self, context: &Value) -> Option<HashSet<String>> {
        let (key, field) = self.mapped_apps.as_ref()?;
        let rows = context.get(key).and_then(Value::as_array);
        Some(
            rows.into_iter()
                .flatten()
                .filter_map(|row| row.get(field)?.as_str().map(str::to_owned))
                .collect(),
        )
    }

    /// The event's id, when it has one.
    pub fn event_id(&self, event: &Value) -> Option<String> {
        Some(self.id.render(event)).filter(|id| !id.is_empty())
    }

    /// The incident `event` makes for `instance`, or why it makes none. `mapped_apps`,
    /// when given, are the app ids the IAM configuration maps to an instance.
    pub fn classify(
        &self,
        event: &Value,
        profiles: &ProfilesByEmail,
        mapped_apps: Option<&HashSet<String>>,
        instance: &str,
    ) -> Result<EventIncident, EventDrop> {
        if !event.is_object() || self.event_id(event).is_none() {
            return Err(EventDrop::Malformed);
        }
        let kind = self
            .types
            .get(&self.event_type.render(event))
            .ok_or(EventDrop::UnknownType)?;
        let user = self.user.render(event);
        if user.is_empty() {
            return Err(EventDrop::NoUser);
        }
        let profile = profiles
            .get(&user.to_lowercase())
            .ok_or(EventDrop::NoProfile)?;
        if let (Some(app), Some(mapped)) = (&self.app, mapped_apps) {
            let app = app.render(event);
            if !app.is_empty() && !mapped.contains(&app) {
                return Err(EventDrop::UnmappedApp);
            }
        }
        let mut fields = Map::new();
        for (name, template) in &self.fields {
            fields.insert(name.clone(), Value::String(template.render(event)));
        }
        if let Some(details) = self.details.get(kind) {
            fields.insert("details".into(), Value::String(details.render(event)));
        }
        let email = profile.get("email").cloned().unwrap_or_else(|| json!(user));
        fields.insert("email".into(), email);
        fields.insert("userprofile".into(), Value::Object(profile.clone()));
        fields.insert("sourceinstance".into(), json!(instance));
        fields.insert("rawjson".into(), event.clone());
        let name = Some(self.name.render(event))
            .filter(|n| !n.is_empty())
            .unwrap_or(user);
        Ok(EventIncident {
            kind: kind.clone(),
            name,
            fields,
        })
    }
}

/// Text with `{path}` placeholders.
#[derive(Debug, Clone, PartialEq)]
struct Template(Vec<Piece>);

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Path(Vec<Step>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    /// The element of an array whose `type` is this.
    OfType(String, String),
}

impl Template {
    fn parse(text: &str) -> Result<Self> {
        let mut pieces = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                pieces.push(Piece::Text(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .with_context(|| format!("a '{{' at {:?} is never closed", &rest[open..]))?;
            pieces.push(Piece::Path(parse_path(&rest[open + 1..open + close])?));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        Ok(Self(pieces))
    }

    /// The text with each path's value; a missing value is empty, a non-text value is its
    /// JSON.
    fn render(&self, event: &Value) -> String {
        let mut out = String::new();
        for piece in &self.0 {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Path(steps) => match walk(event, steps) {
                    Some(Value::String(s)) => out.push_str(s),
                    Some(Value::Null) | None => {}
                    Some(other) => out.push_str(&other.to_string()),
                },
            }
        }
        out
    }
}

fn parse_path(path: &str) -> Result<Vec<Step>> {
    if path.trim().is_empty() {
        bail!("an empty {{}} placeholder");
    }
    path.split('.')
        .map(|segment| match segment.split_once('[') {
            Some((key, kind)) => {
                let kind = kind
                    .strip_suffix(']')
                    .with_context(|| format!("{segment:?} needs a closing ']'"))?;
                Ok(Step::OfType(key.to_owned(), kind.to_owned()))
            }
            None if segment.is_empty() => bail!("{path:?} has an empty segment"),
            None => Ok(Step::Key(segment.to_owned())),
        })
        .collect()
}

fn walk<'v>(value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    steps.iter().try_fold(value, |at, step| match step {
        Step::Key(key) => at.get(key),
        Step::OfType(key, kind) => at
            .get(key)?
            .as_array()?
            .iter()
            .find(|item| item.get("type").and_then(Value::as_str) == Some(kind)),
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(in crate::sources) const MAP: &str = r#"
        [types]
        "application.user_membership.add" = "IAM - App Add"
        "user.account.update_profile" = "IAM - App Update"
        [incident]
        id = "{uuid}"
        event_type = "{eventType}"
        name = "{target[User].displayName}"
        user = "{target[User].alternateId}"
        app = "{target[AppInstance].id}"
        [fields]
        applicationid = "{target[AppInstance].id}"
        username = "{target[User].alternateId}"
        details = "{displayMessage}"
        [details]
        "IAM - App Update" = "Updated the following attribute(s) on Okta: {debugContext.debugData.changedAttributes}"
    "#;

    pub(in crate::sources) fn event(kind: &str, app: Option<&str>) -> Value {
        let mut target = vec![
            json!({"type": "User", "id": "00u1", "alternateId": "Jane@x.test", "displayName": "Jane Doe"}),
        ];
        if let Some(app) = app {
            target.push(json!({"type": "AppInstance", "id": app, "alternateId": "GitHub"}));
        }
        json!({"uuid": "e1", "eventType": kind, "displayMessage": "Add user to application membership",
               "target": target, "debugContext": {"debugData": {"changedAttributes": "title,department"}}})
    }

    fn profiles() -> ProfilesByEmail {
        let mut p = ProfilesByEmail::new();
        p.insert(
            "jane@x.test".into(),
            json!({"email": "jane@x.test", "title": "Dev"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        p
    }

    #[test]
    fn an_app_membership_event_becomes_an_app_add_incident_with_the_profile() {
        let map = EventMap::parse(MAP).expect("map");
        let apps: HashSet<String> = ["0oa1".to_owned()].into();
        let incident = map
            .classify(
                &event("application.user_membership.add", Some("0oa1")),
                &profiles(),
                Some(&apps),
                "okta",
            )
            .expect("an incident");
        assert_eq!(incident.kind, "IAM - App Add");
        assert_eq!(incident.name, "Jane Doe");
        assert_eq!(incident.fields["applicationid"], "0oa1");
        assert_eq!(incident.fields["email"], "jane@x.test");
        assert_eq!(incident.fields["userprofile"]["title"], "Dev");
        assert_eq!(incident.fields["sourceinstance"], "okta");
        assert_eq!(
            incident.fields["details"],
            "Add user to application membership"
        );
    }

    #[test]
    fn a_profile_update_gets_the_changed_attributes_as_details() {
        let map = EventMap::parse(MAP).expect("map");
        let incident = map
            .classify(
                &event("user.account.update_profile", None),
                &profiles(),
                Some(&HashSet::new()),
                "okta",
            )
            .expect("an incident");
        assert_eq!(
            incident.fields["details"],
            "Updated the following attribute(s) on Okta: title,department"
        );
    }

    #[test]
    fn each_reason_to_make_no_incident_is_named() {
        let map = EventMap::parse(MAP).expect("map");
        let none = HashSet::new();
        let classify = |e: &Value, apps: Option<&HashSet<String>>| {
            map.classify(e, &profiles(), apps, "okta").err()
        };
        assert_eq!(classify(&json!("text"), None), Some(EventDrop::Malformed));
        assert_eq!(
            classify(&json!({"eventType": "x"}), None),
            Some(EventDrop::Malformed)
        );
        assert_eq!(
            classify(&event("user.session.start", None), None),
            Some(EventDrop::UnknownType)
        );
        let mut no_user = event("application.user_membership.add", Some("0oa1"));
        no_user["target"] = json!([]);
        assert_eq!(classify(&no_user, None), Some(EventDrop::NoUser));
        let mut stranger = event("application.user_membership.add", Some("0oa1"));
        stranger["target"][0]["alternateId"] = json!("who@x.test");
        assert_eq!(classify(&stranger, None), Some(EventDrop::NoProfile));
        let add = event("application.user_membership.add", Some("0oa9"));
        assert_eq!(classify(&add, Some(&none)), Some(EventDrop::UnmappedApp));
        assert_eq!(
            classify(&add, None),
            None,
            "without a configuration every app counts"
        );
    }

    #[test]
    fn a_broken_template_is_refused_with_its_place() {
        let broken = MAP.replace("{target[User].displayName}", "{target[User.displayName}");
        let err = format!("{:#}", EventMap::parse(&broken).expect_err("refused"));
        assert!(err.contains("incident.name"), "{err}");
        assert!(EventMap::parse(
            "[types]\n[incident]\nid=\"{a}\"\nevent_type=\"{b}\"\nname=\"\"\nuser=\"{u}\""
        )
        .is_err());
    }
}
