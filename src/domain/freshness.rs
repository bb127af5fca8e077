//! Freshness: what tells a reader that an answer it computed earlier still
//! holds. The organization's change-feed version is one half: while it is
//! the same, nothing in the organization was written (the contract is only
//! "same version ⇒ nothing changed"; a different version may change
//! nothing). The clock is the other half: a token's status moves at its
//! `expires_at` (and, for a walk's fixed instant, at its `revoked_at`)
//! with no write at all, so an answer that shows or filters by status also
//! needs the instant to stay inside one [`StatusWindow`].

use super::change::Version;
use super::error::Error;
use super::time::Timestamp;

/// The message of a write refused because the organization is no longer
/// at the version it was made conditional on ([`stale`]).
const STALE: &str = "the organization changed since the version this write was made conditional on";

/// The error of a conditional write whose organization moved past
/// `expected`: FAILED_PRECONDITION, told apart from other failed
/// preconditions by [`is_stale`].
pub fn stale(expected: Version) -> Error {
    Error::FailedPrecondition(format!("{STALE} ({})", expected.0))
}

/// Whether `e` is a [`stale`] refusal.
pub fn is_stale(e: &Error) -> bool {
    matches!(e, Error::FailedPrecondition(m) if m.starts_with(STALE))
}

/// The instants around a reference instant during which no token of an
/// organization changes status by time alone: from the latest `expires_at`
/// or `revoked_at` at or before it (inclusive) to the earliest one after
/// it (exclusive); `None` is unbounded. Every token's `expires_at` and
/// `revoked_at` counts, whatever a filter selects, so one window serves
/// every filter (it is narrower than a filter's own, never wider). Valid
/// only while the organization's version is the one it was read at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusWindow {
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

impl StatusWindow {
    /// The window from the store's four bounds: the latest expiry and
    /// revocation at or before the reference instant, and the earliest
    /// ones after it.
    pub fn around(
        expired: Option<Timestamp>,
        revoked: Option<Timestamp>,
        next_expiry: Option<Timestamp>,
        next_revocation: Option<Timestamp>,
    ) -> Self {
        let later = |a: Option<Timestamp>, b: Option<Timestamp>| a.max(b);
        let sooner = |a: Option<Timestamp>, b: Option<Timestamp>| match (a, b) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        StatusWindow {
            from: later(expired, revoked),
            until: sooner(next_expiry, next_revocation),
        }
    }

    /// Whether every token has the same status at `t` as at the reference
    /// instant (status flips exactly at `expires_at <= t`, `revoked_at <= t`).
    pub fn contains(&self, t: Timestamp) -> bool {
        self.from.is_none_or(|f| f <= t) && self.until.is_none_or(|u| t < u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(us: i64) -> Option<Timestamp> {
        Some(Timestamp::from_micros(us))
    }

    #[test]
    fn the_window_is_between_the_nearest_flips() {
        let w = StatusWindow::around(at(10), at(20), at(50), at(40));
        assert_eq!(w.from, at(20));
        assert_eq!(w.until, at(40));
        assert!(w.contains(Timestamp::from_micros(20)), "from is inclusive");
        assert!(w.contains(Timestamp::from_micros(39)));
        assert!(
            !w.contains(Timestamp::from_micros(40)),
            "until is exclusive"
        );
        assert!(!w.contains(Timestamp::from_micros(19)));
    }

    #[test]
    fn missing_bounds_are_unbounded() {
        let w = StatusWindow::around(None, None, None, at(7));
        assert!(w.contains(Timestamp::from_micros(i64::MIN)));
        assert!(!w.contains(Timestamp::from_micros(7)));
        let all = StatusWindow::around(None, None, None, None);
        assert!(all.contains(Timestamp::from_micros(i64::MAX)));
    }
}
