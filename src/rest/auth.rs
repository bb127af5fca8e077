//! Credentials over HTTP: `Authorization: Bearer <key>` (and Review Board's
//! `Authorization: token <key>`), or SlashID's `SlashID-API-Key: <key>`. The
//! same API keys, scopes and organization scoping as gRPC.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;

use crate::domain::auth::Caller;
use crate::domain::{Error, Result};
use crate::service::Registry;

pub async fn caller(registry: &Registry, headers: &HeaderMap) -> Result<Caller> {
    let text = |name| {
        headers
            .get(name)
            .map(|v| {
                v.to_str()
                    .map_err(|_| Error::Unauthenticated("credentials are not ASCII".into()))
            })
            .transpose()
    };
    let caller = match text("slashid-api-key")? {
        Some(key) => registry.authenticate_key(key.trim()).await?,
        None => registry.authenticate(text(AUTHORIZATION.as_str())?).await?,
    };
    tracing::Span::current().record("org", caller.org_id.as_str());
    Ok(caller)
}
