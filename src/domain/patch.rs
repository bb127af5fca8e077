//! Field-mask updates, as checked values. `None` leaves a field unchanged.
//! The store applies a patch inside the write transaction that reads the
//! row, so concurrent updates of different fields do not lose each other.

use super::model::{Client, Token};
use super::oauth::{GrantType, RedirectUri, Scope};
use super::time::Timestamp;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub scopes: Option<Vec<Scope>>,
    pub default_role: Option<String>,
    pub audience: Option<String>,
    pub expires_at: Option<Timestamp>,
}

impl TokenPatch {
    pub fn apply(&self, t: &mut Token, now: Timestamp) {
        set(&mut t.name, &self.name);
        set(&mut t.description, &self.description);
        set(&mut t.scopes, &self.scopes);
        set(&mut t.default_role, &self.default_role);
        set(&mut t.audience, &self.audience);
        set(&mut t.expires_at, &self.expires_at);
        t.updated_at = now.max(t.updated_at);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub grant_types: Option<Vec<GrantType>>,
    pub response_types: Option<Vec<String>>,
    pub scopes: Option<Vec<Scope>>,
    pub redirect_uris: Option<Vec<RedirectUri>>,
    pub access_token_duration: Option<i64>,
    pub refresh_token_duration: Option<i64>,
}

impl ClientPatch {
    pub fn apply(&self, c: &mut Client, now: Timestamp) {
        set(&mut c.name, &self.name);
        set(&mut c.grant_types, &self.grant_types);
        set(&mut c.response_types, &self.response_types);
        set(&mut c.scopes, &self.scopes);
        set(&mut c.redirect_uris, &self.redirect_uris);
        set(&mut c.access_token_duration, &self.access_token_duration);
        set(&mut c.refresh_token_duration, &self.refresh_token_duration);
        c.updated_at = now.max(c.updated_at);
    }
}

fn set<T: Clone>(slot: &mut T, v: &Option<T>) {
    if let Some(v) = v {
        *slot = v.clone();
    }
}
