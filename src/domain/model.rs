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
    /// The client it was issued through; `None` for a personal token.
    pub client_id: Option<ClientId>,
    /// The owner: whose token it is (an id in the organization's own
    /// identity system; this service keeps no users).
    pub user_id: String,
    /// The resource the token is for (OAuth `aud`), free text.
    pub audience: String,
    /// OAuth `sub`: the owner unless the creator said otherwise.
    pub subject: String,
    pub scopes: Vec<Scope>,
    /// A label for people; unique per nothing, searchable by glob.
    pub name: String,
    pub description: String,
    /// Losant's role for the token's grants (`view`, `edit`, ...).
    pub default_role: String,
    /// Present only for tokens from an authorization-code flow with PKCE.
    pub pkce: Option<Pkce>,
    /// One of the client's registered redirect URIs.
    pub redirect_uri: Option<RedirectUri>,
    pub kind: TokenKind,
    /// The secret's first characters, shown so people can tell tokens
    /// apart; the secret itself is only hashed.
    pub secret_prefix: String,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Set once; revoking again keeps the first time.
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

    /// The AIP-154 etag ([`super::freshness::etag`]).
    pub fn etag(&self) -> String {
        super::freshness::etag(self.updated_at, self.revoked_at.is_some())
    }
}

/// A registered OAuth client (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub id: ClientId,
    pub org_id: OrgId,
    pub name: String,
    /// At least one; `authorization_code` needs a redirect URI.
    pub grant_types: Vec<GrantType>,
    /// Normalised combinations (`code id_token`), as SlashID keeps them.
    pub response_types: Vec<String>,
    /// The scopes its tokens may carry; empty bounds nothing.
    pub scopes: Vec<Scope>,
    pub redirect_uris: Vec<RedirectUri>,
    /// A public client (a native or browser app) has no secret.
    pub public: bool,
    /// Default lifetimes of its tokens, in seconds.
    pub access_token_duration: i64,
    pub refresh_token_duration: i64,
    /// The secret's first characters; `None` for a public client.
    pub secret_prefix: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// When a token was last issued through it.
    pub last_used: Option<Timestamp>,
}

impl Client {
    /// The AIP-154 etag ([`super::freshness::etag`]).
    pub fn etag(&self) -> String {
        super::freshness::etag(self.updated_at, false)
    }
}

/// An organization: the tenant every other row belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Org {
    pub id: OrgId,
    pub name: String,
    pub created_at: Timestamp,
}
