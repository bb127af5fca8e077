//! Client use cases beyond listing.

use super::Registry;
use super::tokens::{DEFAULT_ACCESS_TTL, DEFAULT_REFRESH_TTL};
use crate::domain::auth::{Caller, Permission};
use crate::domain::ids::ClientId;
use crate::domain::model::Client;
use crate::domain::oauth::{GrantType, RedirectUri, Scope};
use crate::domain::patch::ClientPatch;
use crate::domain::secret::{NewSecret, SecretKind, SecretString};
use crate::domain::validate::Violations;
use crate::domain::{Error, Result, Timestamp};
use crate::store::DeleteClientOutcome;

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
        self.client(caller, id).await
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
        let updated = self.store.update_client(&caller.org_id, id, patch, now);
        updated.await?.ok_or_else(|| Error::not_found("client", id))
    }

    /// Deletes a client; with tokens left it needs `force` (which deletes
    /// them in the same transaction).
    pub async fn delete_client(&self, caller: &Caller, id: &ClientId, force: bool) -> Result<()> {
        caller.require(Permission::ClientsWrite)?;
        match self.store.delete_client(&caller.org_id, id, force).await? {
            DeleteClientOutcome::Deleted => Ok(()),
            DeleteClientOutcome::NotFound => Err(Error::not_found("client", id)),
            DeleteClientOutcome::HasTokens(n) => Err(Error::FailedPrecondition(format!(
                "client {id} still has {n} token(s); delete them or set force"
            ))),
        }
    }
}
