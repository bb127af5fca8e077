//! Token and client use cases beyond listing: get, create (a token under
//! its client's rules), update, revoke, delete. The two resources' cases
//! mirror each other, so they sit in one file.

use super::Registry;
use super::freshness::{expected, noted};
use crate::domain::auth::{Caller, Permission};
use crate::domain::error::quote;
use crate::domain::ids::{ClientId, TokenId};
use crate::domain::model::{Client, Pkce, Token, TokenKind};
use crate::domain::oauth::{GrantType, RedirectUri, Scope};
use crate::domain::patch::{ClientPatch, TokenPatch};
use crate::domain::secret::{NewSecret, SecretKind, SecretString};
use crate::domain::validate::Violations;
use crate::domain::{Error, Result, Timestamp};
use crate::store::{DeleteClientOutcome, NewTokenRow};

/// Default access-token lifetime when no client says otherwise (24 h).
pub const DEFAULT_ACCESS_TTL: i64 = 86_400;
/// Default refresh-token lifetime when no client says otherwise (10 days).
pub const DEFAULT_REFRESH_TTL: i64 = 864_000;

/// A token to create, with every field already parsed by the face. Field
/// names in errors are relative to the token (faces add their prefix).
#[derive(Debug, Clone, Default)]
pub struct NewToken {
    /// With a client, the client's scopes, redirect URIs and lifetimes apply.
    pub client_id: Option<ClientId>,
    pub user_id: String,
    pub audience: String,
    /// `None`: the owner.
    pub subject: Option<String>,
    pub scopes: Vec<Scope>,
    pub name: String,
    pub description: String,
    pub default_role: String,
    /// Decides the default lifetime.
    pub kind: TokenKind,
    /// Needs a client, as does `redirect_uri`.
    pub pkce: Option<Pkce>,
    pub redirect_uri: Option<RedirectUri>,
    pub expires_at: Option<Timestamp>,
}

impl Registry {
    pub async fn get_token(&self, caller: &Caller, id: &TokenId) -> Result<Token> {
        caller.require(Permission::TokensRead)?;
        let t = self.token(caller, id).await?;
        super::audit_rows(None, 1);
        Ok(t)
    }

    /// The caller's organization's token `id`, or `NotFound`; permission
    /// is the caller's business.
    async fn token(&self, caller: &Caller, id: &TokenId) -> Result<Token> {
        let found = self.store.get_token(&caller.org_id, id).await?;
        found.ok_or_else(|| Error::not_found("token", id))
    }

    /// Creates a token; returns it with its secret (the only time the secret
    /// exists outside the caller; redacted in `{:?}`).
    pub async fn create_token(
        &self,
        caller: &Caller,
        new: NewToken,
    ) -> Result<(Token, SecretString)> {
        caller.require(Permission::TokensWrite)?;
        let now = Timestamp::now();
        let mut v = Violations::default();
        if new.client_id.is_none() {
            if new.pkce.is_some() {
                v.push("code_challenge", "PKCE data needs a client_id");
            }
            if new.redirect_uri.is_some() {
                v.push("redirect_uri", "a redirect_uri needs a client_id");
            }
        }
        if new.expires_at.is_some_and(|e| e <= now) {
            v.push("expire_time", "must be in the future");
        }
        v.finish()?;

        let mut ttl = match new.kind {
            TokenKind::Access => DEFAULT_ACCESS_TTL,
            TokenKind::Refresh => DEFAULT_REFRESH_TTL,
        };
        if let Some(client_id) = &new.client_id {
            let client = self.client(caller, client_id).await?;
            let mut v = Violations::default();
            if let Some(uri) = &new.redirect_uri
                && !client.redirect_uris.iter().any(|u| u == uri)
            {
                v.push("redirect_uri", "is not registered on the client");
            }
            client_scopes(&client, &new.scopes, &mut v);
            v.finish()?;
            ttl = match new.kind {
                TokenKind::Access => client.access_token_duration,
                TokenKind::Refresh => client.refresh_token_duration,
            };
        }

        let secret = NewSecret::generate(SecretKind::Token);
        let token = Token {
            id: TokenId::generate(),
            org_id: caller.org_id.clone(),
            client_id: new.client_id,
            subject: new.subject.unwrap_or_else(|| new.user_id.clone()),
            user_id: new.user_id,
            audience: new.audience,
            scopes: new.scopes,
            name: new.name,
            description: new.description,
            default_role: new.default_role,
            pkce: new.pkce,
            redirect_uri: new.redirect_uri,
            kind: new.kind,
            secret_prefix: secret.prefix.clone(),
            expires_at: new.expires_at.unwrap_or_else(|| now.plus_seconds(ttl)),
            created_at: now,
            updated_at: now,
            revoked_at: None,
        };
        self.store
            .insert_tokens(&[NewTokenRow {
                token: token.clone(),
                secret_hash: secret.hash.clone(),
            }])
            .await?;
        Ok((token, secret.plain))
    }

    /// Updates the fields a patch names, under the rules CreateToken
    /// applies to them: an expiry in the future, and scopes the token's
    /// client lists (a client's token cannot be widened past its client).
    pub async fn update_token(
        &self,
        caller: &Caller,
        id: &TokenId,
        patch: &TokenPatch,
    ) -> Result<Token> {
        caller.require(Permission::TokensWrite)?;
        let now = Timestamp::now();
        let mut v = Violations::default();
        if patch.expires_at.is_some_and(|e| e <= now) {
            v.push("expire_time", "must be in the future");
        }
        v.finish()?;
        if let Some(scopes) = &patch.scopes {
            let token = self.token(caller, id).await?;
            // A token's client never changes, so checking before the write
            // is as good as checking inside it.
            if let Some(client_id) = &token.client_id
                && let Some(client) = self.store.get_client(&caller.org_id, client_id).await?
            {
                let mut v = Violations::default();
                client_scopes(&client, scopes, &mut v);
                v.finish()?;
            }
        }
        let updated = self
            .store
            .update_token(&caller.org_id, id, patch, now, expected());
        noted(updated.await)?.ok_or_else(|| Error::not_found("token", id))
    }

    /// Revokes a token. Idempotent: revoking a revoked token keeps its
    /// original revocation time, so retries are safe.
    pub async fn revoke_token(&self, caller: &Caller, id: &TokenId) -> Result<Token> {
        caller.require(Permission::TokensWrite)?;
        let revoked = self
            .store
            .revoke_token(&caller.org_id, id, Timestamp::now());
        revoked.await?.ok_or_else(|| Error::not_found("token", id))
    }

    pub async fn delete_token(&self, caller: &Caller, id: &TokenId) -> Result<()> {
        caller.require(Permission::TokensWrite)?;
        if noted(
            self.store
                .delete_token(&caller.org_id, id, expected())
                .await,
        )? {
            Ok(())
        } else {
            Err(Error::not_found("token", id))
        }
    }
}

/// A client that lists scopes bounds its tokens' scopes to them (a client
/// with none bounds nothing).
fn client_scopes(client: &Client, scopes: &[Scope], v: &mut Violations) {
    if client.scopes.is_empty() {
        return;
    }
    for (i, s) in scopes.iter().enumerate() {
        if !client.scopes.contains(s) {
            v.push(
                format!("scopes[{i}]"),
                format!("{} is not among the client's scopes", quote(s)),
            );
        }
    }
}

/// A client to register, with every field already parsed by the face.
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub name: String,
    /// Checked against `redirect_uris` by [`NewClient::check_rules`].
    pub grant_types: Vec<GrantType>,
    pub response_types: Vec<String>,
    pub scopes: Vec<Scope>,
    pub redirect_uris: Vec<RedirectUri>,
    /// Public clients get no secret.
    pub public: bool,
    /// `None`: the service's defaults (24 h and 10 days).
    pub access_token_duration: Option<i64>,
    pub refresh_token_duration: Option<i64>,
}

impl NewClient {
    /// Cross-field rules (field names relative to the client). Faces fold
    /// these into their own violation list so one response names every bad
    /// field; `create_client` enforces them again for any caller.
    pub fn check_rules(&self) -> Result<()> {
        let mut v = Violations::default();
        if self.grant_types.is_empty() {
            v.push("grant_types", "at least one grant type is required");
        }
        if self.grant_types.contains(&GrantType::AuthorizationCode) && self.redirect_uris.is_empty()
        {
            v.push(
                "redirect_uris",
                "authorization_code clients need at least one redirect URI",
            );
        }
        v.finish()
    }
}

impl Registry {
    pub async fn get_client(&self, caller: &Caller, id: &ClientId) -> Result<Client> {
        caller.require(Permission::ClientsRead)?;
        let c = self.client(caller, id).await?;
        super::audit_rows(None, 1);
        Ok(c)
    }

    /// The client whose tokens a caller with `tokens:read` is listing (no
    /// `clients:read` needed to learn that it exists in the organization).
    pub async fn client_of_tokens(&self, caller: &Caller, id: &ClientId) -> Result<Client> {
        caller.require(Permission::TokensRead)?;
        self.client(caller, id).await
    }

    /// The caller's organization's client `id`, or `NotFound`; permission
    /// is the caller's business.
    pub(super) async fn client(&self, caller: &Caller, id: &ClientId) -> Result<Client> {
        let found = self.store.get_client(&caller.org_id, id).await?;
        found.ok_or_else(|| Error::not_found("client", id))
    }

    /// The clients among `ids` whose tokens a caller with `tokens:read` is
    /// listing, in one query (a page names each client once at most).
    pub async fn clients_of_tokens(
        &self,
        caller: &Caller,
        ids: &[ClientId],
    ) -> Result<Vec<Client>> {
        caller.require(Permission::TokensRead)?;
        self.store.get_clients(&caller.org_id, ids).await
    }

    /// Registers a client; confidential clients get a secret, returned only here.
    pub async fn create_client(
        &self,
        caller: &Caller,
        new: NewClient,
    ) -> Result<(Client, Option<SecretString>)> {
        caller.require(Permission::ClientsWrite)?;
        new.check_rules()?;
        let now = Timestamp::now();
        let secret = (!new.public).then(|| NewSecret::generate(SecretKind::Client));
        let client = Client {
            id: ClientId::generate(),
            org_id: caller.org_id.clone(),
            name: new.name,
            grant_types: new.grant_types,
            response_types: new.response_types,
            scopes: new.scopes,
            redirect_uris: new.redirect_uris,
            public: new.public,
            access_token_duration: new.access_token_duration.unwrap_or(DEFAULT_ACCESS_TTL),
            refresh_token_duration: new.refresh_token_duration.unwrap_or(DEFAULT_REFRESH_TTL),
            secret_prefix: secret.as_ref().map(|s| s.prefix.clone()),
            created_at: now,
            updated_at: now,
            last_used: None,
        };
        self.store
            .insert_client(&client, secret.as_ref().map(|s| s.hash.as_slice()))
            .await?;
        Ok((client, secret.map(|s| s.plain)))
    }

    pub async fn update_client(
        &self,
        caller: &Caller,
        id: &ClientId,
        patch: &ClientPatch,
    ) -> Result<Client> {
        caller.require(Permission::ClientsWrite)?;
        let now = Timestamp::now();
        let updated = self
            .store
            .update_client(&caller.org_id, id, patch, now, expected());
        noted(updated.await)?.ok_or_else(|| Error::not_found("client", id))
    }

    /// Deletes a client; with tokens left it needs `force` (which deletes
    /// them in the same transaction).
    pub async fn delete_client(&self, caller: &Caller, id: &ClientId, force: bool) -> Result<()> {
        caller.require(Permission::ClientsWrite)?;
        let deleted = self
            .store
            .delete_client(&caller.org_id, id, force, expected());
        match noted(deleted.await)? {
            DeleteClientOutcome::Deleted => Ok(()),
            DeleteClientOutcome::NotFound => Err(Error::not_found("client", id)),
            DeleteClientOutcome::HasTokens(n) => Err(Error::FailedPrecondition(format!(
                "client {id} still has {n} token(s); delete them or set force"
            ))),
        }
    }
}
