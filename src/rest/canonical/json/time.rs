//! Timestamps as the canonical API writes them (grpcurl's form), the
//! common case computed without chrono: see [`Stamp`].

use chrono::{DateTime, Datelike, SecondsFormat, Utc};
use pbjson_types::Timestamp;
use serde::ser::Error as _;
use serde::{Serialize, Serializer};

/// A timestamp as grpcurl prints it: UTC with `Z` and 0, 3, 6 or 9
/// fractional digits. A year outside 0..=9999 has no RFC 3339 form; it is
/// written as pbjson writes it (`+10000-01-01T00:00:00+00:00`), as before.
pub(super) struct Time<'a>(pub(super) &'a Timestamp);

impl Serialize for Time<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if let Some(stamp) = Stamp::of(self.0) {
            return s.serialize_str(stamp.as_str().map_err(S::Error::custom)?);
        }
        let t = DateTime::<Utc>::try_from(*self.0).map_err(S::Error::custom)?;
        if (0..=9999).contains(&t.year()) {
            s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
        } else {
            s.serialize_str(&t.to_rfc3339())
        }
    }
}

/// Seconds since the epoch of 0000-01-01T00:00:00Z and of
/// 9999-12-31T23:59:59Z: the times RFC 3339 can write.
pub(super) const FIRST_SECOND: i64 = -62_167_219_200;
pub(super) const LAST_SECOND: i64 = 253_402_300_799;

/// A timestamp as chrono's `to_rfc3339_opts(SecondsFormat::AutoSi, true)`
/// writes it, computed from the seconds and written into a buffer on the
/// stack: a 100-token page has 300 timestamps, and chrono's conversion and
/// formatter (through `fmt::Write` into a new `String` each) were 8% of the
/// page's CPU (docs/performance.md). `None` for what only chrono writes
/// right (or refuses): a time outside years 0..=9999, nanos outside
/// 0..1e9.
struct Stamp {
    buf: [u8; 30],
    len: usize,
}

impl Stamp {
    fn of(t: &Timestamp) -> Option<Stamp> {
        let nanos = u32::try_from(t.nanos).ok().filter(|n| *n < 1_000_000_000)?;
        if !(FIRST_SECOND..=LAST_SECOND).contains(&t.seconds) {
            return None;
        }
        let (year, month, day) = civil(t.seconds.div_euclid(86_400));
        let second = t.seconds.rem_euclid(86_400) as u32;
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        let fields = [
            (0..4, year),
            (5..7, month),
            (8..10, day),
            (11..13, second / 3600),
            (14..16, second / 60 % 60),
            (17..19, second % 60),
        ];
        for (at, v) in fields {
            digits(&mut buf[at], v);
        }
        let places = match nanos {
            0 => 0,
            n if n % 1_000_000 == 0 => 3,
            n if n % 1_000 == 0 => 6,
            _ => 9,
        };
        let mut len = 19;
        if places > 0 {
            digits(
                &mut buf[20..20 + places],
                nanos / 10u32.pow(9 - places as u32),
            );
            len = 20 + places;
        }
        buf[len] = b'Z';
        Some(Stamp { buf, len: len + 1 })
    }

    fn as_str(&self) -> Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.buf[..self.len])
    }
}

/// The proleptic Gregorian (year, month, day) of `days` since 1970-01-01,
/// for years 0..=9999 (Howard Hinnant's `civil_from_days`).
fn civil(days: i64) -> (u32, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as u32, month as u32, day as u32)
}

/// `v`'s last `out.len()` decimal digits, zero-padded, into `out`.
fn digits(out: &mut [u8], mut v: u32) {
    for d in out.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}
