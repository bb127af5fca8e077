//! Timestamps are UTC instants with microsecond precision, stored as integer
//! microseconds since the Unix epoch on both backends. One representation
//! means both databases compare, sort and round-trip times identically.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// A UTC instant with microsecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        Timestamp(Utc::now().timestamp_micros())
    }

    pub fn from_micros(us: i64) -> Self {
        Timestamp(us)
    }

    pub fn micros(self) -> i64 {
        self.0
    }

    /// From seconds + nanoseconds (as in `google.protobuf.Timestamp`); the
    /// nanoseconds below a microsecond are dropped. `None` when out of range.
    pub fn from_parts(seconds: i64, nanos: i32) -> Option<Self> {
        if !(0..1_000_000_000).contains(&nanos) {
            return None;
        }
        seconds
            .checked_mul(1_000_000)
            .and_then(|s| s.checked_add(i64::from(nanos / 1000)))
            .map(Timestamp)
    }

    pub fn seconds(self) -> i64 {
        self.0.div_euclid(1_000_000)
    }

    pub fn subsec_nanos(self) -> i32 {
        // rem_euclid(1_000_000) < 1e6, so the product fits in i32.
        (self.0.rem_euclid(1_000_000) * 1000) as i32
    }

    /// Parses an RFC 3339 date-time with any offset.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|d| Timestamp(d.with_timezone(&Utc).timestamp_micros()))
    }

    /// Parses an RFC 3339 date-time exactly: the instant rounded down to a
    /// microsecond, and whether digits below a microsecond were dropped
    /// (so a comparison can round the right way for its operator).
    pub fn parse_rfc3339_exact(s: &str) -> Option<(Self, bool)> {
        DateTime::parse_from_rfc3339(s).ok().map(|d| {
            let d = d.with_timezone(&Utc);
            (
                Timestamp(d.timestamp_micros()),
                d.timestamp_subsec_nanos() % 1000 != 0,
            )
        })
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// RFC 3339 in UTC with `Z`, as every wire of this service writes times.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }

    pub fn plus_seconds(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1_000_000)))
    }
}
