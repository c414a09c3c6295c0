//! User profiles: one per work email, holding the HR-mastered fields under
//! their cli names (`employeeid`, `displayname`, `adaccountstatus`, ...). The fields JSON
//! is the only copy; the searchable columns are generated from it.

use super::db::{params, OptionalExtension};
use super::json;
use super::paging::{Page, PageRequest};
use super::{Refusal, Store};
use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserProfile {
    /// The work email, also `fields.email`; compared without regard to case.
    pub email: String,
    pub fields: Map<String, Value>,
    pub created_at: String,
    pub updated_at: String,
}

/// Search criteria; each one given must match exactly (email and display name ignore case).
#[derive(Debug, Clone, Default)]
pub struct ProfileFilter {
    pub email: Option<String>,
    pub employee_id: Option<String>,
    pub display_name: Option<String>,
    /// Part of the email or display name, ignoring case.
    pub containing: Option<String>,
}

const COLUMNS: &str = "email, fields, created_at, updated_at";
const FILTER: &str = "(email = ?1 OR CAST(?1 AS TEXT) IS NULL)
    AND (CAST(?2 AS TEXT) IS NULL OR employee_id = ?2)
    AND (CAST(?3 AS TEXT) IS NULL OR lower(display_name) = lower(?3))
    AND (CAST(?4 AS TEXT) IS NULL OR instr(lower(email), lower(?4)) > 0
         OR instr(lower(coalesce(display_name, '')), lower(?4)) > 0)";

impl Store {
    /// Creates or replaces the profile of `email`, whose `email` field is set to it.
    pub fn put_profile(&self, email: &str, fields: &Map<String, Value>) -> Result<UserProfile> {
        if email.trim().is_empty() {
            return Err(Refusal::Invalid("a user profile needs an email".into()).into());
        }
        let mut fields = fields.clone();
        fields.insert("email".into(), Value::from(email));
        let raw = self.conn().query_row(
            &format!(
                "INSERT INTO user_profiles (email, fields) VALUES (?1, ?2)
                 ON CONFLICT(email) DO UPDATE SET fields = excluded.fields,
                     updated_at = ilm_now()
                 RETURNING {COLUMNS}"
            ),
            params![email, Value::Object(fields).to_string()],
            raw_profile,
        )?;
        into_profile(raw)
    }

    /// The profile of `email`, if any.
    pub fn profile(&self, email: &str) -> Result<Option<UserProfile>> {
        self.conn()
            .query_row(
                &format!("SELECT {COLUMNS} FROM user_profiles WHERE email = ?1"),
                [email],
                raw_profile,
            )
            .optional()?
            .map(into_profile)
            .transpose()
    }

    /// Deletes the profile of `email`; false when there was none.
    pub fn delete_profile(&self, email: &str) -> Result<bool> {
        Ok(self
            .conn()
            .execute("DELETE FROM user_profiles WHERE email = ?1", [email])?
            > 0)
    }

    /// One page of the profiles matching `filter`, by email.
    pub fn search_profiles(
        &self,
        filter: &ProfileFilter,
        page: PageRequest,
    ) -> Result<Page<UserProfile>> {
        let criteria = params![
            filter.email,
            filter.employee_id,
            filter.display_name,
            filter.containing
        ];
        let total: u64 = self.conn().query_row(
            &format!("SELECT count(*) FROM user_profiles WHERE {FILTER}"),
            criteria,
            |r| r.get(0),
        )?;
        let mut stmt = self.conn().prepare(&format!(
            "SELECT {COLUMNS} FROM user_profiles WHERE {FILTER} ORDER BY email LIMIT ?5 OFFSET ?6"
        ))?;
        let rows = stmt.query_map(
            params![
                filter.email,
                filter.employee_id,
                filter.display_name,
                filter.containing,
                page.limit(),
                page.offset()
            ],
            raw_profile,
        )?;
        let data = rows.map(|row| into_profile(row?)).collect::<Result<_>>()?;
        Ok(page.page(total, data))
    }
}

type RawProfile = (String, String, String, String);

fn raw_profile(row: &super::db::Row) -> super::db::DbResult<RawProfile> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn into_profile((email, fields, created_at, updated_at): RawProfile) -> Result<UserProfile> {
    let fields =
        json::object(&fields).with_context(|| format!("the fields of the user profile {email}"))?;
    Ok(UserProfile {
        email,
        fields,
        created_at,
        updated_at,
    })
}
