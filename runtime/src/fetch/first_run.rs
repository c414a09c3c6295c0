//! First-run selection: which rows of the first report become profiles. No
//! incidents are created on the first run; the state machine stores what this yields.

use super::classify::{check_sync, required, terminated};
use super::normalize::NormalizedRow;
use super::{field, DropReason, Profile, WorkdayParams};
use chrono::NaiveDate;
use std::collections::HashSet;

/// A field the runtime sets on a new profile besides the row's: its name and value.
pub type RuntimeField = (&'static str, &'static str);

/// First-run selection, one row at a time in report order: the profile to create, or why
/// none is. A row is skipped
/// when it lacks email, employee id or hire date (D3), its hire is beyond
/// `days_before_hire_to_sync` (D1), an earlier row already took its email (D2), or it is
/// terminated. A profile whose hire is beyond `days_before_hire_to_enable_ad` gets
/// `adaccountstatus = Pending`; otherwise the AD status stays unset.
pub struct FirstRun<'a> {
    params: &'a WorkdayParams,
    today: NaiveDate,
    emails: HashSet<String>,
}

impl<'a> FirstRun<'a> {
    pub fn new(params: &'a WorkdayParams, today: NaiveDate) -> Self {
        Self {
            params,
            today,
            emails: HashSet::new(),
        }
    }

    pub fn select(&mut self, row: &NormalizedRow) -> Result<Profile, DropReason> {
        let pending = self.admit(row)?;
        let mut profile = row.profile();
        if let Some((name, value)) = pending {
            profile.insert(name.into(), value.into());
        }
        Ok(profile)
    }

    /// [`FirstRun::select`] without the profile: whether the row makes one, and the field
    /// the profile gets besides the row's (`adaccountstatus = Pending`) when it does.
    pub fn admit(&mut self, row: &NormalizedRow) -> Result<Option<RuntimeField>, DropReason> {
        let (params, today) = (self.params, self.today);
        let hire = required(row)?;
        check_sync(hire, params, today)?;
        if self.emails.contains(row.email()) {
            return Err(DropReason::EmailTaken);
        }
        if terminated(row, params, today) {
            return Err(DropReason::TerminatedUnknownUser);
        }
        self.emails.insert(row.email().to_owned());
        Ok((!params.ad_reached(hire, today)).then_some((field::AD_ACCOUNT_STATUS, "Pending")))
    }
}

/// [`FirstRun::select`] over rows.
pub fn first_run_profiles<'a>(
    rows: impl IntoIterator<Item = NormalizedRow> + 'a,
    params: &'a WorkdayParams,
    today: NaiveDate,
) -> impl Iterator<Item = Result<Profile, DropReason>> + 'a {
    let mut selection = FirstRun::new(params, today);
    rows.into_iter().map(move |row| selection.select(&row))
}
