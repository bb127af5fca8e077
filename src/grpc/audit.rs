//! AuditService: the request's filters become an `AuditQuery`, each audit
//! event one message.

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::auth::caller;
use super::pb::audit_service_server::AuditService;
use super::{convert, deadline, pb};
use crate::domain::audit::{AuditEvent, AuditKind, AuditQuery};
use crate::domain::query::{LIST_BOUNDS, PageSize};
use crate::domain::{Error, Result};
use crate::service::Registry;

/// The gRPC face of the audit trail.
#[derive(Clone)]
pub struct AuditApi {
    registry: Registry,
}

impl AuditApi {
    pub fn new(registry: Registry) -> Self {
        AuditApi { registry }
    }
}

fn query(
    key_id: &str,
    user_id: &str,
    kind: i32,
    start: Option<&pbjson_types::Timestamp>,
    end: Option<&pbjson_types::Timestamp>,
) -> Result<AuditQuery> {
    let text = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let kind = match pb::AuditKind::try_from(kind) {
        Ok(pb::AuditKind::Unspecified) => None,
        Ok(pb::AuditKind::Read) => Some(AuditKind::Read),
        Ok(pb::AuditKind::Write) => Some(AuditKind::Write),
        Err(_) => return Err(Error::invalid("kind", "unknown audit kind")),
    };
    let time = |field, t: Option<&pbjson_types::Timestamp>| {
        t.map(|t| convert::parse_timestamp(field, t)).transpose()
    };
    Ok(AuditQuery {
        key_id: text(key_id),
        user_id: text(user_id),
        kind,
        from: time("start_time", start)?,
        to: time("end_time", end)?,
        before: None,
        limit: 0,
    })
}

fn event(e: AuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        id: e.id,
        time: Some(convert::timestamp(e.at)),
        key_id: e.key_id.to_string(),
        user_id: e.user_id.unwrap_or_default(),
        kind: match e.kind {
            AuditKind::Read => pb::AuditKind::Read,
            AuditKind::Write => pb::AuditKind::Write,
        }
        .into(),
        method: e.method,
        dialect: e.dialect,
        filter_hash: e.filter_hash,
        rows: e.rows as i64,
        outcome: e.outcome,
        http_status: e.http_status.map(i32::from).unwrap_or_default(),
        request_id: e.request_id,
        trace_id: e.trace_id,
    }
}

#[tonic::async_trait]
impl AuditService for AuditApi {
    type ExportAuditEventsStream = deadline::BoxStream<pb::ExportAuditEventsResponse>;

    async fn list_audit_events(
        &self,
        req: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let caller = caller(&req)?;
        let r = req.get_ref();
        let mut q = query(
            &r.key_id,
            &r.user_id,
            r.kind,
            r.start_time.as_ref(),
            r.end_time.as_ref(),
        )?;
        q.limit = PageSize::aip("page_size", i64::from(r.page_size), LIST_BOUNDS)?.get();
        let (events, next) = self
            .registry
            .list_audit_events(&caller, q, &r.page_token)
            .await?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            events: events.into_iter().map(event).collect(),
            next_page_token: next.unwrap_or_default(),
        }))
    }

    async fn export_audit_events(
        &self,
        req: Request<pb::ExportAuditEventsRequest>,
    ) -> Result<Response<Self::ExportAuditEventsStream>, Status> {
        let timeout = deadline::timeout(req.metadata());
        let caller = caller(&req)?;
        let r = req.get_ref();
        let q = query(
            &r.key_id,
            &r.user_id,
            r.kind,
            r.start_time.as_ref(),
            r.end_time.as_ref(),
        )?;
        let pages = self
            .registry
            .export_audit_events(caller, q, r.page_token.clone())
            .await?
            .map(|page| {
                let (events, next) = page?;
                Ok(pb::ExportAuditEventsResponse {
                    events: events.into_iter().map(event).collect(),
                    next_page_token: next.unwrap_or_default(),
                })
            });
        Ok(Response::new(deadline::bounded(
            self.registry.metrics(),
            timeout,
            pages,
        )))
    }
}
