//! gRPC authentication as one tower layer around `TokenService` and
//! `ClientService`: it reads the `authorization` metadata, authenticates it
//! once, and hands the RPC the `Caller` in the request's extensions. No
//! RPC reads credentials itself. A tonic interceptor cannot do this: it is
//! synchronous, and authenticating looks the key up in the database.
//! Health and reflection are not wrapped; they stay open, as probes and
//! grpcurl expect.

use std::task::{Context, Poll};

use futures::future::BoxFuture;
use tonic::server::NamedService;
use tonic::{Request, Status};
use tower::{Layer, Service};

use crate::domain::auth::Caller;
use crate::service::Registry;

/// Wraps a generated service so every call is authenticated first.
#[derive(Clone)]
pub struct AuthLayer {
    registry: Registry,
}

impl AuthLayer {
    pub fn new(registry: Registry) -> Self {
        AuthLayer { registry }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Authenticated<S> {
        Authenticated {
            inner,
            registry: self.registry.clone(),
        }
    }
}

/// A service whose calls carry an authenticated [`Caller`].
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    registry: Registry,
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for Authenticated<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call (tower's rule).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let registry = self.registry.clone();
        Box::pin(async move {
            match authenticate(&registry, req.headers()).await {
                Ok(caller) => {
                    req.extensions_mut().insert(caller);
                    inner.call(req).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

async fn authenticate(registry: &Registry, headers: &http::HeaderMap) -> Result<Caller, Status> {
    let header = match headers.get(http::header::AUTHORIZATION) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| Status::unauthenticated("authorization metadata is not ASCII"))?,
        ),
    };
    let caller = registry.authenticate(header).await?;
    tracing::Span::current().record("org", caller.org_id.as_str());
    Ok(caller)
}

/// The caller [`AuthLayer`] authenticated for this request.
pub fn caller<T>(req: &Request<T>) -> Result<Caller, Status> {
    req.extensions()
        .get::<Caller>()
        .cloned()
        // Only a service mounted without the layer gets here: a bug, not
        // the client's fault, and never a way in.
        .ok_or_else(|| Status::internal("the service is mounted without authentication"))
}
