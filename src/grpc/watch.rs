//! WatchTokens and WatchClients: the request becomes a `WatchRequest`, each
//! `WatchEvent` one response message; the deadline and stream accounting of
//! `deadline::bounded` apply as to the other streams.

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::auth::caller;
use super::{convert, deadline, pb};
use crate::domain::change::{ChangeKind, Version};
use crate::domain::filter_expr;
use crate::domain::model::{Client, Token};
use crate::domain::{Error, Timestamp};
use crate::service::{Registry, WatchEvent, WatchRequest, WatchStart};

fn start(resume_token: &str, start_version: Option<i64>) -> Result<WatchStart, Error> {
    match (resume_token.is_empty(), start_version) {
        (true, None) => Ok(WatchStart::Now),
        (false, None) => Ok(WatchStart::Resume(resume_token.to_owned())),
        (true, Some(v)) => Ok(WatchStart::After(Version(v))),
        (false, Some(_)) => Err(Error::invalid(
            "start_version",
            "set either resume_token or start_version, not both",
        )),
    }
}

fn kind(k: ChangeKind) -> pb::ChangeKind {
    match k {
        ChangeKind::Created => pb::ChangeKind::Created,
        ChangeKind::Updated => pb::ChangeKind::Updated,
        ChangeKind::Revoked => pb::ChangeKind::Revoked,
        ChangeKind::Deleted => pb::ChangeKind::Deleted,
    }
}

/// The parts of a response message every event fills: (kind, version,
/// resume token, change time) and the row, if any.
type Parts<R> = (
    pb::ChangeKind,
    i64,
    String,
    Option<pbjson_types::Timestamp>,
    Option<R>,
);

fn parts<T, R>(e: WatchEvent<T>, row: impl FnOnce(T) -> R) -> Parts<R> {
    match e {
        WatchEvent::Change {
            kind: k,
            row: r,
            version,
            resume_token,
            at,
        } => (
            kind(k),
            version.0,
            resume_token,
            Some(convert::timestamp(at)),
            Some(row(r)),
        ),
        WatchEvent::Bookmark {
            version,
            resume_token,
        } => (
            pb::ChangeKind::Bookmark,
            version.0,
            resume_token,
            None,
            None,
        ),
    }
}

pub async fn tokens(
    registry: &Registry,
    req: Request<pb::WatchTokensRequest>,
) -> Result<Response<deadline::BoxStream<pb::WatchTokensResponse>>, Status> {
    let timeout = deadline::timeout(req.metadata());
    let caller = caller(&req)?;
    let r = req.get_ref();
    let watch = WatchRequest {
        filter: filter_expr::token_filter(&r.filter)?,
        start: start(&r.resume_token, r.start_version)?,
    };
    let events = registry.watch::<Token>(caller, watch).await?.map(|e| {
        let (kind, version, resume_token, change_time, token) =
            parts(e?, |t| convert::token(t, Timestamp::now()));
        Ok(pb::WatchTokensResponse {
            kind: kind.into(),
            token,
            version,
            resume_token,
            change_time,
        })
    });
    Ok(Response::new(deadline::bounded(
        registry.metrics(),
        timeout,
        events,
    )))
}

pub async fn clients(
    registry: &Registry,
    req: Request<pb::WatchClientsRequest>,
) -> Result<Response<deadline::BoxStream<pb::WatchClientsResponse>>, Status> {
    let timeout = deadline::timeout(req.metadata());
    let caller = caller(&req)?;
    let r = req.get_ref();
    let watch = WatchRequest {
        filter: filter_expr::client_filter(&r.filter)?,
        start: start(&r.resume_token, r.start_version)?,
    };
    let events = registry.watch::<Client>(caller, watch).await?.map(|e| {
        let (kind, version, resume_token, change_time, client) = parts(e?, |c| convert::client(&c));
        Ok(pb::WatchClientsResponse {
            kind: kind.into(),
            client,
            version,
            resume_token,
            change_time,
        })
    });
    Ok(Response::new(deadline::bounded(
        registry.metrics(),
        timeout,
        events,
    )))
}
