//! `GET /v1/tokens:watch` and `GET /v1/clients:watch`: WatchTokens and
//! WatchClients as Server-Sent Events, through the gRPC service like every
//! canonical route. Each response message is one event: `id:` its resume
//! token, `event:` its kind (`created`, `updated`, `revoked`, `deleted`,
//! `bookmark`), `data:` the message in the protobuf JSON mapping. A refusal
//! before the first event is an ordinary canonical error response; an error
//! after it is a last `event: error` whose data is the `google.rpc.Status`.
//!
//! `Last-Event-ID` (what an EventSource sends when it reconnects) is a
//! resume token and wins over `resumeToken` and `startVersion`: a
//! reconnect repeats the first request's URL, and the header is where
//! that URL's stream got to.

use std::convert::Infallible;

use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::{Stream, StreamExt};
use tonic::Status;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Fail;
use super::json::Out;
use super::transcode::{grpc, invalid, param, status_json, text};
use crate::grpc::pb::client_service_server::ClientService;
use crate::grpc::pb::token_service_server::TokenService;
use crate::grpc::{ClientApi, TokenApi, pb};
use crate::rest::auth::Authenticated;
use crate::rest::openapi::{RpcStatus, proto};
use crate::rest::params::Params;
use crate::service::Registry;

pub(super) fn routes() -> OpenApiRouter<Registry> {
    OpenApiRouter::new()
        .routes(routes!(watch_tokens))
        .routes(routes!(watch_clients))
}

/// Query parameters of the Watch methods.
#[derive(IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[expect(dead_code, reason = "describes parameters read by `request`")]
struct WatchQuery {
    /// As in the List method; an event is sent when the row matches before
    /// or after the change, so rows leaving the view are seen too.
    #[param(max_length = 4096)]
    filter: Option<String>,
    /// An event's `id` (its `resumeToken`): continue after it, with no gap
    /// and no duplicate, on any replica. Exclusive with `startVersion`.
    resume_token: Option<String>,
    /// Send every change after this version, e.g. a listing's
    /// `readVersion` (0: from the oldest kept change; older than that is
    /// FAILED_PRECONDITION: re-list). Absent (and no resume token): changes
    /// from now on.
    #[param(minimum = 0)]
    start_version: Option<i64>,
}

/// The request fields (filter, resume token, start version) from the
/// query and `Last-Event-ID`.
fn request(p: &Params, headers: &HeaderMap) -> Result<(String, String, Option<i64>), Status> {
    let filter = text(p, "filter", "filter");
    let start_version = param(p, "startVersion", "start_version")
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| invalid("start_version", "must be a 64-bit integer"))
        })
        .transpose()?;
    let last_event_id = match headers.get("last-event-id") {
        None => "",
        Some(v) => v.to_str().map_err(|_| {
            invalid(
                "resume_token",
                "the Last-Event-ID header is not a resume token",
            )
        })?,
    };
    if !last_event_id.is_empty() {
        return Ok((filter, last_event_id.to_owned(), None));
    }
    Ok((
        filter,
        text(p, "resumeToken", "resume_token"),
        start_version,
    ))
}

const STREAM_DESCRIPTION: &str = "Server-Sent Events, one per change: `id:` the \
    resume token (send it back as `Last-Event-ID` or `resumeToken`), `event:` \
    `created`, `updated`, `revoked`, `deleted` or `bookmark` (progress, no row), \
    `data:` the response message in the protobuf JSON mapping on one line \
    (its schema is the media type's `x-itemSchema`). Comments keep an idle \
    stream alive. An error after the stream started (server draining: \
    UNAVAILABLE, resume elsewhere; the start fell below the feed's floor: \
    FAILED_PRECONDITION, re-list) is a last `event: error` whose `data:` is a \
    google.rpc.Status; then the stream ends.";

#[utoipa::path(
    get,
    path = "/v1/tokens:watch",
    tag = "canonical",
    operation_id = "WatchTokens",
    params(WatchQuery, ("Last-Event-ID" = Option<String>, Header, description = "A resume token, as EventSource sends it on reconnect; wins over resumeToken and startVersion")),
    responses((status = 200, description = STREAM_DESCRIPTION, body = proto::WatchTokensResponse, content_type = "text/event-stream"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn watch_tokens(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    headers: HeaderMap,
    q: RawQuery,
) -> Result<Response, Fail> {
    let (filter, resume_token, start_version) = request(&Params::new(q), &headers)?;
    let msg = pb::WatchTokensRequest {
        filter,
        resume_token,
        start_version,
    };
    let events = TokenApi::new(r).watch_tokens(grpc(caller, msg)).await?;
    Ok(sse(events.into_inner()))
}

#[utoipa::path(
    get,
    path = "/v1/clients:watch",
    tag = "canonical",
    operation_id = "WatchClients",
    params(WatchQuery, ("Last-Event-ID" = Option<String>, Header, description = "A resume token, as EventSource sends it on reconnect; wins over resumeToken and startVersion")),
    responses((status = 200, description = STREAM_DESCRIPTION, body = proto::WatchClientsResponse, content_type = "text/event-stream"), (status = "default", description = "google.rpc.Status with grpc-gateway's HTTP status", body = RpcStatus)),
    security(("bearer" = []))
)]
async fn watch_clients(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(r): State<Registry>,
    headers: HeaderMap,
    q: RawQuery,
) -> Result<Response, Fail> {
    let (filter, resume_token, start_version) = request(&Params::new(q), &headers)?;
    let msg = pb::WatchClientsRequest {
        filter,
        resume_token,
        start_version,
    };
    let events = ClientApi::new(r).watch_clients(grpc(caller, msg)).await?;
    Ok(sse(events.into_inner()))
}

/// A watch response message.
trait Change {
    fn kind(&self) -> i32;
    fn resume_token(&self) -> &str;
    /// The message as an event's data (`json::Out`).
    fn json(&self) -> serde_json::Result<String>;
}

impl Change for pb::WatchTokensResponse {
    fn kind(&self) -> i32 {
        self.kind
    }
    fn resume_token(&self) -> &str {
        &self.resume_token
    }
    fn json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&Out(self))
    }
}

impl Change for pb::WatchClientsResponse {
    fn kind(&self) -> i32 {
        self.kind
    }
    fn resume_token(&self) -> &str {
        &self.resume_token
    }
    fn json(&self) -> serde_json::Result<String> {
        serde_json::to_string(&Out(self))
    }
}

/// The messages as an event stream that ends after the first error.
fn sse<M: Change + Send + 'static>(
    messages: impl Stream<Item = Result<M, Status>> + Send + 'static,
) -> Response {
    let events = futures::stream::unfold(Some(Box::pin(messages)), |s| async move {
        let mut s = s?;
        let event = match s.next().await? {
            Ok(m) => event(&m),
            Err(e) => Err(e),
        };
        Some(match event {
            Ok(e) => (Ok::<_, Infallible>(e), Some(s)),
            Err(e) => (Ok(error_event(&e)), None),
        })
    });
    Sse::new(events)
        .keep_alive(KeepAlive::new())
        .into_response()
}

fn event<M: Change>(m: &M) -> Result<Event, Status> {
    let json = m
        .json()
        .map_err(|e| Status::internal(format!("encoding the event: {e}")))?;
    let event = Event::default().event(kind_name(m.kind())).data(json);
    let id = m.resume_token();
    // An SSE field cannot hold a line break or NUL (resume tokens never do).
    if id.is_empty() || id.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Ok(event);
    }
    Ok(event.id(id))
}

fn kind_name(kind: i32) -> &'static str {
    match pb::ChangeKind::try_from(kind) {
        Ok(pb::ChangeKind::Created) => "created",
        Ok(pb::ChangeKind::Updated) => "updated",
        Ok(pb::ChangeKind::Revoked) => "revoked",
        Ok(pb::ChangeKind::Deleted) => "deleted",
        Ok(pb::ChangeKind::Bookmark) => "bookmark",
        // Never sent; SSE's default event type.
        Ok(pb::ChangeKind::Unspecified) | Err(_) => "message",
    }
}

/// The last event of a stream that failed: no `id` (a reconnect resumes
/// after the last good event).
fn error_event(status: &Status) -> Event {
    Event::default()
        .event("error")
        .data(status_json(status).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(
        query: &str,
        last_event_id: Option<&str>,
    ) -> Result<(String, String, Option<i64>), Status> {
        let mut headers = HeaderMap::new();
        if let Some(id) = last_event_id {
            headers.insert("last-event-id", id.parse().expect("header"));
        }
        request(&Params::new(RawQuery(Some(query.to_owned()))), &headers)
    }

    #[test]
    fn last_event_id_wins_over_the_query() {
        let (f, t, v) = parsed("filter=a&startVersion=12", None).expect("ok");
        assert_eq!((f.as_str(), t.as_str(), v), ("a", "", Some(12)));
        let (_, t, v) = parsed("resume_token=x", None).expect("ok");
        assert_eq!((t.as_str(), v), ("x", None));
        let (f, t, v) = parsed("filter=a&startVersion=12&resumeToken=x", Some("y")).expect("ok");
        assert_eq!((f.as_str(), t.as_str(), v), ("a", "y", None));
        let (_, t, v) = parsed("startVersion=3", Some("")).expect("ok");
        assert_eq!((t.as_str(), v), ("", Some(3)));
        assert!(parsed("startVersion=x", None).is_err());
    }

    #[test]
    fn every_kind_has_its_event_name() {
        assert_eq!(kind_name(pb::ChangeKind::Created as i32), "created");
        assert_eq!(kind_name(pb::ChangeKind::Bookmark as i32), "bookmark");
        assert_eq!(kind_name(99), "message");
    }
}
