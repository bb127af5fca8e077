//! Database rows and their conversion to and from domain values. Each
//! table's columns are declared once (`table_row!`); column types are the
//! same on both backends (TEXT, 64-bit integers for microsecond times,
//! booleans, bytes), so one declaration serves both. It stands in for
//! sqlx's `FromRow` derive, whose `macros` feature would compile sqlx, both
//! drivers and SQLite a second time for the build host.

use crate::domain::auth::{ApiKey, Permission};
use crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
use crate::domain::model::{ChallengeMethod, Client, Org, Pkce, Token, TokenKind};
use crate::domain::oauth::{GrantType, RedirectUri, Scope};
use crate::domain::{Error, Result, Timestamp};

use super::ids::Text;
use super::list_column::{ScopeList, json_list, to_json_list, trusted_list};

/// Declares a table's row once: the struct, its column list (`$columns`,
/// the order every SELECT and INSERT uses), and from that one list its
/// decoders (sqlx on either backend, rusqlite for SQLite's listing reads,
/// both by position) and its binder. A new column is one line here plus a
/// migration.
///
/// Decoding is by position and unchecked: every SELECT that reads a row
/// starts with `$columns`, and the columns are ours, fixed by the
/// migrations. Looking each column up by name and checking its type was a
/// quarter of `StreamTokens`'s CPU time on PostgreSQL.
macro_rules! table_row {
    ($(#[$doc:meta])* $row:ident, $columns:ident { $first:ident: $fty:ty $(, $field:ident: $ty:ty)* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $row {
            pub $first: $fty,
            $(pub $field: $ty,)*
        }

        #[doc = concat!("The columns of [`", stringify!($row), "`], in order.")]
        pub const $columns: &str = concat!(stringify!($first) $(, ", ", stringify!($field))*);

        impl $row {
            /// How many columns a row has (placeholders per row in an INSERT).
            pub const COUNT: usize = [stringify!($first) $(, stringify!($field))*].len();

            /// Binds every column, in `$columns` order.
            pub fn bind<'q, DB>(
                self,
                q: sqlx::query::Query<'q, DB, DB::Arguments>,
            ) -> sqlx::query::Query<'q, DB, DB::Arguments>
            where
                DB: sqlx::Database,
                $fty: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,
                $($ty: for<'t> sqlx::Encode<'t, DB> + sqlx::Type<DB>,)*
            {
                q.bind(self.$first)$(.bind(self.$field))*
            }
        }

        impl $row {
            /// The row as a JSON object keyed by column (the change feed's copy).
            pub fn to_json(&self) -> serde_json::Value {
                use $crate::store::json_column::JsonColumn;
                let mut m = serde_json::Map::new();
                m.insert(stringify!($first).to_owned(), JsonColumn::to_json(&self.$first));
                $(m.insert(stringify!($field).to_owned(), JsonColumn::to_json(&self.$field));)*
                serde_json::Value::Object(m)
            }

            /// Reads back [`Self::to_json`]; `None` if a column is missing or mistyped.
            pub fn from_json(v: &serde_json::Value) -> Option<Self> {
                use $crate::store::json_column::JsonColumn;
                Some($row {
                    $first: JsonColumn::from_json(v.get(stringify!($first))?)?,
                    $($field: JsonColumn::from_json(v.get(stringify!($field))?)?,)*
                })
            }
        }

        impl<'r, R: sqlx::Row> sqlx::FromRow<'r, R> for $row
        where
            usize: sqlx::ColumnIndex<R>,
            $fty: sqlx::Decode<'r, R::Database>,
            $($ty: sqlx::Decode<'r, R::Database>,)*
        {
            fn from_row(r: &'r R) -> std::result::Result<Self, sqlx::Error> {
                let mut at = 0..;
                Ok($row {
                    $first: r.try_get_unchecked(next(&mut at))?,
                    $($field: r.try_get_unchecked(next(&mut at))?,)*
                })
            }
        }

        impl FromRusqlite for $row {
            fn from_rusqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
                let mut at = 0..;
                Ok($row {
                    $first: r.get(next(&mut at))?,
                    $($field: r.get(next(&mut at))?,)*
                })
            }
        }
    };
}

/// The next column position.
fn next(at: &mut std::ops::RangeFrom<usize>) -> usize {
    at.next().unwrap_or(usize::MAX)
}

/// A row rusqlite can decode (SQLite's listing reads, see `sqlite_read`).
pub trait FromRusqlite: Sized {
    fn from_rusqlite(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self>;
}

table_row!(
    /// A `tokens` row (the secret's hash is written, never read back).
    TokenRow, TOKEN_COLUMNS {
        id: TokenId,
        org_id: OrgId,
        client_id: Option<ClientId>,
        user_id: Text,
        audience: Text,
        subject: Text,
        scopes: ScopeList,
        name: Text,
        description: Text,
        default_role: Text,
        code_challenge: Option<Text>,
        code_challenge_method: Option<ChallengeMethod>,
        redirect_uri: Option<Text>,
        kind: TokenKind,
        secret_prefix: Text,
        expires_at: i64,
        created_at: i64,
        updated_at: i64,
        revoked_at: Option<i64>,
    }
);

table_row!(
    /// A `clients` row (the secret's hash is written, never read back).
    ClientRow, CLIENT_COLUMNS {
        id: ClientId,
        org_id: OrgId,
        name: String,
        grant_types: String,
        response_types: String,
        scopes: String,
        redirect_uris: String,
        public: bool,
        access_token_duration: i64,
        refresh_token_duration: i64,
        secret_prefix: Option<String>,
        created_at: i64,
        updated_at: i64,
        last_used: Option<i64>,
    }
);

table_row!(
    /// An `api_keys` row.
    ApiKeyRow, API_KEY_COLUMNS {
        id: KeyId,
        org_id: OrgId,
        user_id: Option<String>,
        scopes: String,
        superuser: bool,
        prefix: String,
        hash: Vec<u8>,
        created_at: i64,
        last_used_at: Option<i64>,
        expires_at: Option<i64>,
        revoked_at: Option<i64>,
    }
);

table_row!(
    /// An `orgs` row.
    OrgRow, ORG_COLUMNS {
        id: OrgId,
        name: String,
        created_at: i64,
    }
);

fn grant_types(s: &str) -> Result<Vec<GrantType>> {
    json_list(s)?
        .iter()
        .map(|g| {
            GrantType::parse("grant_types", g)
                .map_err(|_| Error::Internal(format!("corrupt grant type {g:?}").into()))
        })
        .collect()
}

impl TryFrom<TokenRow> for Token {
    type Error = Error;

    fn try_from(r: TokenRow) -> Result<Token> {
        let pkce = match (r.code_challenge, r.code_challenge_method) {
            (Some(challenge), Some(method)) => Some(Pkce {
                challenge: challenge.0,
                method,
            }),
            _ => None,
        };
        Ok(Token {
            kind: r.kind,
            scopes: r.scopes.0,
            id: r.id,
            org_id: r.org_id,
            client_id: r.client_id,
            user_id: r.user_id.0,
            audience: r.audience.0,
            subject: r.subject.0,
            name: r.name.0,
            description: r.description.0,
            default_role: r.default_role.0,
            pkce,
            redirect_uri: r.redirect_uri.map(|u| RedirectUri::from_trusted(u.0)),
            secret_prefix: r.secret_prefix.0,
            expires_at: Timestamp::from_micros(r.expires_at),
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            revoked_at: r.revoked_at.map(Timestamp::from_micros),
        })
    }
}

/// A token as the row that stores it (for inserts).
impl From<&Token> for TokenRow {
    fn from(t: &Token) -> TokenRow {
        TokenRow {
            id: t.id.clone(),
            org_id: t.org_id.clone(),
            client_id: t.client_id.clone(),
            user_id: Text(t.user_id.clone()),
            audience: Text(t.audience.clone()),
            subject: Text(t.subject.clone()),
            scopes: ScopeList(t.scopes.clone()),
            name: Text(t.name.clone()),
            description: Text(t.description.clone()),
            default_role: Text(t.default_role.clone()),
            code_challenge: t.pkce.as_ref().map(|p| Text(p.challenge.clone())),
            code_challenge_method: t.pkce.as_ref().map(|p| p.method),
            redirect_uri: t.redirect_uri.as_ref().map(|u| Text(u.to_string())),
            kind: t.kind,
            secret_prefix: Text(t.secret_prefix.clone()),
            expires_at: t.expires_at.micros(),
            created_at: t.created_at.micros(),
            updated_at: t.updated_at.micros(),
            revoked_at: t.revoked_at.map(Timestamp::micros),
        }
    }
}

impl TryFrom<ClientRow> for Client {
    type Error = Error;

    fn try_from(r: ClientRow) -> Result<Client> {
        Ok(Client {
            grant_types: grant_types(&r.grant_types)?,
            response_types: json_list(&r.response_types)?,
            scopes: trusted_list(&r.scopes, Scope::from_trusted)?,
            redirect_uris: trusted_list(&r.redirect_uris, RedirectUri::from_trusted)?,
            id: r.id,
            org_id: r.org_id,
            name: r.name,
            public: r.public,
            access_token_duration: r.access_token_duration,
            refresh_token_duration: r.refresh_token_duration,
            secret_prefix: r.secret_prefix,
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            last_used: r.last_used.map(Timestamp::from_micros),
        })
    }
}

/// A client as the row that stores it (for inserts).
impl From<&Client> for ClientRow {
    fn from(c: &Client) -> ClientRow {
        ClientRow {
            id: c.id.clone(),
            org_id: c.org_id.clone(),
            name: c.name.clone(),
            grant_types: to_json_list(&c.grant_types),
            response_types: to_json_list(&c.response_types),
            scopes: to_json_list(&c.scopes),
            redirect_uris: to_json_list(&c.redirect_uris),
            public: c.public,
            access_token_duration: c.access_token_duration,
            refresh_token_duration: c.refresh_token_duration,
            secret_prefix: c.secret_prefix.clone(),
            created_at: c.created_at.micros(),
            updated_at: c.updated_at.micros(),
            last_used: c.last_used.map(Timestamp::micros),
        }
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = Error;

    fn try_from(r: ApiKeyRow) -> Result<ApiKey> {
        Ok(ApiKey {
            scopes: Permission::parse_list("scopes", &r.scopes)
                .map_err(|e| Error::Internal(format!("corrupt api key scopes: {e}").into()))?,
            id: r.id,
            org_id: r.org_id,
            user_id: r.user_id,
            superuser: r.superuser,
            prefix: r.prefix,
            hash: r.hash,
            created_at: Timestamp::from_micros(r.created_at),
            last_used_at: r.last_used_at.map(Timestamp::from_micros),
            expires_at: r.expires_at.map(Timestamp::from_micros),
            revoked_at: r.revoked_at.map(Timestamp::from_micros),
        })
    }
}

/// An API key as the row that stores it (for inserts).
impl From<&ApiKey> for ApiKeyRow {
    fn from(k: &ApiKey) -> ApiKeyRow {
        let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
        ApiKeyRow {
            id: k.id.clone(),
            org_id: k.org_id.clone(),
            user_id: k.user_id.clone(),
            scopes: scopes.join(","),
            superuser: k.superuser,
            prefix: k.prefix.clone(),
            hash: k.hash.clone(),
            created_at: k.created_at.micros(),
            last_used_at: k.last_used_at.map(Timestamp::micros),
            expires_at: k.expires_at.map(Timestamp::micros),
            revoked_at: k.revoked_at.map(Timestamp::micros),
        }
    }
}

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Org {
        Org {
            id: r.id,
            name: r.name,
            created_at: Timestamp::from_micros(r.created_at),
        }
    }
}

impl From<&Org> for OrgRow {
    fn from(o: &Org) -> OrgRow {
        OrgRow {
            id: o.id.clone(),
            name: o.name.clone(),
            created_at: o.created_at.micros(),
        }
    }
}
