//! Incidents: a typed piece of work (New Hire, Terminate, ...) with its fields,
//! a status and, when it needs a person, an owner. Playbooks run on them.

use super::db::{params, OptionalExtension};
use super::db::{FromValue, ToValue};
use super::json;
use super::paging::{Page, PageRequest};
use super::{Refusal, Store};
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Where an incident is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Created, not yet picked up.
    Pending,
    /// A playbook is running on it.
    Active,
    /// Suspended until a person answers a question.
    Waiting,
    /// The playbook stopped on an error; a person must fix it and re-run.
    Failed,
    Closed,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 5] = [
        IncidentStatus::Pending,
        IncidentStatus::Active,
        IncidentStatus::Waiting,
        IncidentStatus::Failed,
        IncidentStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Pending => "pending",
            IncidentStatus::Active => "active",
            IncidentStatus::Waiting => "waiting",
            IncidentStatus::Failed => "failed",
            IncidentStatus::Closed => "closed",
        }
    }
}

impl ToValue for IncidentStatus {
    fn to_value(&self) -> super::db::Value {
        super::db::Value::Text(self.as_str().to_owned())
    }
}

impl FromValue for IncidentStatus {
    fn from_value(value: super::db::Value) -> Result<Self, String> {
        let text = String::from_value(value)?;
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| format!("unknown incident status {text:?}"))
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Incident {
    pub id: i64,
    /// The incident type, e.g. `IAM - New Hire`.
    #[serde(rename = "type")]
    pub kind: String,
    /// For IAM incidents, the employee's email.
    pub name: String,
    pub status: IncidentStatus,
    /// The user id it is assigned to.
    pub owner: Option<String>,
    pub fields: Map<String, Value>,
    pub created_at: String,
    pub closed_at: Option<String>,
}

/// What `create_incident` needs.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub fields: &'a Map<String, Value>,
}

/// Search criteria; each one given must match (the email, from `fields.email`, ignores case).
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub kind: Option<String>,
    pub status: Option<IncidentStatus>,
    pub email: Option<String>,
}

const COLUMNS: &str = "id, type, name, status, owner, fields, created_at, closed_at";
const FILTER: &str = "(CAST(?1 AS TEXT) IS NULL OR type = ?1)
    AND (CAST(?2 AS TEXT) IS NULL OR status = ?2)
    AND (CAST(?3 AS TEXT) IS NULL OR email = lower(?3))";

impl Store {
    /// Files a new pending incident.
    pub fn create_incident(&self, new: &NewIncident<'_>) -> Result<Incident> {
        let id = self.insert_incident(new)?;
        self.incident(id)?.context("reading back the new incident")
    }

    /// Creates an incident and returns only its id: what a fetch writing thousands needs.
    pub fn insert_incident(&self, new: &NewIncident<'_>) -> Result<i64> {
        if new.kind.trim().is_empty() {
            return Err(Refusal::Invalid("an incident needs a type".into()).into());
        }
        Ok(self.conn().query_row(
            "INSERT INTO incidents (type, name, fields) VALUES (?1, ?2, ?3) RETURNING id",
            params![new.kind, new.name, serde_json::to_string(new.fields)?],
            |r| r.get(0),
        )?)
    }

    /// The incident with this id, if any.
    pub fn incident(&self, id: i64) -> Result<Option<Incident>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM incidents WHERE id = ?1"),
                [id],
                raw_incident,
            )
            .optional()?
            .map(into_incident)
            .transpose()
    }

    /// The incident with this id and its current attempt: what a run starts from.
    pub fn incident_and_attempt(&self, id: i64) -> Result<Option<(Incident, i64)>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS}, attempt FROM incidents WHERE id = ?1"),
                [id],
                |row| Ok((raw_incident(row)?, row.get(8)?)),
            )
            .optional()?
            .map(|(raw, attempt)| Ok((into_incident(raw)?, attempt)))
            .transpose()
    }

    /// How many incidents there are in each status.
    pub fn incident_counts(&self) -> Result<std::collections::BTreeMap<String, u64>> {
        let mut stmt = self
            .conn()
            .prepare("SELECT status, count(*) FROM incidents GROUP BY status")?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<super::db::DbResult<_>>()?)
    }

    /// Every failed incident: id, name and the error it failed with, oldest first.
    pub fn failed_incidents(&self) -> Result<Vec<(i64, String, String)>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, name, coalesce(error, '') FROM incidents WHERE status = 'failed' ORDER BY id",
        )?;
        let rows = stmt.query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<super::db::DbResult<_>>()?)
    }

    /// One page of the incidents matching `filter`, newest first.
    pub fn search_incidents(
        &self,
        filter: &IncidentFilter,
        page: PageRequest,
    ) -> Result<Page<Incident>> {
        let total: u64 = self.conn().query_row(
            &format!("SELECT count(*) FROM incidents WHERE {FILTER}"),
            params![filter.kind, filter.status, filter.email],
            |r| r.get(0),
        )?;
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM incidents WHERE {FILTER} ORDER BY id DESC LIMIT ?4 OFFSET ?5"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.kind,
                filter.status,
                filter.email,
                page.limit(),
                page.offset()
            ],
            raw_incident,
        )?;
        let data = rows.map(|row| into_incident(row?)).collect::<Result<_>>()?;
        Ok(page.page(total, data))
    }

    /// Moves an incident to `status`; closing stamps `closed_at`, reopening clears it. Any
    /// status but active ends the incident's lease (its run is over).
    pub fn set_incident_status(&self, id: i64, status: IncidentStatus) -> Result<Incident> {
        let raw = self
            .conn()
            .query_row(
                &format!(
                    "UPDATE incidents SET status = ?2,
                         closed_at = CASE WHEN CAST(?2 AS TEXT) = 'closed'
                             THEN coalesce(closed_at, ilm_now()) END,
                         lease_owner = CASE WHEN ?2 = 'active' THEN lease_owner END,
                         lease_expires_at = CASE WHEN ?2 = 'active' THEN lease_expires_at END
                     WHERE id = ?1 AND (CAST(?3 AS BIGINT) IS NULL OR lease_token = ?3)
                     RETURNING {COLUMNS}"
                ),
                params![id, status, self.fence_for(id)],
                raw_incident,
            )
            .optional()?;
        match raw {
            Some(raw) => into_incident(raw),
            None => {
                self.fenced_write(id, 0)?;
                Err(Refusal::NotFound(format!("no incident {id}")).into())
            }
        }
    }
}

type RawIncident = (Incident, String);

fn raw_incident(row: &super::db::Row) -> super::db::DbResult<RawIncident> {
    Ok((
        Incident {
            id: row.get(0)?,
            kind: row.get(1)?,
            name: row.get(2)?,
            status: row.get(3)?,
            owner: row.get(4)?,
            fields: Map::new(),
            created_at: row.get(6)?,
            closed_at: row.get(7)?,
        },
        row.get(5)?,
    ))
}

fn into_incident((mut incident, fields): RawIncident) -> Result<Incident> {
    incident.fields =
        json::object(&fields).with_context(|| format!("the fields of incident {}", incident.id))?;
    Ok(incident)
}

/// Why a fetch does not create an incident: one already carries the same change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carried {
    /// An open incident (pending, active or waiting) of the same person and type.
    Open(i64),
    /// One of the same person and type closed after the fetch compared the report with
    /// the stored profiles: that comparison predates what the run wrote.
    JustClosed(i64),
}

impl Carried {
    /// The reason, as fetch summaries count it.
    pub fn code(self) -> &'static str {
        match self {
            Carried::Open(_) => "an open incident carries the same change",
            Carried::JustClosed(_) => "an incident closed the same change after the comparison",
        }
    }
}

impl Store {
    /// The incident that already carries this change, if any: same type, same person
    /// (email, any case), the same `userprofile` (the change a playbook acts on), and
    /// open, or closed at or after `compared_at` (when the fetch read the stored profiles;
    /// store time, whole seconds).
    pub fn carried_change(
        &self,
        kind: &str,
        email: &str,
        userprofile: Option<&Value>,
        compared_at: Option<&str>,
    ) -> Result<Option<Carried>> {
        let mut stmt = self.conn().prepare(
            "SELECT id, status, fields FROM incidents
             WHERE email = lower(?1) AND type = ?2
                 AND (status IN ('pending', 'active', 'waiting')
                      OR (status = 'closed' AND CAST(?3 AS TEXT) IS NOT NULL AND closed_at >= ?3))
             ORDER BY id DESC",
        )?;
        let rows = stmt.query_map(params![email, kind, compared_at], |r| {
            Ok((
                r.get::<i64>(0)?,
                r.get::<IncidentStatus>(1)?,
                r.get::<String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, status, fields) = row?;
            let fields: Map<String, Value> = serde_json::from_str(&fields)
                .with_context(|| format!("the fields of incident {id}"))?;
            let stored = fields.get("userprofile").filter(|v| !v.is_null());
            if stored == userprofile {
                return Ok(Some(match status {
                    IncidentStatus::Closed => Carried::JustClosed(id),
                    _ => Carried::Open(id),
                }));
            }
        }
        Ok(None)
    }
}
