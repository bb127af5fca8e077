//! The go-grpc-prometheus families (`grpc_server_started_total`,
//! `grpc_server_handled_total`, `grpc_server_msg_received_total`,
//! `grpc_server_msg_sent_total`, `grpc_server_handling_seconds`), with the
//! label names and values stock dashboards and alerts expect: `grpc_type`
//! (`unary`, `server_stream`, ...), `grpc_service`, `grpc_method`, and
//! `grpc_code` as a name (`OK`, `NotFound`). Labels come only from the
//! server's own method table, so callers cannot add series.
//!
//! A call is `handled` when it really ends: for a stream that is its final
//! trailers, so a stream failing mid-way counts with its real code, and one
//! the client abandons counts as `Canceled`. [`Counted`] watches the
//! response body for that and counts the messages sent.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

/// How an RPC streams, as go-grpc-prometheus names it.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum GrpcType {
    Unary,
    ClientStream,
    ServerStream,
    BidiStream,
}

impl EncodeLabelValue for GrpcType {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write;
        encoder.write_str(match self {
            GrpcType::Unary => "unary",
            GrpcType::ClientStream => "client_stream",
            GrpcType::ServerStream => "server_stream",
            GrpcType::BidiStream => "bidi_stream",
        })
    }
}

impl GrpcType {
    pub fn of(client_streaming: bool, server_streaming: bool) -> Self {
        match (client_streaming, server_streaming) {
            (false, false) => GrpcType::Unary,
            (true, false) => GrpcType::ClientStream,
            (false, true) => GrpcType::ServerStream,
            (true, true) => GrpcType::BidiStream,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcLabels {
    pub grpc_type: GrpcType,
    pub grpc_service: String,
    pub grpc_method: String,
}

impl GrpcLabels {
    /// From a known `/package.Service/Method` path.
    pub fn new(path: &str, grpc_type: GrpcType) -> Self {
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("unknown", "unknown"));
        GrpcLabels {
            grpc_type,
            grpc_service: service.to_owned(),
            grpc_method: method.to_owned(),
        }
    }

    /// Calls to paths this server does not have, all in one series.
    pub fn unknown() -> Self {
        GrpcLabels {
            grpc_type: GrpcType::Unary,
            grpc_service: "unknown".to_owned(),
            grpc_method: "unknown".to_owned(),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GrpcCodeLabels {
    pub grpc_type: GrpcType,
    pub grpc_service: String,
    pub grpc_method: String,
    pub grpc_code: &'static str,
}

/// gRPC status codes by name, as grpc-go spells them (`codes.Code.String`).
pub const CODE_NAMES: [&str; 17] = [
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
];

const OK: i64 = 0;
const CANCELED: i64 = 1;
const UNKNOWN: i64 = 2;

/// A `grpc-status` value's number; anything unreadable is UNKNOWN.
pub fn code_number(status: &str) -> i64 {
    status
        .parse::<i64>()
        .ok()
        .filter(|n| (0..CODE_NAMES.len() as i64).contains(n))
        .unwrap_or(UNKNOWN)
}

/// The families one call reports into.
#[derive(Clone)]
pub struct GrpcFamilies {
    pub started: Family<GrpcLabels, Counter>,
    pub handled: Family<GrpcCodeLabels, Counter>,
    pub received: Family<GrpcLabels, Counter>,
    pub sent: Family<GrpcLabels, Counter>,
    pub handling: Family<GrpcLabels, Histogram, fn() -> Histogram>,
}

/// One call in progress: started and received are counted at once, the
/// rest when it ends.
pub struct Call {
    families: Arc<GrpcFamilies>,
    labels: GrpcLabels,
    start: Instant,
    sent: u64,
    done: bool,
    /// The request's span, which gets the final code.
    span: tracing::Span,
}

impl Call {
    pub fn start(families: Arc<GrpcFamilies>, labels: GrpcLabels, start: Instant) -> Self {
        families.started.get_or_create(&labels).inc();
        // Unary and server-streaming requests are one message, decoded
        // before the handler runs (go-grpc-prometheus counts it there too).
        if matches!(labels.grpc_type, GrpcType::Unary | GrpcType::ServerStream) {
            families.received.get_or_create(&labels).inc();
        }
        Call {
            families,
            labels,
            start,
            sent: 0,
            done: false,
            span: tracing::Span::current(),
        }
    }

    fn finish(&mut self, code: i64) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        crate::trace::record_outcome(&self.span, Some(code), 200);
        let code = CODE_NAMES.get(code as usize).copied().unwrap_or("Unknown");
        let f = &self.families;
        f.sent.get_or_create(&self.labels).inc_by(self.sent);
        f.handled
            .get_or_create(&GrpcCodeLabels {
                grpc_type: self.labels.grpc_type,
                grpc_service: self.labels.grpc_service.clone(),
                grpc_method: self.labels.grpc_method.clone(),
                grpc_code: code,
            })
            .inc();
        f.handling
            .get_or_create(&self.labels)
            .observe(self.start.elapsed().as_secs_f64());
    }
}

impl Drop for Call {
    /// A call whose body was dropped before its trailers was cancelled.
    fn drop(&mut self) {
        self.finish(CANCELED);
    }
}

pin_project_lite::pin_project! {
    /// A gRPC response body that counts the messages it carries and ends
    /// its [`Call`] with the status in its trailers.
    pub struct Counted<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
        // Length-prefixed message framing: header bytes seen of the
        // current message, and payload bytes still to skip.
        header: [u8; 5],
        have: usize,
        skip: usize,
    }
}

/// A face's own response body type, rebuilt around a [`Counted`] one
/// (tonic and axum each want their own body type back from a layer).
pub trait Rebox: Body<Data = Bytes> + Sized {
    fn rebox(counted: Counted<Self>) -> Self;
}

impl Rebox for tonic::body::Body {
    fn rebox(counted: Counted<Self>) -> Self {
        tonic::body::Body::new(counted)
    }
}

#[cfg(feature = "rest")]
impl Rebox for axum::body::Body {
    fn rebox(counted: Counted<Self>) -> Self {
        axum::body::Body::new(counted)
    }
}

impl<B> Counted<B> {
    /// `status`: a trailers-only response's `grpc-status` (the call is
    /// over before any body).
    pub fn new(inner: B, mut call: Option<Call>, status: Option<&str>) -> Self {
        if let (Some(c), Some(s)) = (call.as_mut(), status) {
            c.finish(code_number(s));
        }
        Counted {
            inner,
            call,
            header: [0; 5],
            have: 0,
            skip: 0,
        }
    }
}

impl<B: Body<Data = Bytes>> Body for Counted<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        let Some(call) = this.call.as_mut() else {
            return Poll::Ready(frame);
        };
        match &frame {
            Some(Ok(f)) => {
                if let Some(data) = f.data_ref() {
                    let mut bytes = &data[..];
                    while !bytes.is_empty() {
                        if *this.skip > 0 {
                            let n = (*this.skip).min(bytes.len());
                            *this.skip -= n;
                            bytes = &bytes[n..];
                            continue;
                        }
                        let n = (5 - *this.have).min(bytes.len());
                        this.header[*this.have..*this.have + n].copy_from_slice(&bytes[..n]);
                        *this.have += n;
                        bytes = &bytes[n..];
                        if *this.have == 5 {
                            let h = *this.header;
                            *this.skip = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
                            *this.have = 0;
                            call.sent += 1;
                        }
                    }
                } else if let Some(trailers) = f.trailers_ref() {
                    let status = trailers.get("grpc-status").and_then(|v| v.to_str().ok());
                    call.finish(status.map_or(UNKNOWN, code_number));
                }
            }
            Some(Err(_)) => call.finish(UNKNOWN),
            None => call.finish(OK),
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
