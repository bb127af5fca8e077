//! List columns: TEXT holding a JSON array of strings (scopes, grant types,
//! redirect URIs). A token's scopes decode straight from the row's borrowed
//! text into [`ScopeList`], so the column's text is never copied into a
//! `String` of its own first (one allocation per streamed row).

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode};

use crate::domain::oauth::Scope;
use crate::domain::{Error, Result};

pub fn json_list(s: &str) -> Result<Vec<String>> {
    if let Some(v) = plain_list(s) {
        return Ok(v);
    }
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("corrupt list column: {e}").into()))
}

/// The list as `to_json_list` writes it when no value needs escaping
/// (always, for scopes): `["a","b"]`. Without a backslash no value holds a
/// quote, so splitting on `","` is exact; anything else (spacing, escapes)
/// is left to serde_json. Streaming a million tokens spent ~5% of the
/// server's CPU parsing scopes through serde_json.
fn plain_list(s: &str) -> Option<Vec<String>> {
    if s.contains('\\') {
        return None;
    }
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some(Vec::new());
    }
    // `"a","b"` split on quotes is `a`, `,`, `b` (and empty ends): values
    // at even places, separators between. Splitting on the three-byte
    // `","` took a substring searcher's setup per row (~4% of a stream).
    // The quotes are found byte by byte (ASCII, so every cut is at a
    // character boundary): `str::split`'s searcher and a growing `Vec`
    // were half of the column's cost on short lists.
    let inner = inner.strip_prefix('"')?.strip_suffix('"')?;
    let quotes = inner.bytes().filter(|&b| b == b'"').count();
    let mut items = Vec::with_capacity(quotes / 2 + 1);
    let mut start = 0;
    for (i, end) in inner
        .bytes()
        .enumerate()
        .filter_map(|(at, b)| (b == b'"').then_some(at))
        .chain([inner.len()])
        .enumerate()
    {
        let piece = inner.get(start..end)?;
        if i % 2 == 0 {
            items.push(piece.to_owned());
        } else if piece != "," {
            return None;
        }
        start = end + 1;
    }
    Some(items)
}

/// A list column of values the store wrote after they were parsed.
pub fn trusted_list<T>(s: &str, wrap: fn(String) -> T) -> Result<Vec<T>> {
    Ok(json_list(s)?.into_iter().map(wrap).collect())
}

/// Writes a list column. Escapes what JSON must, so any value round-trips.
pub fn to_json_list<T: AsRef<str>>(v: &[T]) -> String {
    let v: Vec<&str> = v.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

/// A token's `scopes` column: the scopes the store wrote after parsing
/// them, read back trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeList(pub Vec<Scope>);

impl ScopeList {
    fn read(text: &str) -> Result<Self> {
        trusted_list(text, Scope::from_trusted).map(ScopeList)
    }

    /// The column's text.
    pub fn text(&self) -> String {
        to_json_list(&self.0)
    }
}

super::ids::text_type!(ScopeList);

impl<'q, DB: Database> Encode<'q, DB> for ScopeList
where
    String: Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as Database>::ArgumentBuffer,
    ) -> std::result::Result<IsNull, BoxDynError> {
        <String as Encode<'q, DB>>::encode(self.text(), buf)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for ScopeList
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        Ok(ScopeList::read(<&'r str as Decode<'r, DB>>::decode(
            value,
        )?)?)
    }
}

impl rusqlite::types::FromSql for ScopeList {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        ScopeList::read(super::ids::sqlite_text(value)?)
            .map_err(|e| rusqlite::types::FromSqlError::Other(e.into()))
    }
}

impl super::json_column::JsonColumn for ScopeList {
    /// The column's text as a JSON string, as the feed kept it when the
    /// column was read as a plain `String`.
    fn to_json(&self) -> serde_json::Value {
        serde_json::Value::String(self.text())
    }
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        ScopeList::read(v.as_str()?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lists_read_as_serde_json_reads_them() {
        let cases: &[&[&str]] = &[&[], &["read"], &["a", "b:c", "ü/x"], &["", "x"]];
        for v in cases {
            let s = to_json_list(v);
            let owned: Vec<String> = v.iter().map(|x| (*x).to_owned()).collect();
            assert_eq!(plain_list(&s), Some(owned.clone()), "{s}");
            assert_eq!(json_list(&s).ok(), Some(owned));
        }
        // Escapes and spacing are serde_json's to read, and read right.
        for s in [r#"["a\"b","c"]"#, r#"["a", "b"]"#, r#"["a\\","b"]"#, "[ ]"] {
            assert_eq!(plain_list(s), None, "{s}");
            let expected: Vec<String> = serde_json::from_str(s).unwrap_or_default();
            assert_eq!(json_list(s).ok(), Some(expected), "{s}");
        }
        assert!(json_list("[\"a\"").is_err());
        assert_eq!(plain_list(r#"["a"b"]"#), None);
    }

    proptest::proptest! {
        /// Any list reads back as written, escaped or plain.
        #[test]
        fn lists_read_back_as_written(v in proptest::collection::vec("[a-z\",\\\\é\\[\\] ]{0,6}", 0..5)) {
            let s = to_json_list(&v);
            // Without escapes the fast path reads it, not serde_json.
            if !s.contains('\\') {
                proptest::prop_assert_eq!(plain_list(&s), Some(v.clone()));
            }
            proptest::prop_assert_eq!(json_list(&s).ok(), Some(v));
        }
    }
}
