//! The accidental-deletion guard: a report that would make more than `max_orphan_percent`
//! of the people this source knows orphans stops the fetch before anything is written,
//! until a person approves that one fetch. A truncated or filtered report then asks nobody
//! about terminating anybody, and the next fetch reads the report again.

use serde::Serialize;

/// The default share of known people a fetch may orphan without approval.
pub const DEFAULT_MAX_ORPHAN_PERCENT: u8 = 10;

/// The guard of one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrphanGuard {
    /// `max_orphan_percent`, 0 to 100 (100 turns the guard off).
    pub max_percent: u8,
    /// A person approved this fetch (`ilm fetch INSTANCE --approve-orphans`).
    pub approved: bool,
}

impl Default for OrphanGuard {
    fn default() -> Self {
        Self {
            max_percent: DEFAULT_MAX_ORPHAN_PERCENT,
            approved: false,
        }
    }
}

/// A fetch stopped for approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error(
    "{instance}: the report would make {orphans} of the {known} people this source knows orphans \
     ({percent} %), more than max_orphan_percent ({max_percent} %). Nothing was created: a report \
     that lost people by mistake would otherwise ask about terminating every one of them. If the \
     report is right, approve this fetch once with `ilm fetch {instance} --approve-orphans` (or \
     raise the instance's max_orphan_percent)",
    percent = self.percent()
)]
pub struct OrphanHold {
    pub instance: String,
    pub orphans: usize,
    pub known: usize,
    pub max_percent: u8,
}

impl OrphanHold {
    /// The share of known people orphaned, rounded up so it never reads as within the limit.
    fn percent(&self) -> u128 {
        (wide(self.orphans) * 100).div_ceil(wide(self.known).max(1))
    }
}

impl OrphanGuard {
    /// Whether a fetch of `instance` whose report orphans `orphans` of `known` people may go on.
    pub fn check(&self, instance: &str, orphans: usize, known: usize) -> Result<(), OrphanHold> {
        // Integer arithmetic, wide enough never to overflow: exactly the limit passes, one
        // more person does not.
        let over = wide(orphans) * 100 > u128::from(self.max_percent) * wide(known);
        match self.approved || !over {
            true => Ok(()),
            false => Err(OrphanHold {
                instance: instance.to_owned(),
                orphans,
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

    #[test]
    fn more_than_the_share_stops_and_approval_lets_it_through() {
        let guard = OrphanGuard::default();
        assert_eq!(guard.check("hr", 0, 0), Ok(()));
        assert_eq!(guard.check("hr", 1, 10), Ok(()), "exactly 10 % passes");
        let hold = guard.check("hr", 2, 10).unwrap_err();
        assert_eq!((hold.orphans, hold.known, hold.max_percent), (2, 10, 10));
        let message = hold.to_string();
        assert!(
            message.starts_with("hr: the report would make 2 of the 10 people")
                && message.contains("(20 %)")
                && message.contains("`ilm fetch hr --approve-orphans`")
                && message.contains("Nothing was created"),
            "{message}"
        );
        assert_eq!(guard.check("hr", 1, 3).unwrap_err().percent(), 34);
        let approved = OrphanGuard {
            approved: true,
            ..guard
        };
        assert_eq!(approved.check("hr", 10, 10), Ok(()));
        let off = OrphanGuard {
            max_percent: 100,
            approved: false,
        };
        assert_eq!(off.check("hr", 10, 10), Ok(()));
        let strict = OrphanGuard {
            max_percent: 0,
            approved: false,
        };
        assert!(strict.check("hr", 1, 1000).is_err());
    }
}
