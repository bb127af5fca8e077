//! Incident response: find and revoke a token by its secret (a leaked
//! secret names no id). The secret arrives in a redacting `SecretString`,
//! is hashed once and looked up by hash within the caller's organization;
//! the stored hash is compared again in constant time. Errors quote only
//! the secret's non-secret prefix (the same one listings show).

use super::Registry;
use crate::domain::auth::{Caller, Permission};
use crate::domain::model::Token;
use crate::domain::secret::{self, ExposeSecret, SecretString};
use crate::domain::{Error, Result, Timestamp};

/// Longest secret accepted; ours are 47 characters.
const MAX_SECRET: usize = 512;

impl Registry {
    /// The caller's organization's token with this secret.
    pub async fn lookup_token(&self, caller: &Caller, presented: &SecretString) -> Result<Token> {
        caller.require(Permission::TokensRead)?;
        let t = self.token_by_secret(caller, presented).await?;
        super::audit_rows(None, 1);
        Ok(t)
    }

    /// Revokes the caller's organization's token with this secret
    /// (idempotent, as `revoke_token`).
    pub async fn revoke_token_by_secret(
        &self,
        caller: &Caller,
        presented: &SecretString,
    ) -> Result<Token> {
        caller.require(Permission::TokensWrite)?;
        let token = self.token_by_secret(caller, presented).await?;
        let revoked = self
            .store
            .revoke_token(&caller.org_id, &token.id, Timestamp::now());
        revoked
            .await?
            .ok_or_else(|| Error::not_found("token", secret::prefix_of(presented.expose_secret())))
    }

    async fn token_by_secret(&self, caller: &Caller, presented: &SecretString) -> Result<Token> {
        let plain = presented.expose_secret();
        if plain.is_empty() {
            return Err(Error::invalid("secret", "is required"));
        }
        if plain.len() > MAX_SECRET {
            return Err(Error::invalid(
                "secret",
                format!("must be at most {MAX_SECRET} bytes"),
            ));
        }
        let not_found = || Error::not_found("token", secret::prefix_of(plain));
        let hash = secret::hash(plain);
        match self
            .store
            .find_token_by_secret(&caller.org_id, &hash)
            .await?
        {
            Some((token, stored)) if secret::verify(plain, &stored) => Ok(token),
            _ => Err(not_found()),
        }
    }
}
