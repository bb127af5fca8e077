//! Translation between protobuf messages and domain values: parameters in
//! (parsed and checked, field paths as the request spells them), results out.
//! Shared helpers here; one file per resource.

mod client;
mod token;
mod token_wire;

pub use client::{CLIENT_UPDATABLE, client, client_patch, new_client};
pub use token::{TOKEN_UPDATABLE, new_token, token, token_patch};
pub use token_wire::encode_tokens;

use pbjson_types::{Duration, FieldMask, Timestamp as PbTimestamp};

use crate::domain::ids::ParseId;
use crate::domain::query::{PageBounds, PageRequest, PageSize, PageStart};
use crate::domain::validate::{self, Violations};
use crate::domain::{Error, Result, Timestamp};

/// Longest accepted client lifetime setting: ten years.
const MAX_DURATION_SECS: i64 = 10 * 365 * 86_400;

pub fn timestamp(t: Timestamp) -> PbTimestamp {
    PbTimestamp {
        seconds: t.seconds(),
        nanos: t.subsec_nanos(),
    }
}

pub(crate) fn parse_timestamp(field: &str, t: &PbTimestamp) -> Result<Timestamp> {
    Timestamp::from_parts(t.seconds, t.nanos)
        .filter(|t| t.micros() > 0)
        .ok_or_else(|| Error::invalid(field, "is not a valid timestamp"))
}

pub(super) fn parse_duration(field: &str, d: &Duration) -> Result<i64> {
    if d.nanos != 0 || d.seconds <= 0 || d.seconds > MAX_DURATION_SECS {
        return Err(Error::invalid(
            field,
            format!("must be a whole number of seconds between 1 and {MAX_DURATION_SECS}"),
        ));
    }
    Ok(d.seconds)
}

/// The page request of a List call: AIP-158 size plus one start mode.
pub fn page_request(
    bounds: PageBounds,
    page_size: i32,
    page_token: &str,
    skip: i32,
    page_number: i32,
) -> Result<PageRequest> {
    let size = PageSize::aip("page_size", i64::from(page_size), bounds)?;
    let start = PageStart::from_fields(page_token, i64::from(skip), i64::from(page_number), size)?;
    Ok(PageRequest { size, start })
}

pub(super) fn opt_id<T: ParseId>(v: &mut Violations, field: &str, s: &str) -> Option<T> {
    if s.is_empty() {
        None
    } else {
        v.check(validate::id(field, s))
    }
}

/// Each item parsed by `f` (violations name `field[i]`), duplicates dropped.
pub(super) fn list<T: PartialEq>(
    v: &mut Violations,
    field: &str,
    items: &[String],
    f: fn(&str, &str) -> Result<T>,
) -> Vec<T> {
    if items.len() > validate::MAX_LIST {
        v.push(field, format!("at most {} entries", validate::MAX_LIST));
        return Vec::new();
    }
    let mut out: Vec<T> = Vec::new();
    for (i, s) in items.iter().enumerate() {
        if let Some(x) = v.check(f(&format!("{field}[{i}]"), s))
            && !out.contains(&x)
        {
            out.push(x);
        }
    }
    out
}

/// The paths of an update mask; an empty mask means "the fields that are set".
pub(super) fn mask_paths(
    mask: Option<&FieldMask>,
    allowed: &[&str],
    set: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let paths: Vec<String> = mask.map(|m| m.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        return Ok(allowed
            .iter()
            .filter(|p| set(p))
            .map(|p| (*p).to_owned())
            .collect());
    }
    if paths.iter().any(|p| p == "*") {
        return Ok(allowed.iter().map(|p| (*p).to_owned()).collect());
    }
    let mut v = Violations::default();
    for p in &paths {
        if !allowed.contains(&p.as_str()) {
            v.push(
                "update_mask",
                format!(
                    "{} cannot be updated; updatable: {}",
                    crate::domain::error::quote(p),
                    allowed.join(", ")
                ),
            );
        }
    }
    v.finish()?;
    Ok(paths)
}
