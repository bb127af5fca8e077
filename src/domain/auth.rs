//! Callers and what they may do. An API key authenticates a `Caller`: the
//! organization every query is scoped to, the optional user the key is bound
//! to (`/me` routes, Review Board ownership), its scopes and superuser flag.

use super::error::{Error, Result};
use super::time::Timestamp;

/// Permissions an API key can carry. `admin` implies all the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    TokensRead,
    TokensWrite,
    ClientsRead,
    ClientsWrite,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 5] = [
        Scope::TokensRead,
        Scope::TokensWrite,
        Scope::ClientsRead,
        Scope::ClientsWrite,
        Scope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::TokensRead => "tokens:read",
            Scope::TokensWrite => "tokens:write",
            Scope::ClientsRead => "clients:read",
            Scope::ClientsWrite => "clients:write",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Parses a comma- or space-separated list.
    pub fn parse_list(field: &str, s: &str) -> Result<Vec<Scope>> {
        let mut out = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let scope = Scope::parse(part).ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "unknown scope {}; expected tokens:read, tokens:write, clients:read, clients:write or admin",
                        super::error::quote(part)
                    ),
                )
            })?;
            if !out.contains(&scope) {
                out.push(scope);
            }
        }
        Ok(out)
    }
}

/// A stored API key (hash only).
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub org_id: String,
    pub user_id: Option<String>,
    pub scopes: Vec<Scope>,
    pub superuser: bool,
    pub prefix: String,
    pub hash: Vec<u8>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// The authenticated principal of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub org_id: String,
    pub key_id: String,
    pub user_id: Option<String>,
    pub scopes: Vec<Scope>,
    pub superuser: bool,
}

impl Caller {
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }

    /// `PermissionDenied` unless the key carries `scope`.
    pub fn require(&self, scope: Scope) -> Result<()> {
        if self.has(scope) {
            Ok(())
        } else {
            Err(Error::PermissionDenied(format!(
                "the API key lacks the {} scope",
                scope.as_str()
            )))
        }
    }
}
