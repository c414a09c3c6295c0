//! The accidental-deletion guard: a report that would terminate or orphan, together, more
//! than `max_orphan_percent` of the people this source knows stops the fetch before
//! anything is written, until a person approves that one fetch. A truncated or filtered
//! report (people missing: orphans) or an HR export bug (people marked Terminated) then
//! removes nobody, and the next fetch reads the report again. One person is never held:
//! a single leaver is not a mass removal, and a small population would otherwise need an
//! approval for each.

use serde::Serialize;

/// The default share of known people a fetch may remove without approval.
pub const DEFAULT_MAX_REMOVAL_PERCENT: u8 = 10;

/// The guard of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemovalGuard {
    /// `max_orphan_percent`, 0 to 100 (100 turns the guard off).
    pub max_percent: u8,
    /// A person approved this fetch (`ilm fetch INSTANCE --approve-removals`).
    pub approved: bool,
}

impl Default for RemovalGuard {
    fn default() -> Self {
        Self {
            max_percent: DEFAULT_MAX_REMOVAL_PERCENT,
            approved: false,
        }
    }
}

/// What a report would remove: people it marks terminated, and people it no longer has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Removals {
    pub terminations: usize,
    pub orphans: usize,
}

impl Removals {
    fn total(self) -> u128 {
        wide(self.terminations) + wide(self.orphans)
    }
}

/// A fetch stopped for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error(
    "{instance}: the report would terminate {terminations} and orphan {orphans} of the {known} \
     people this source knows ({percent} % together), more than max_orphan_percent \
     ({max_percent} %). Nothing was created: a report that lost people or marked them \
     terminated by mistake would otherwise start removing every one of them. If the report is \
     right, approve this fetch once with `ilm fetch {instance} --approve-removals` (or raise \
     the instance's max_orphan_percent)",
    terminations = self.removals.terminations,
    orphans = self.removals.orphans,
    percent = self.percent()
)]
pub struct RemovalHold {
    pub instance: String,
    pub removals: Removals,
    pub known: usize,
    pub max_percent: u8,
}

impl RemovalHold {
    /// The share of known people removed, rounded up so it never reads as within the limit.
    fn percent(&self) -> u128 {
        (self.removals.total() * 100).div_ceil(wide(self.known).max(1))
    }
}

impl RemovalGuard {
    /// Whether a fetch of `instance` whose report removes `removals` of `known` people may
    /// go on.
    pub fn check(
        &self,
        instance: &str,
        removals: Removals,
        known: usize,
    ) -> Result<(), RemovalHold> {
        // Integer arithmetic, wide enough never to overflow: exactly the limit passes, one
        // more person does not.
        let over = removals.total() > 1
            && removals.total() * 100 > u128::from(self.max_percent) * wide(known);
        match self.approved || !over {
            true => Ok(()),
            false => Err(RemovalHold {
                instance: instance.to_owned(),
                removals,
                known,
                max_percent: self.max_percent,
            }),
        }
    }
}

/// A count widened for arithmetic that cannot overflow.
fn wide(count: usize) -> u128 {
    u128::try_from(count).unwrap_or(u128::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removing(terminations: usize, orphans: usize) -> Removals {
        Removals {
            terminations,
            orphans,
        }
    }

    #[test]
    fn more_than_the_share_stops_and_approval_lets_it_through() {
        let guard = RemovalGuard::default();
        assert_eq!(guard.check("hr", removing(0, 0), 0), Ok(()));
        assert_eq!(
            guard.check("hr", removing(0, 1), 10),
            Ok(()),
            "exactly 10 % passes"
        );
        let hold = guard.check("hr", removing(0, 2), 10).unwrap_err();
        assert_eq!(
            (hold.removals, hold.known, hold.max_percent),
            (removing(0, 2), 10, 10)
        );
        let message = hold.to_string();
        assert!(
            message.starts_with("hr: the report would terminate 0 and orphan 2 of the 10 people")
                && message.contains("(20 % together)")
                && message.contains("`ilm fetch hr --approve-removals`")
                && message.contains("Nothing was created"),
            "{message}"
        );
        assert_eq!(
            guard.check("hr", removing(0, 2), 6).unwrap_err().percent(),
            34
        );
        let approved = RemovalGuard {
            approved: true,
            ..guard
        };
        assert_eq!(approved.check("hr", removing(5, 5), 10), Ok(()));
        let off = RemovalGuard {
            max_percent: 100,
            approved: false,
        };
        assert_eq!(off.check("hr", removing(5, 5), 10), Ok(()));
        let strict = RemovalGuard {
            max_percent: 0,
            approved: false,
        };
        assert!(strict.check("hr", removing(1, 1), 1000).is_err());
    }

    #[test]
    fn one_person_alone_is_never_held() {
        let guard = RemovalGuard::default();
        assert_eq!(guard.check("hr", removing(1, 0), 1), Ok(()));
        assert_eq!(guard.check("hr", removing(0, 1), 2), Ok(()));
        assert!(guard.check("hr", removing(1, 1), 2).is_err());
    }

    #[test]
    fn terminations_count_with_orphans() {
        let guard = RemovalGuard::default();
        assert_eq!(guard.check("hr", removing(1, 0), 10), Ok(()));
        let hold = guard.check("hr", removing(2, 0), 10).unwrap_err();
        assert!(
            hold.to_string()
                .starts_with("hr: the report would terminate 2 and orphan 0 of the 10 people"),
            "{hold}"
        );
        // Each alone within the share, together over it.
        assert!(guard.check("hr", removing(1, 1), 10).is_err());
    }
}
