//! Callers and what they may do. An API key authenticates a `Caller`: the
//! organization every query is scoped to, the optional user the key is bound
//! to (`/me` routes, Review Board ownership), its scopes and superuser flag.

use super::error::{Error, Result};
use super::ids::{KeyId, OrgId};
use super::time::Timestamp;

/// Permissions an API key can carry. `admin` implies all the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    TokensRead,
    TokensWrite,
    ClientsRead,
    ClientsWrite,
    Admin,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::TokensRead,
        Permission::TokensWrite,
        Permission::ClientsRead,
        Permission::ClientsWrite,
        Permission::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::TokensRead => "tokens:read",
            Permission::TokensWrite => "tokens:write",
            Permission::ClientsRead => "clients:read",
            Permission::ClientsWrite => "clients:write",
            Permission::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Permission::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// Parses a comma- or space-separated list.
    pub fn parse_list(field: &str, s: &str) -> Result<Vec<Permission>> {
        let mut out = Vec::new();
        for part in s.split([',', ' ']).filter(|p| !p.is_empty()) {
            let scope = Permission::parse(part).ok_or_else(|| {
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
    pub id: KeyId,
    pub org_id: OrgId,
    /// The user a key acts as (`/me` routes, Review Board ownership).
    pub user_id: Option<String>,
    /// What it may do (`--scopes` when created).
    pub scopes: Vec<Permission>,
    /// Sees every user's tokens in Review Board.
    pub superuser: bool,
    /// The key's non-secret start, by which it is looked up.
    pub prefix: String,
    /// SHA-256 of the whole key; compared in constant time.
    pub hash: Vec<u8>,
    pub created_at: Timestamp,
    /// Written at most once a minute.
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// The authenticated principal of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The only organization this request can read or write.
    pub org_id: OrgId,
    pub key_id: KeyId,
    /// As the key's.
    pub user_id: Option<String>,
    pub scopes: Vec<Permission>,
    pub superuser: bool,
}

impl Caller {
    /// The operator at the command line (`oauth-registry admin ...`), who
    /// holds the database itself: admin of the organization they named.
    /// Its key id is `cli` in the audit trail.
    pub fn operator(org_id: OrgId) -> Self {
        Caller {
            org_id,
            key_id: KeyId::from_trusted("cli".to_owned()),
            user_id: None,
            scopes: vec![Permission::Admin],
            superuser: true,
        }
    }

    pub fn has(&self, scope: Permission) -> bool {
        self.scopes.contains(&Permission::Admin) || self.scopes.contains(&scope)
    }

    /// `PermissionDenied` unless the key carries `scope`.
    pub fn require(&self, scope: Permission) -> Result<()> {
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
