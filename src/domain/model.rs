//! The canonical resources: tokens and clients as the core sees them. Faces
//! convert these to protobuf messages or dialect JSON; the store converts rows
//! into them.

use super::ids::{ClientId, OrgId, TokenId};
use super::oauth::{GrantType, RedirectUri, Scope};
use super::time::Timestamp;

/// Lifecycle state of a token, derived from `revoked_at` and `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenStatus {
    Active,
    Expired,
    Revoked,
}

impl TokenStatus {
    /// Sort rank; `status` ordering is active < expired < revoked.
    pub fn rank(self) -> i64 {
        match self {
            TokenStatus::Active => 0,
            TokenStatus::Expired => 1,
            TokenStatus::Revoked => 2,
        }
    }

    /// The status as of `instant`, for a walk (listing, stream, count)
    /// that fixed its instant: a token revoked after it still counts as
    /// active or expired, so rows revoked mid-walk neither repeat nor
    /// vanish. The store's SQL uses the same rule.
    pub fn at(revoked_at: Option<Timestamp>, expires_at: Timestamp, instant: Timestamp) -> Self {
        Self::derive(revoked_at.filter(|r| *r <= instant), expires_at, instant)
    }

    /// The current status: revoked as soon as `revoked_at` is set.
    pub fn derive(revoked_at: Option<Timestamp>, expires_at: Timestamp, now: Timestamp) -> Self {
        if revoked_at.is_some() {
            TokenStatus::Revoked
        } else if expires_at <= now {
            TokenStatus::Expired
        } else {
            TokenStatus::Active
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TokenKind {
    #[default]
    Access,
    Refresh,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access",
            TokenKind::Refresh => "refresh",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "access" => Some(TokenKind::Access),
            "refresh" => Some(TokenKind::Refresh),
            _ => None,
        }
    }
}

/// PKCE challenge method (RFC 7636).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeMethod {
    S256,
    Plain,
}

impl ChallengeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ChallengeMethod::S256 => "S256",
            ChallengeMethod::Plain => "plain",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "S256" => Some(ChallengeMethod::S256),
            "plain" => Some(ChallengeMethod::Plain),
            _ => None,
        }
    }
}

/// PKCE data recorded with a token created through a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    pub challenge: String,
    pub method: ChallengeMethod,
}

/// A stored OAuth token (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub org_id: OrgId,
    pub client_id: Option<ClientId>,
    pub user_id: String,
    pub audience: String,
    pub subject: String,
    pub scopes: Vec<Scope>,
    pub name: String,
    pub description: String,
    pub default_role: String,
    pub pkce: Option<Pkce>,
    pub redirect_uri: Option<RedirectUri>,
    pub kind: TokenKind,
    pub secret_prefix: String,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

impl Token {
    pub fn status(&self, now: Timestamp) -> TokenStatus {
        TokenStatus::derive(self.revoked_at, self.expires_at, now)
    }

    /// The status as of a walk's instant (see [`TokenStatus::at`]).
    pub fn status_at(&self, instant: Timestamp) -> TokenStatus {
        TokenStatus::at(self.revoked_at, self.expires_at, instant)
    }
}

/// A registered OAuth client (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub org_id: OrgId,
    pub name: String,
    pub grant_types: Vec<GrantType>,
    pub response_types: Vec<String>,
    pub scopes: Vec<Scope>,
    pub redirect_uris: Vec<RedirectUri>,
    pub public: bool,
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
    pub secret_prefix: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_used: Option<Timestamp>,
}

/// An organization: the tenant every other row belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: Timestamp,
}
