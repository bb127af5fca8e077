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

/// Whether `e` is a [`stale`] refusal, or a write refused by
/// [`Preconditions::check_etag`].
pub fn is_stale(e: &Error) -> bool {
    matches!(e, Error::FailedPrecondition(m) if m.starts_with(STALE) || m.starts_with(STALE_ETAG))
}

/// The message of a write refused because the resource's etag moved.
const STALE_ETAG: &str = "etag mismatch";

/// A resource's AIP-154 etag: it changes with every write of the resource.
/// Every write moves `updated_at` strictly forward (`patch.rs`) except a
/// revocation, which sets it to the revocation's instant and is told apart
/// by `revoked`. Derived, not stored, and cheap: listings and streams carry
/// one per row. A client's `last_used` is not in it: a token issued through
/// the client does not make the client's editor's etag stale.
pub fn etag(updated_at: Timestamp, revoked: bool) -> String {
    Etag::of(updated_at, revoked).as_str().to_owned()
}

/// [`etag`]'s text on the stack, for a face that writes it straight into
/// a response (StreamTokens' pages) without a `String` per row.
#[derive(Debug, Clone, Copy)]
pub struct Etag {
    text: [u8; 17],
    len: u8,
}

impl Etag {
    pub fn of(updated_at: Timestamp, revoked: bool) -> Self {
        // `updated_at` in lowercase hex (as `{:x}` writes it), written
        // directly: through `format!` it was ~2% of a stream's CPU.
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let bits = updated_at.micros() as u64;
        let digits = ((67 - (bits | 1).leading_zeros()) / 4) as usize;
        let mut text = [0u8; 17];
        for (i, b) in text[..digits].iter_mut().enumerate() {
            *b = HEX[((bits >> ((digits - 1 - i) * 4)) & 0xf) as usize];
        }
        let mut len = digits;
        if revoked {
            text[len] = b'r';
            len += 1;
        }
        Etag {
            text,
            len: len as u8,
        }
    }

    pub fn as_str(&self) -> &str {
        // Hex digits and `r` only: always ASCII, so never the default.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    /// The text's bytes, unchecked (a face writing them as they are).
    pub fn as_bytes(&self) -> &[u8] {
        &self.text[..usize::from(self.len)]
    }
}

/// What a write is conditional on; the default is nothing. Both may hold
/// (a canonical REST `PATCH` with `If-Match` and an `etag` in its body).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// The organization is still at this version (REST `If-Match`).
    pub version: Option<Version>,
    /// The resource written still has this etag (AIP-154 `etag`).
    pub etag: Option<String>,
}

impl Preconditions {
    /// Whether the write must hold its organization's lock exclusively:
    /// a version precondition must see every other write of the
    /// organization committed; an etag needs only its row's lock.
    pub fn needs_org_lock(&self) -> bool {
        self.version.is_some()
    }

    /// Refuses the write unless the resource (`kind`) still has the etag
    /// the caller sent; `current` is its etag as read inside the write.
    pub fn check_etag(&self, kind: &str, current: &str) -> Result<(), Error> {
        match &self.etag {
            Some(sent) if sent != current => {
                let shown: String = sent.chars().take(24).collect();
                Err(Error::FailedPrecondition(format!(
                    "{STALE_ETAG}: the {kind} changed since etag \"{shown}\" was read; read it again"
                )))
            }
            _ => Ok(()),
        }
    }
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

    #[test]
    fn an_etag_is_the_update_time_in_hex() {
        for us in [
            0,
            1,
            15,
            16,
            255,
            1_764_996_003_620_924,
            i64::MAX,
            -1,
            i64::MIN,
        ] {
            let t = Timestamp::from_micros(us);
            assert_eq!(etag(t, false), format!("{us:x}"));
            assert_eq!(etag(t, true), format!("{us:x}r"));
        }
    }

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
    fn an_etag_names_the_write_it_was_read_after() {
        let t = Timestamp::from_micros(1_700_000_000_000_000);
        assert_ne!(etag(t, false), etag(t, true));
        assert_ne!(
            etag(t, false),
            etag(Timestamp::from_micros(t.micros() + 1), false)
        );
        let p = Preconditions {
            version: None,
            etag: Some(etag(t, false)),
        };
        assert!(p.check_etag("token", &etag(t, false)).is_ok());
        let e = p.check_etag("token", &etag(t, true)).expect_err("moved");
        assert!(is_stale(&e), "{e}");
        assert!(!p.needs_org_lock());
        assert!(Preconditions::default().check_etag("token", "x").is_ok());
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
