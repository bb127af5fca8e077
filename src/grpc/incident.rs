//! The incident-response RPCs of TokenService: LookupToken and
//! RevokeTokenBySecret (the secret goes straight into a redacting
//! `SecretString`; the request message is never logged), and the bulk
//! RevokeTokens, DeleteTokens and RevokeClientTokens.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::{convert, pb};
use crate::domain::bulk::BulkAction;
use crate::domain::secret::SecretString;
use crate::domain::{Error, Timestamp, filter_expr, validate};
use crate::service::{BulkOutcome, BulkRequest, Registry};

pub async fn lookup_token(
    registry: &Registry,
    mut req: Request<pb::LookupTokenRequest>,
) -> Result<Response<pb::Token>, Status> {
    let caller = caller(&req)?;
    let secret = SecretString::from(std::mem::take(&mut req.get_mut().secret));
    let t = registry.lookup_token(&caller, &secret).await?;
    Ok(Response::new(convert::token(t, Timestamp::now())))
}

pub async fn revoke_token_by_secret(
    registry: &Registry,
    mut req: Request<pb::RevokeTokenBySecretRequest>,
) -> Result<Response<pb::Token>, Status> {
    let caller = caller(&req)?;
    let secret = SecretString::from(std::mem::take(&mut req.get_mut().secret));
    let t = registry.revoke_token_by_secret(&caller, &secret).await?;
    Ok(Response::new(convert::token(t, Timestamp::now())))
}

fn max_matches(v: Option<i64>) -> Result<Option<u64>, Error> {
    v.map(|n| u64::try_from(n).map_err(|_| Error::invalid("max_matches", "must not be negative")))
        .transpose()
}

fn bulk_out(o: BulkOutcome) -> pb::BulkTokensResponse {
    let now = Timestamp::now();
    pb::BulkTokensResponse {
        matched: o.matched as i64,
        sample: o
            .sample
            .into_iter()
            .map(|t| convert::token(t, now))
            .collect(),
        confirmation_token: o.confirmation_token.unwrap_or_default(),
        done: o.done as i64,
        remaining: o.remaining as i64,
        finished: o.finished,
    }
}

/// RevokeTokens and DeleteTokens share their request's fields.
async fn bulk(
    registry: &Registry,
    caller: crate::domain::auth::Caller,
    action: BulkAction,
    (filter, all, dry_run, max, confirmation_token): (&str, bool, bool, Option<i64>, &str),
) -> Result<Response<pb::BulkTokensResponse>, Status> {
    let req = BulkRequest {
        action,
        filter: filter_expr::token_filter(filter)?,
        all,
        dry_run,
        max_matches: max_matches(max)?,
        confirmation_token: confirmation_token.to_owned(),
    };
    let o = registry.bulk_tokens(&caller, req).await?;
    Ok(Response::new(bulk_out(o)))
}

pub async fn revoke_tokens(
    registry: &Registry,
    req: Request<pb::RevokeTokensRequest>,
) -> Result<Response<pb::BulkTokensResponse>, Status> {
    let caller = caller(&req)?;
    let r = req.get_ref();
    let fields = (
        r.filter.as_str(),
        r.all,
        r.dry_run,
        r.max_matches,
        r.confirmation_token.as_str(),
    );
    bulk(registry, caller, BulkAction::Revoke, fields).await
}

pub async fn delete_tokens(
    registry: &Registry,
    req: Request<pb::DeleteTokensRequest>,
) -> Result<Response<pb::BulkTokensResponse>, Status> {
    let caller = caller(&req)?;
    let r = req.get_ref();
    let fields = (
        r.filter.as_str(),
        r.all,
        r.dry_run,
        r.max_matches,
        r.confirmation_token.as_str(),
    );
    bulk(registry, caller, BulkAction::Delete, fields).await
}

pub async fn revoke_client_tokens(
    registry: &Registry,
    req: Request<pb::RevokeClientTokensRequest>,
) -> Result<Response<pb::BulkTokensResponse>, Status> {
    let caller = caller(&req)?;
    let r = req.get_ref();
    let id = validate::id("client_id", &r.client_id)?;
    let bulk = BulkRequest {
        action: BulkAction::Revoke,
        filter: Default::default(),
        all: false,
        dry_run: r.dry_run,
        max_matches: max_matches(r.max_matches)?,
        confirmation_token: r.confirmation_token.clone(),
    };
    let o = registry.revoke_client_tokens(&caller, &id, bulk).await?;
    Ok(Response::new(bulk_out(o)))
}
