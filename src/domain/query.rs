//! The one query model. Every listing, whatever face it came through, becomes
//! a `Query` of tokens or of clients: tenant, filters, sort, and a page
//! request.
//! Values here are already parsed and checked, so the store never sees input
//! it has to distrust.

use super::change::Version;
use super::error::{Error, Result};
use super::glob::NameGlob;
use super::ids::OrgId;
use super::model::{Client, Token, TokenKind, TokenStatus};
use super::oauth::{GrantType, Scope};
use super::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Asc => "asc",
            Direction::Desc => "desc",
        }
    }
}

/// Fields tokens can be sorted by; ties are always broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenSortField {
    #[default]
    Created,
    Updated,
    Name,
    Status,
    Id,
    Expires,
}

impl TokenSortField {
    /// A token's value of this field, for its keyset position as of the
    /// walk's instant; `None` for `Id`, which the position holds anyway.
    pub fn value(self, t: &Token, now: Timestamp) -> Option<SortValue> {
        Some(match self {
            TokenSortField::Created => SortValue::Int(t.created_at.micros()),
            TokenSortField::Updated => SortValue::Int(t.updated_at.micros()),
            TokenSortField::Name => SortValue::Text(t.name.clone()),
            TokenSortField::Status => SortValue::Int(t.status_at(now).rank()),
            TokenSortField::Expires => SortValue::Int(t.expires_at.micros()),
            TokenSortField::Id => return None,
        })
    }
}

/// Fields clients can be sorted by; ties are always broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientSortField {
    #[default]
    Created,
    Updated,
    Name,
    Id,
}

impl ClientSortField {
    /// As [`TokenSortField::value`].
    pub fn value(self, c: &Client) -> Option<SortValue> {
        Some(match self {
            ClientSortField::Created => SortValue::Int(c.created_at.micros()),
            ClientSortField::Updated => SortValue::Int(c.updated_at.micros()),
            ClientSortField::Name => SortValue::Text(c.name.clone()),
            ClientSortField::Id => return None,
        })
    }
}

/// A sort field plus direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Sort<F> {
    pub field: F,
    pub direction: Direction,
}

/// Token filters; `None` means "no restriction". Time ranges are
/// `[from, to)`: from inclusive, to exclusive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenFilter {
    pub client_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<TokenStatus>,
    pub created_from: Option<Timestamp>,
    pub created_to: Option<Timestamp>,
    pub updated_from: Option<Timestamp>,
    pub updated_to: Option<Timestamp>,
    /// Every listed scope must be granted.
    pub scopes: Vec<Scope>,
    pub name: Option<NameGlob>,
    pub kind: Option<TokenKind>,
}

impl TokenFilter {
    /// A stable text form; cursors are bound to its hash. The destructuring
    /// names every field (no `..`), so a new filter field that is left out
    /// here is a compile error, never a page token reusable across filters.
    pub fn canonical(&self) -> String {
        let TokenFilter {
            client_id,
            user_id,
            status,
            created_from,
            created_to,
            updated_from,
            updated_to,
            scopes,
            name,
            kind,
        } = self;
        format!(
            "client={:?};user={:?};status={:?};created=[{:?},{:?});updated=[{:?},{:?});scopes={:?};name={:?};kind={:?}",
            client_id,
            user_id,
            status.map(TokenStatus::as_str),
            created_from.map(Timestamp::micros),
            created_to.map(Timestamp::micros),
            updated_from.map(Timestamp::micros),
            updated_to.map(Timestamp::micros),
            scopes,
            name.as_ref().map(NameGlob::as_str),
            kind.map(TokenKind::as_str),
        )
    }
}

impl TokenFilter {
    /// Whether the rows it selects depend on the instant it is evaluated
    /// at, not only on the data: status is derived from the clock.
    pub fn depends_on_clock(&self) -> bool {
        self.status.is_some()
    }
}

/// Client filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientFilter {
    pub name: Option<NameGlob>,
    pub grant_type: Option<GrantType>,
    pub public: Option<bool>,
}

impl ClientFilter {
    /// As [`TokenFilter::canonical`]: every field named, none forgotten.
    pub fn canonical(&self) -> String {
        let ClientFilter {
            name,
            grant_type,
            public,
        } = self;
        format!(
            "name={:?};grant={:?};public={:?}",
            name.as_ref().map(NameGlob::as_str),
            grant_type,
            public
        )
    }
}

/// Page-size rules of one face: what 0 (or absence) means and the ceiling.
#[derive(Debug, Clone, Copy)]
pub struct PageBounds {
    pub default: u32,
    pub max: u32,
}

/// gRPC and canonical REST unary listings (AIP-158).
pub const LIST_BOUNDS: PageBounds = PageBounds {
    default: 50,
    max: 1000,
};
/// Pages of the streaming RPCs: the largest by default, since a stream is a
/// bulk read and each page costs a query and a cursor (1000 rather than 500
/// streamed a million rows ~13% faster on PostgreSQL; a page is ~200 KB).
pub const STREAM_BOUNDS: PageBounds = PageBounds {
    default: 1000,
    max: 1000,
};

/// A checked page size: always within `1..=max` of its face.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// AIP-158: 0 → the default, above the max → the max, negative → error.
    pub fn aip(field: &str, raw: i64, bounds: PageBounds) -> Result<Self> {
        match raw {
            r if r < 0 => Err(Error::invalid(field, "must not be negative")),
            0 => Ok(PageSize(bounds.default)),
            r => Ok(PageSize(r.min(i64::from(bounds.max)) as u32)),
        }
    }

    /// Strict bounds (dialects that reject out-of-range sizes).
    pub fn strict(field: &str, raw: i64, min: u32, max: u32) -> Result<Self> {
        if raw < i64::from(min) || raw > i64::from(max) {
            return Err(Error::invalid(
                field,
                format!("must be between {min} and {max}"),
            ));
        }
        Ok(PageSize(raw as u32))
    }

    /// Values at or above `max` become `max`; below 1 becomes 1.
    pub fn clamped(raw: i64, max: u32) -> Self {
        PageSize(raw.clamp(1, i64::from(max)) as u32)
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// The first page.
    First,
    /// After the row a cursor points at (keyset; same cost at any depth).
    Cursor(String),
    /// After skipping this many rows (offset and page-number modes).
    Offset(u64),
}

/// Largest accepted offset: deep offsets scan what they skip, so past this
/// point callers must use cursors.
pub const MAX_OFFSET: u64 = 10_000_000;

impl PageStart {
    /// From the three mutually exclusive AIP-style fields. Zero / empty means
    /// "not given".
    pub fn from_fields(
        page_token: &str,
        skip: i64,
        page_number: i64,
        size: PageSize,
    ) -> Result<Self> {
        let given = [!page_token.is_empty(), skip != 0, page_number != 0];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(Error::invalid(
                "page_token",
                "set at most one of page_token, skip and page_number",
            ));
        }
        if skip < 0 {
            return Err(Error::invalid("skip", "must not be negative"));
        }
        if page_number < 0 {
            return Err(Error::invalid("page_number", "must be 1 or more"));
        }
        if !page_token.is_empty() {
            return Ok(PageStart::Cursor(page_token.to_owned()));
        }
        let offset = if page_number > 0 {
            (page_number as u64 - 1) * u64::from(size.get())
        } else {
            skip as u64
        };
        Self::offset("skip", offset)
    }

    pub fn offset(field: &str, offset: u64) -> Result<Self> {
        if offset > MAX_OFFSET {
            return Err(Error::invalid(
                field,
                format!("offset above {MAX_OFFSET}; use page tokens to go deeper"),
            ));
        }
        Ok(if offset == 0 {
            PageStart::First
        } else {
            PageStart::Offset(offset)
        })
    }
}

/// A page request in any mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: PageSize,
    pub start: PageStart,
}

/// The value of the sort key of a row, as carried in cursors and bound to SQL.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// A keyset position: strictly after (in sort order) the row with these
/// values. `key` is the row's value of the sort field; `None` when the
/// field is the id itself, which `id` already carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub key: Option<SortValue>,
    pub id: String,
}

/// What the store needs to fetch one page of a resource: the tenant, the
/// resource's filter `F`, its sort field `S`, and where the page starts.
#[derive(Debug, Clone)]
pub struct Query<F, S> {
    pub org_id: OrgId,
    pub filter: F,
    pub sort: Sort<S>,
    /// The instant status is evaluated at; fixed for a whole cursor walk so
    /// the order and the status filter cannot shift under it (tokens only:
    /// clients have no derived fields).
    pub now: Timestamp,
    pub after: Option<Position>,
    pub offset: u64,
    pub limit: u32,
}

/// One page of tokens.
pub type TokenQuery = Query<TokenFilter, TokenSortField>;
/// One page of clients.
pub type ClientQuery = Query<ClientFilter, ClientSortField>;

/// One page of results.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Cursor for the next page; `None` exactly when this is the last page.
    pub next_page_token: Option<String>,
    /// Filled only when the caller asked for it.
    pub total_size: Option<u64>,
    /// The change-feed version the listing was read at (see
    /// `Registry::list`): a watch from it misses no later change.
    pub read_version: Version,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aip_page_size_rules() {
        assert_eq!(
            PageSize::aip("page_size", 0, LIST_BOUNDS).unwrap().get(),
            50
        );
        assert_eq!(
            PageSize::aip("page_size", 5000, LIST_BOUNDS).unwrap().get(),
            1000
        );
        assert_eq!(PageSize::aip("page_size", 7, LIST_BOUNDS).unwrap().get(), 7);
        assert!(PageSize::aip("page_size", -1, LIST_BOUNDS).is_err());
    }

    #[test]
    fn page_modes_are_exclusive() {
        let s = PageSize::aip("page_size", 10, LIST_BOUNDS).unwrap();
        assert!(PageStart::from_fields("t", 5, 0, s).is_err());
        assert_eq!(
            PageStart::from_fields("", 0, 3, s).unwrap(),
            PageStart::Offset(20)
        );
        assert_eq!(
            PageStart::from_fields("", 0, 1, s).unwrap(),
            PageStart::First
        );
        assert!(PageStart::from_fields("", -1, 0, s).is_err());
    }
}
