//! `TokenService` and `ClientService`, side by side: each RPC takes the
//! caller the authentication layer put on the request, translates its
//! request, calls the core once, and translates the result. The two
//! services mirror each other; keeping them in one file keeps them in step.

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::auth::caller;
use super::pb::client_service_server::ClientService;
use super::pb::token_service_server::TokenService;
use super::{convert, deadline, pb};
use crate::domain::filter_expr;
use crate::domain::model::{Client, Token};
use crate::domain::query::{LIST_BOUNDS, STREAM_BOUNDS};
use crate::domain::secret::ExposeSecret;
use crate::domain::{Error, Timestamp, validate};
use crate::service::{ListRequest, Registry};

/// The gRPC face of the token use cases.
#[derive(Clone)]
pub struct TokenApi {
    registry: Registry,
}

impl TokenApi {
    pub fn new(registry: Registry) -> Self {
        TokenApi { registry }
    }
}

type TokenPages = deadline::BoxStream<pb::StreamTokensResponse>;

fn tokens_out(tokens: Vec<crate::domain::model::Token>) -> Vec<pb::Token> {
    let now = Timestamp::now();
    tokens.into_iter().map(|t| convert::token(t, now)).collect()
}

#[tonic::async_trait]
impl TokenService for TokenApi {
    type StreamTokensStream = TokenPages;
    type WatchTokensStream = deadline::BoxStream<pb::WatchTokensResponse>;

    async fn lookup_token(
        &self,
        req: Request<pb::LookupTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        super::incident::lookup_token(&self.registry, req).await
    }

    async fn revoke_token_by_secret(
        &self,
        req: Request<pb::RevokeTokenBySecretRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        super::incident::revoke_token_by_secret(&self.registry, req).await
    }

    async fn revoke_tokens(
        &self,
        req: Request<pb::RevokeTokensRequest>,
    ) -> Result<Response<pb::BulkTokensResponse>, Status> {
        super::incident::revoke_tokens(&self.registry, req).await
    }

    async fn delete_tokens(
        &self,
        req: Request<pb::DeleteTokensRequest>,
    ) -> Result<Response<pb::BulkTokensResponse>, Status> {
        super::incident::delete_tokens(&self.registry, req).await
    }

    async fn revoke_client_tokens(
        &self,
        req: Request<pb::RevokeClientTokensRequest>,
    ) -> Result<Response<pb::BulkTokensResponse>, Status> {
        super::incident::revoke_client_tokens(&self.registry, req).await
    }

    async fn watch_tokens(
        &self,
        req: Request<pb::WatchTokensRequest>,
    ) -> Result<Response<Self::WatchTokensStream>, Status> {
        super::watch::tokens(&self.registry, req).await
    }

    async fn list_tokens(
        &self,
        req: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let list = ListRequest {
            filter: filter_expr::token_filter(&r.filter)?,
            sort: filter_expr::token_order(&r.order_by)?,
            page: convert::page_request(
                LIST_BOUNDS,
                r.page_size,
                &r.page_token,
                r.skip,
                r.page_number,
            )?,
            include_total: r.include_total_size,
        };
        let page = self.registry.list::<Token>(&caller, &list).await?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens_out(page.items),
            next_page_token: page.next_page_token.unwrap_or_default(),
            total_size: page.total_size.map(|n| n as i64),
            read_version: page.read_version.0,
        }))
    }

    async fn stream_tokens(
        &self,
        req: Request<pb::StreamTokensRequest>,
    ) -> Result<Response<TokenPages>, Status> {
        let timeout = deadline::timeout(req.metadata());
        let caller = caller(&req)?;
        let r = req.get_ref();
        if r.max_pages < 0 {
            return Err(Error::invalid("max_pages", "must not be negative").into());
        }
        let list = ListRequest {
            filter: filter_expr::token_filter(&r.filter)?,
            sort: filter_expr::token_order(&r.order_by)?,
            page: convert::page_request(STREAM_BOUNDS, r.page_size, &r.page_token, 0, 0)?,
            include_total: false,
        };
        let pages = self
            .registry
            .stream::<Token>(caller, list, r.max_pages as u32)?
            .map(|page| {
                let page = page?;
                Ok(pb::StreamTokensResponse::encoded(
                    &page.items,
                    Timestamp::now(),
                    page.next_page_token.unwrap_or_default(),
                    page.read_version.0,
                ))
            });
        Ok(Response::new(deadline::bounded(
            self.registry.metrics(),
            timeout,
            pages,
        )))
    }

    async fn count_tokens(
        &self,
        req: Request<pb::CountTokensRequest>,
    ) -> Result<Response<pb::CountTokensResponse>, Status> {
        let caller = caller(&req)?;
        let filter = filter_expr::token_filter(&req.get_ref().filter)?;
        let n = self.registry.count_tokens(&caller, &filter).await?;
        Ok(Response::new(pb::CountTokensResponse {
            total_size: n as i64,
        }))
    }

    async fn get_token(
        &self,
        req: Request<pb::GetTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        let caller = caller(&req)?;
        let id = validate::id("id", &req.get_ref().id)?;
        let t = self.registry.get_token(&caller, &id).await?;
        Ok(Response::new(convert::token(t, Timestamp::now())))
    }

    async fn create_token(
        &self,
        req: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let caller = caller(&req)?;
        let new = convert::new_token(req.get_ref().token.as_ref())?;
        let (t, secret) = self
            .registry
            .create_token(&caller, new)
            .await
            .map_err(|e| e.prefix_fields("token"))?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(convert::token(t, Timestamp::now())),
            // The one place the secret leaves as plain text: the response.
            secret: secret.expose_secret().to_owned(),
        }))
    }

    async fn update_token(
        &self,
        req: Request<pb::UpdateTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let (id, patch) = convert::token_patch(r.token.as_ref(), r.update_mask.as_ref())?;
        let etag = r.token.as_ref().map(|t| t.etag.as_str());
        let t = self
            .registry
            .with_etag(etag, self.registry.update_token(&caller, &id, &patch))
            .await
            .map_err(|e| e.prefix_fields("token"))?;
        Ok(Response::new(convert::token(t, Timestamp::now())))
    }

    async fn revoke_token(
        &self,
        req: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::Token>, Status> {
        let caller = caller(&req)?;
        let id = validate::id("id", &req.get_ref().id)?;
        let t = self.registry.revoke_token(&caller, &id).await?;
        Ok(Response::new(convert::token(t, Timestamp::now())))
    }

    async fn delete_token(
        &self,
        req: Request<pb::DeleteTokenRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let id = validate::id("id", &r.id)?;
        let deleted = self.registry.delete_token(&caller, &id);
        self.registry.with_etag(Some(&r.etag), deleted).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }
}

/// The gRPC face of the client use cases.
#[derive(Clone)]
pub struct ClientApi {
    registry: Registry,
}

impl ClientApi {
    pub fn new(registry: Registry) -> Self {
        ClientApi { registry }
    }
}

type ClientPages = deadline::BoxStream<pb::StreamClientsResponse>;

#[tonic::async_trait]
impl ClientService for ClientApi {
    type StreamClientsStream = ClientPages;
    type WatchClientsStream = deadline::BoxStream<pb::WatchClientsResponse>;

    async fn watch_clients(
        &self,
        req: Request<pb::WatchClientsRequest>,
    ) -> Result<Response<Self::WatchClientsStream>, Status> {
        super::watch::clients(&self.registry, req).await
    }

    async fn list_clients(
        &self,
        req: Request<pb::ListClientsRequest>,
    ) -> Result<Response<pb::ListClientsResponse>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let list = ListRequest {
            filter: filter_expr::client_filter(&r.filter)?,
            sort: filter_expr::client_order(&r.order_by)?,
            page: convert::page_request(
                LIST_BOUNDS,
                r.page_size,
                &r.page_token,
                r.skip,
                r.page_number,
            )?,
            include_total: r.include_total_size,
        };
        let page = self.registry.list::<Client>(&caller, &list).await?;
        Ok(Response::new(pb::ListClientsResponse {
            clients: page.items.iter().map(convert::client).collect(),
            next_page_token: page.next_page_token.unwrap_or_default(),
            total_size: page.total_size.map(|n| n as i64),
            read_version: page.read_version.0,
        }))
    }

    async fn stream_clients(
        &self,
        req: Request<pb::StreamClientsRequest>,
    ) -> Result<Response<ClientPages>, Status> {
        let timeout = deadline::timeout(req.metadata());
        let caller = caller(&req)?;
        let r = req.get_ref();
        if r.max_pages < 0 {
            return Err(Error::invalid("max_pages", "must not be negative").into());
        }
        let list = ListRequest {
            filter: filter_expr::client_filter(&r.filter)?,
            sort: filter_expr::client_order(&r.order_by)?,
            page: convert::page_request(STREAM_BOUNDS, r.page_size, &r.page_token, 0, 0)?,
            include_total: false,
        };
        let pages = self
            .registry
            .stream::<Client>(caller, list, r.max_pages as u32)?
            .map(|page| {
                let page = page?;
                Ok(pb::StreamClientsResponse {
                    clients: page.items.iter().map(convert::client).collect(),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                    read_version: page.read_version.0,
                })
            });
        Ok(Response::new(deadline::bounded(
            self.registry.metrics(),
            timeout,
            pages,
        )))
    }

    async fn get_client(
        &self,
        req: Request<pb::GetClientRequest>,
    ) -> Result<Response<pb::Client>, Status> {
        let caller = caller(&req)?;
        let id = validate::id("client_id", &req.get_ref().client_id)?;
        let c = self.registry.get_client(&caller, &id).await?;
        Ok(Response::new(convert::client(&c)))
    }

    async fn create_client(
        &self,
        req: Request<pb::CreateClientRequest>,
    ) -> Result<Response<pb::CreateClientResponse>, Status> {
        let caller = caller(&req)?;
        let new = convert::new_client(req.get_ref().client.as_ref())?;
        let (c, secret) = self
            .registry
            .create_client(&caller, new)
            .await
            .map_err(|e| e.prefix_fields("client"))?;
        Ok(Response::new(pb::CreateClientResponse {
            client: Some(convert::client(&c)),
            // The one place the secret leaves as plain text: the response.
            client_secret: secret
                .map(|s| s.expose_secret().to_owned())
                .unwrap_or_default(),
        }))
    }

    async fn update_client(
        &self,
        req: Request<pb::UpdateClientRequest>,
    ) -> Result<Response<pb::Client>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let (id, patch) = convert::client_patch(r.client.as_ref(), r.update_mask.as_ref())?;
        let etag = r.client.as_ref().map(|c| c.etag.as_str());
        let updated = self.registry.update_client(&caller, &id, &patch);
        let c = self.registry.with_etag(etag, updated).await?;
        Ok(Response::new(convert::client(&c)))
    }

    async fn delete_client(
        &self,
        req: Request<pb::DeleteClientRequest>,
    ) -> Result<Response<pbjson_types::Empty>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let id = validate::id("client_id", &r.client_id)?;
        let deleted = self.registry.delete_client(&caller, &id, r.force);
        self.registry.with_etag(Some(&r.etag), deleted).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }
}
