//! Organizations, API keys, and authenticating a presented key.

use super::Registry;
use crate::domain::auth::{ApiKey, Caller, Permission};
use crate::domain::ids::{KeyId, OrgId};
use crate::domain::model::Org;
use crate::domain::secret::{self, NewSecret, SecretKind, SecretString};
use crate::domain::{Error, Result, Timestamp};
use subtle::ConstantTimeEq;

/// `last_used_at` is written at most this often per key (µs), so reads do
/// not turn into a write per request.
const TOUCH_INTERVAL_US: i64 = 60_000_000;

/// A new key and its secret, shown once. The secret is a `SecretString`:
/// `{:?}` prints `[REDACTED]`, and reading it takes an explicit
/// `expose_secret()`.
#[derive(Debug)]
pub struct CreatedKey {
    pub key: ApiKey,
    pub secret: SecretString,
}

impl Registry {
    pub async fn create_org(&self, name: &str) -> Result<Org> {
        let name = crate::domain::validate::required_text("name", name)?;
        if self.store.find_org_by_name(&name).await?.is_some() {
            return Err(Error::AlreadyExists(format!("organization {name:?}")));
        }
        let org = Org {
            id: OrgId::generate(),
            name,
            created_at: Timestamp::now(),
        };
        self.store.insert_org(&org).await?;
        Ok(org)
    }

    /// Finds an organization by id or, failing that, by name: operators
    /// and Review Board's `local_site` name it either way.
    pub async fn find_org(&self, id_or_name: &str) -> Result<Org> {
        // A lookup key only: the organization found carries the stored id.
        let as_id = OrgId::from_trusted(id_or_name.to_owned());
        if let Some(org) = self.store.find_org(&as_id).await? {
            return Ok(org);
        }
        self.store
            .find_org_by_name(id_or_name)
            .await?
            .ok_or_else(|| Error::not_found("organization", id_or_name))
    }

    pub async fn create_api_key(
        &self,
        org_id: &OrgId,
        user_id: Option<String>,
        scopes: Vec<Permission>,
        superuser: bool,
        expires_at: Option<Timestamp>,
    ) -> Result<CreatedKey> {
        let secret = NewSecret::generate(SecretKind::ApiKey);
        let key = ApiKey {
            id: KeyId::generate(),
            org_id: org_id.clone(),
            user_id,
            scopes,
            superuser,
            prefix: secret.prefix.clone(),
            hash: secret.hash.clone(),
            created_at: Timestamp::now(),
            last_used_at: None,
            expires_at,
            revoked_at: None,
        };
        self.store.insert_api_key(&key).await?;
        Ok(CreatedKey {
            key,
            secret: secret.plain,
        })
    }

    /// Revokes the organization's API key `key_id`. Keys are looked up on
    /// every call (no cache), so the next call with it is refused.
    pub async fn revoke_api_key(&self, org_id: &OrgId, key_id: &KeyId) -> Result<()> {
        if self
            .store
            .revoke_api_key(org_id, key_id, Timestamp::now())
            .await?
        {
            // Refused on this process's next call (other replicas: within
            // the cache's time to live).
            self.keys.forget(key_id);
            Ok(())
        } else {
            Err(Error::not_found("API key", key_id))
        }
    }

    /// Authenticates the value of an `authorization` header (`Bearer <key>`;
    /// `token <key>` is accepted too, as Review Board clients send it).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Caller> {
        let header =
            header.ok_or_else(|| Error::Unauthenticated("missing authorization header".into()))?;
        let presented = header
            .split_once(' ')
            .filter(|(scheme, _)| {
                scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token")
            })
            .map(|(_, key)| key.trim())
            .ok_or_else(|| {
                Error::Unauthenticated("expected \"authorization: Bearer <api key>\"".into())
            })?;
        self.authenticate_key(presented).await
    }

    /// Authenticates a bare API key.
    pub async fn authenticate_key(&self, presented: &str) -> Result<Caller> {
        let invalid = || Error::Unauthenticated("invalid API key".into());
        if presented.len() > 256 {
            return Err(invalid());
        }
        // The one hash of this call: the cache's key, or the stored hash's
        // match (compared in constant time).
        let hash = secret::hash(presented);
        let mut key = match self.keys.get(&hash) {
            Some(key) => key,
            None => {
                let key = self
                    .store
                    .find_api_key(secret::prefix_of(presented))
                    .await?
                    .ok_or_else(invalid)?;
                if !bool::from(hash.ct_eq(&key.hash)) {
                    return Err(invalid());
                }
                if key.revoked_at.is_none() {
                    self.keys.put(&key);
                }
                key
            }
        };
        let now = Timestamp::now();
        if key.revoked_at.is_some() {
            return Err(Error::Unauthenticated("API key is revoked".into()));
        }
        if key.expires_at.is_some_and(|e| e <= now) {
            return Err(Error::Unauthenticated("API key has expired".into()));
        }
        self.limits.check(&key.id)?;
        if key
            .last_used_at
            .is_none_or(|t| now.micros() - t.micros() > TOUCH_INTERVAL_US)
        {
            // Best effort: a failed bookkeeping write must not fail the request.
            match self.store.touch_api_key(&key.id, now).await {
                Ok(()) => {
                    key.last_used_at = Some(now);
                    self.keys.put(&key);
                }
                Err(e) => tracing::warn!(error = %e, "could not record API key use"),
            }
        }
        let caller = Caller {
            org_id: key.org_id,
            key_id: key.id,
            user_id: key.user_id,
            scopes: key.scopes,
            superuser: key.superuser,
        };
        if let Some(call) = crate::audit::current() {
            call.set_caller(&caller);
        }
        Ok(caller)
    }
}
