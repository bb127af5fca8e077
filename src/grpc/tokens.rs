//! `TokenService`: each RPC authenticates, translates its request, calls the
//! core once, and translates the result.

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::auth::caller;
use super::pb::token_service_server::TokenService;
use super::{convert, deadline, pb};
use crate::domain::filter_expr;
use crate::domain::model::Token;
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

type PageStream = deadline::BoxStream<pb::StreamTokensResponse>;

fn tokens_out(tokens: Vec<crate::domain::model::Token>) -> Vec<pb::Token> {
    let now = Timestamp::now();
    tokens.into_iter().map(|t| convert::token(t, now)).collect()
}

#[tonic::async_trait]
impl TokenService for TokenApi {
    type StreamTokensStream = PageStream;

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
        }))
    }

    async fn stream_tokens(
        &self,
        req: Request<pb::StreamTokensRequest>,
    ) -> Result<Response<PageStream>, Status> {
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
                Ok(pb::StreamTokensResponse {
                    tokens: tokens_out(page.items),
                    next_page_token: page.next_page_token.unwrap_or_default(),
                })
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
        let t = self
            .registry
            .update_token(&caller, &id, &patch)
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
        let id = validate::id("id", &req.get_ref().id)?;
        self.registry.delete_token(&caller, &id).await?;
        Ok(Response::new(pbjson_types::Empty {}))
    }
}
