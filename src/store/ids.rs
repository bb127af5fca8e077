//! The domain's id and tag types as SQL text (sqlx on both backends, rusqlite for
//! SQLite's listing reads), so rows decode straight into them and
//! queries bind them as they are: no id passes through a bare `String` on
//! its way to or from SQL. The domain stays free of sqlx; these impls live
//! here.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

use crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
use crate::domain::model::{ChallengeMethod, TokenKind};

macro_rules! sql_text {
    ($($name:ident),*) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

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
            String: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                Ok($name::from_trusted(<String as Decode<'r, DB>>::decode(value)?))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                String::column_result(value).map($name::from_trusted)
            }
        }
    )*};
}

sql_text!(OrgId, TokenId, ClientId, KeyId);

/// The domain's closed sets stored as text (a token's kind, a PKCE method):
/// decoded from the row's borrowed text, so no `String` is allocated for a
/// value that is only parsed (two per streamed row). A value that does not
/// parse is a corrupt row, an error, never a default.
macro_rules! sql_tag {
    ($($name:ident),*) => {$(
        impl<DB: Database> Type<DB> for $name
        where
            String: Type<DB>,
        {
            fn type_info() -> DB::TypeInfo {
                <String as Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <String as Type<DB>>::compatible(ty)
            }
        }

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
            &'r str: Decode<'r, DB>,
        {
            fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
                let text = <&'r str as Decode<'r, DB>>::decode(value)?;
                $name::parse(text).ok_or_else(|| corrupt(stringify!($name), text))
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                let text = value.as_str()?;
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
