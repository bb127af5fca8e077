//! The domain's id and tag types as SQL text (sqlx on both backends, rusqlite for
//! SQLite's listing reads), so rows decode straight into them and
//! queries bind them as they are: no id passes through a bare `String` on
//! its way to or from SQL. The domain stays free of sqlx; these impls live
//! here.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode};

use crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
use crate::domain::model::{ChallengeMethod, TokenKind};

/// Declares a type stored as a TEXT column, whatever the backend.
macro_rules! text_type {
    ($name:ty) => {
        impl<DB: sqlx::Database> sqlx::Type<DB> for $name
        where
            String: sqlx::Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as sqlx::Type<DB>>::compatible(ty)
            }
        }
    };
}
pub(super) use text_type;

macro_rules! sql_text {
    ($($name:ident),*) => {$(
        text_type!($name);

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            for<'a> &'a str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&str as Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r [u8]: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($name::from_trusted(decode_text::<DB>(value)?.to_owned()))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                sqlite_text(value).map(|t| $name::from_trusted(t.to_owned()))
            }
        }
    )*};
}

sql_text!(OrgId, TokenId, ClientId, KeyId, Text);

/// A text column's value, decoded with a fast check for ASCII (see
/// [`text`]). Rows' plain text columns are `Text`, not `String`, for that.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl Text {
    fn as_str(&self) -> &str {
        &self.0
    }

    fn from_trusted(s: String) -> Self {
        Text(s)
    }
}

/// Bytes of a text column as `&str`. Almost every value the store holds is
/// ASCII (every id, scope, time and kind), and `is_ascii` checks a word at
/// a time, where `str::from_utf8` went byte by byte through short values:
/// ~10% of a stream's instructions. Anything else is validated in full.
pub fn text(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    if bytes.is_ascii() {
        // SAFETY: ASCII bytes are valid UTF-8.
        Ok(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes)
    }
}

/// A text value from sqlx, through [`text`]. Its raw bytes are read as
/// `&[u8]` (PostgreSQL's binary format, SQLite's text), and are the
/// column's UTF-8 text on both.
pub fn decode_text<'r, DB: Database>(
    value: <DB as Database>::ValueRef<'r>,
) -> Result<&'r str, BoxDynError>
where
    &'r [u8]: Decode<'r, DB>,
{
    Ok(text(<&'r [u8] as Decode<'r, DB>>::decode(value)?)?)
}

/// A text value from rusqlite, through [`text`].
pub fn sqlite_text(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<&str> {
    match value {
        rusqlite::types::ValueRef::Text(bytes) => {
            text(bytes).map_err(|e| rusqlite::types::FromSqlError::Other(e.into()))
        }
        _ => Err(rusqlite::types::FromSqlError::InvalidType),
    }
}

/// The domain's closed sets stored as text (a token's kind, a PKCE method):
/// decoded from the row's borrowed text, so no `String` is allocated for a
/// value that is only parsed (two per streamed row). A value that does not
/// parse is a corrupt row, an error, never a default.
macro_rules! sql_tag {
    ($($name:ident),*) => {$(
        text_type!($name);

        impl<'q, DB: Database> Encode<'q, DB> for $name
        where
            &'static str: Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                <&'static str as Encode<'q, DB>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r, DB: Database> Decode<'r, DB> for $name
        where
            &'r [u8]: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = decode_text::<DB>(value)?;
                $name::parse(text).ok_or_else(|| corrupt(stringify!($name), text))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let text = sqlite_text(value)?;
                $name::parse(text)
                    .ok_or_else(|| rusqlite::types::FromSqlError::Other(corrupt(stringify!($name), text)))
            }
        }
    )*};
}

sql_tag!(TokenKind, ChallengeMethod);

/// A stored value outside its set, quoted by a short prefix only.
fn corrupt(what: &str, text: &str) -> BoxDynError {
    let prefix: String = text.chars().take(16).collect();
    format!("corrupt {what} {prefix:?}").into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tag reads back as what was written; anything else is an error
    /// that quotes only a short prefix, never a default.
    #[test]
    fn tags_read_only_their_own_values() -> rusqlite::Result<()> {
        let db = rusqlite::Connection::open_in_memory()?;
        let read = |sql: &str| db.query_row(sql, [], |r| r.get::<_, TokenKind>(0));
        assert_eq!(read("SELECT 'refresh'")?, TokenKind::Refresh);
        assert_eq!(read("SELECT 'access'")?, TokenKind::Access);
        let msg = match read("SELECT 'Access-but-much-longer-than-sixteen'") {
            Ok(kind) => panic!("read as {kind:?}"),
            Err(e) => e.to_string(),
        };
        assert!(
            msg.contains("corrupt TokenKind \"Access-but-much-\""),
            "{msg}"
        );
        let method = db.query_row("SELECT 'S256'", [], |r| r.get::<_, ChallengeMethod>(0))?;
        assert_eq!(method, ChallengeMethod::S256);
        Ok(())
    }
}
