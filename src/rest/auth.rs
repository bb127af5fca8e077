//! Credentials over HTTP, read in this one place: `Authorization: Bearer
//! <key>` (and Review Board's `Authorization: token <key>`), or SlashID's
//! `SlashID-API-Key: <key>`. The same API keys, permissions and
//! organization scoping as gRPC.
//!
//! Handlers take [`Authenticated<E>`] as their first argument: axum runs it
//! before any other extractor, so a missing or bad credential is answered
//! (in the dialect's own error body, `E`) before the query or body is read.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::response::IntoResponse;

use crate::domain::auth::Caller;
use crate::domain::{Error, Result};
use crate::service::Registry;

/// A dialect's error type, as the answer to a refused credential. It sees
/// the request's head, for dialects whose error bodies echo parameters
/// (SlashID's pagination).
pub trait Refusal: IntoResponse + From<Error> {
    /// The dialect's answer to `e`; by default its answer to any domain
    /// error.
    fn refusal(e: Error, request: &Parts) -> Self {
        let _ = request;
        Self::from(e)
    }
}

/// The authenticated caller of a request; `E` is the dialect's error type,
/// which answers a refused credential in that dialect's shape.
pub struct Authenticated<E> {
    pub caller: Caller,
    dialect: PhantomData<fn() -> E>,
}

impl<E: Refusal> FromRequestParts<Registry> for Authenticated<E> {
    type Rejection = E;

    async fn from_request_parts(
        parts: &mut Parts,
        registry: &Registry,
    ) -> std::result::Result<Self, E> {
        let caller = match parts.extensions.remove::<Verified>() {
            Some(Verified(caller)) => caller,
            None => caller(registry, &parts.headers)
                .await
                .map_err(|e| E::refusal(e, parts))?,
        };
        Ok(Authenticated {
            caller,
            dialect: PhantomData,
        })
    }
}

/// A caller a layer already authenticated from this request's headers
/// (`conditional`), so the handler's extractor does not authenticate (and
/// spend a rate-limit permit) twice. Only server code sets extensions.
#[derive(Clone)]
pub(super) struct Verified(pub Caller);

/// The caller the request's credential names.
pub(super) async fn caller(registry: &Registry, headers: &HeaderMap) -> Result<Caller> {
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
