//! Database rows and their conversion to domain values. Column types are the
//! same on both backends (TEXT, 64-bit integers for microsecond times,
//! booleans, bytes), so one `from_row!` declaration serves both. It stands
//! in for sqlx's `FromRow` derive, whose `macros` feature would compile
//! sqlx, both drivers and SQLite a second time for the build host.

use crate::domain::auth::{ApiKey, Permission};
use crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
use crate::domain::model::{ChallengeMethod, Client, Org, Pkce, Token, TokenKind};
use crate::domain::oauth::{GrantType, RedirectUri, Scope};
use crate::domain::{Error, Result, Timestamp};

/// Implements `sqlx::FromRow` for a row struct on SQLite and PostgreSQL,
/// reading each field from the column of the same name.
macro_rules! from_row {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        from_row!(@one $ty, sqlx::sqlite::SqliteRow, $($field),*);
        from_row!(@one $ty, sqlx::postgres::PgRow, $($field),*);
    };
    (@one $ty:ident, $row:ty, $($field:ident),*) => {
        impl<'r> sqlx::FromRow<'r, $row> for $ty {
            fn from_row(row: &'r $row) -> std::result::Result<Self, sqlx::Error> {
                use sqlx::Row;
                Ok(Self {
                    $($field: row.try_get(stringify!($field))?),*
                })
            }
        }
    };
}

#[derive(Debug)]
pub struct TokenRow {
    pub id: TokenId,
    pub org_id: OrgId,
    pub client_id: Option<ClientId>,
    pub user_id: String,
    pub audience: String,
    pub subject: String,
    pub scopes: String,
    pub name: String,
    pub description: String,
    pub default_role: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub redirect_uri: Option<String>,
    pub kind: String,
    pub secret_prefix: String,
    pub expires_at: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub revoked_at: Option<i64>,
}

from_row!(TokenRow {
    id,
    org_id,
    client_id,
    user_id,
    audience,
    subject,
    scopes,
    name,
    description,
    default_role,
    code_challenge,
    code_challenge_method,
    redirect_uri,
    kind,
    secret_prefix,
    expires_at,
    created_at,
    updated_at,
    revoked_at,
});

pub fn json_list(s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| Error::Internal(format!("corrupt list column: {e}")))
}

/// A list column of values the store wrote after they were parsed.
fn trusted_list<T>(s: &str, wrap: fn(String) -> T) -> Result<Vec<T>> {
    Ok(json_list(s)?.into_iter().map(wrap).collect())
}

fn grant_types(s: &str) -> Result<Vec<GrantType>> {
    json_list(s)?
        .iter()
        .map(|g| {
            GrantType::parse("grant_types", g)
                .map_err(|_| Error::Internal(format!("corrupt grant type {g:?}")))
        })
        .collect()
}

pub fn to_json_list<T: AsRef<str>>(v: &[T]) -> String {
    let v: Vec<&str> = v.iter().map(AsRef::as_ref).collect();
    serde_json::to_string(&v).unwrap_or_else(|_| "[]".into())
}

impl TryFrom<TokenRow> for Token {
    type Error = Error;

    fn try_from(r: TokenRow) -> Result<Token> {
        let pkce = match (r.code_challenge, r.code_challenge_method) {
            (Some(challenge), Some(m)) => Some(Pkce {
                challenge,
                method: ChallengeMethod::parse(&m).ok_or_else(|| {
                    Error::Internal(format!("corrupt code_challenge_method {m:?}"))
                })?,
            }),
            _ => None,
        };
        Ok(Token {
            kind: TokenKind::parse(&r.kind)
                .ok_or_else(|| Error::Internal(format!("corrupt kind {:?}", r.kind)))?,
            scopes: trusted_list(&r.scopes, Scope::from_trusted)?,
            id: r.id,
            org_id: r.org_id,
            client_id: r.client_id,
            user_id: r.user_id,
            audience: r.audience,
            subject: r.subject,
            name: r.name,
            description: r.description,
            default_role: r.default_role,
            pkce,
            redirect_uri: r.redirect_uri.map(RedirectUri::from_trusted),
            secret_prefix: r.secret_prefix,
            expires_at: Timestamp::from_micros(r.expires_at),
            created_at: Timestamp::from_micros(r.created_at),
            updated_at: Timestamp::from_micros(r.updated_at),
            revoked_at: r.revoked_at.map(Timestamp::from_micros),
        })
    }
}

#[derive(Debug)]
pub struct ClientRow {
    pub id: ClientId,
    pub org_id: OrgId,
    pub name: String,
    pub grant_types: String,
    pub response_types: String,
    pub scopes: String,
    pub redirect_uris: String,
    pub public: bool,
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
    pub secret_prefix: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub last_used: Option<i64>,
}

from_row!(ClientRow {
    id,
    org_id,
    name,
    grant_types,
    response_types,
    scopes,
    redirect_uris,
    public,
    access_token_duration,
    refresh_token_duration,
    secret_prefix,
    created_at,
    updated_at,
    last_used,
});

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

#[derive(Debug)]
pub struct ApiKeyRow {
    pub id: KeyId,
    pub org_id: OrgId,
    pub user_id: Option<String>,
    pub scopes: String,
    pub superuser: bool,
    pub prefix: String,
    pub hash: Vec<u8>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

from_row!(ApiKeyRow {
    id,
    org_id,
    user_id,
    scopes,
    superuser,
    prefix,
    hash,
    created_at,
    last_used_at,
    expires_at,
    revoked_at,
});

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = Error;

    fn try_from(r: ApiKeyRow) -> Result<ApiKey> {
        Ok(ApiKey {
            scopes: Permission::parse_list("scopes", &r.scopes)
                .map_err(|e| Error::Internal(format!("corrupt api key scopes: {e}")))?,
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

#[derive(Debug)]
pub struct OrgRow {
    pub id: OrgId,
    pub name: String,
    pub created_at: i64,
}

from_row!(OrgRow {
    id,
    name,
    created_at
});

impl From<OrgRow> for Org {
    fn from(r: OrgRow) -> Org {
        Org {
            id: r.id,
            name: r.name,
            created_at: Timestamp::from_micros(r.created_at),
        }
    }
}
