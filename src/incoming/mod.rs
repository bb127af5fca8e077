//! The gRPC accept loop. A connection is handed to tonic only once its
//! first bytes have arrived (the 24-byte HTTP/2 preface, an HTTP/1.1
//! request line for gRPC-Web, or with TLS a completed handshake); one that
//! stays silent (or stalls mid-preface) past the limit is closed, so idle
//! sockets cannot pile up behind the listener. Waiting happens on a task per
//! connection, never in the accept loop. Every connection gets TCP
//! keepalive and HTTP/2 PING policing ([`pings`]).

pub mod pings;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

use pings::{PREFACE, Policed};

/// Connections whose first bytes are still awaited, at most; beyond it the
/// accept loop waits (and new connections queue in the kernel's backlog).
const MAX_PENDING: usize = 1024;

/// What each accepted connection gets.
#[derive(Clone)]
pub struct ConnectionPolicy {
    /// Longest wait for the first bytes (or the TLS handshake).
    pub first_bytes_within: Duration,
    /// Terminate TLS here (ALPN h2 and http/1.1) before tonic sees the bytes.
    pub tls: Option<tokio_rustls::TlsAcceptor>,
    pub tcp_keepalive: Option<Duration>,
    pub min_ping_interval: Duration,
}

/// TCP or TLS underneath.
pub enum Transport {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// An accepted connection as tonic serves it.
pub type Conn = Policed<Transport>;

/// Accepted connections that passed the checks above, as the stream
/// `Server::serve_with_incoming_shutdown` takes.
pub fn incoming(
    listener: TcpListener,
    policy: ConnectionPolicy,
) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let pending = std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_PENDING));
        loop {
            let Ok(permit) = pending.clone().acquire_owned().await else {
                return;
            };
            // Once tonic drops the stream (shutdown), stop listening at once.
            let accepted = tokio::select! {
                _ = tx.closed() => return,
                a = listener.accept() => a,
            };
            let Some((stream, _)) = accepted_or_back_off(accepted, "gRPC").await else {
                continue;
            };
            if let Some(idle) = policy.tcp_keepalive {
                let keepalive = socket2::TcpKeepalive::new().with_time(idle).with_interval(
                    idle.min(Duration::from_secs(10))
                        .max(Duration::from_secs(1)),
                );
                let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&keepalive);
            }
            let tx = tx.clone();
            let policy = policy.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let limit = policy.first_bytes_within;
                match tokio::time::timeout(limit, admit(stream, &policy)).await {
                    Ok(Some(transport)) => {
                        let conn = Policed::new(transport, policy.min_ping_interval);
                        let _ = tx.send(Ok(conn)).await;
                    }
                    Ok(None) => {}
                    Err(_) => {
                        tracing::debug!(?limit, "closed a gRPC connection that sent no preface")
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The connection once its first bytes are in (plaintext) or its TLS
/// handshake is done; `None` if the peer closed or the handshake failed.
async fn admit(stream: TcpStream, policy: &ConnectionPolicy) -> Option<Transport> {
    match &policy.tls {
        None => first_bytes(&stream, PREFACE.len())
            .await
            .then_some(Transport::Plain(stream)),
        Some(acceptor) => match acceptor.accept(stream).await {
            Ok(tls) => Some(Transport::Tls(Box::new(tls))),
            Err(e) => {
                tracing::debug!(error = %e, "gRPC TLS handshake failed");
                None
            }
        },
    }
}

/// The accepted stream (Nagle's algorithm off: small responses must not
/// wait for delayed ACKs), or `None` after a short back-off when accepting
/// failed (typically out of file descriptors), so the caller retries.
pub(crate) async fn accepted_or_back_off(
    accepted: io::Result<(TcpStream, std::net::SocketAddr)>,
    listener: &str,
) -> Option<(TcpStream, std::net::SocketAddr)> {
    match accepted {
        Ok((stream, peer)) => {
            let _ = stream.set_nodelay(true);
            Some((stream, peer))
        }
        Err(e) => {
            tracing::warn!(error = %e, "{listener} accept failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
            None
        }
    }
}

/// Waits until `needed` bytes can be read without consuming them; false if
/// the peer closed first. A partial preface is re-checked every few
/// milliseconds (it normally arrives in one segment).
async fn first_bytes(stream: &TcpStream, needed: usize) -> bool {
    let mut buf = [0u8; 24];
    loop {
        match stream.peek(&mut buf[..needed]).await {
            Ok(0) | Err(_) => return false,
            Ok(n) if n >= needed => return true,
            Ok(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
}

impl Transport {
    fn tcp(&self) -> &TcpStream {
        match self {
            Transport::Plain(s) => s,
            Transport::Tls(s) => s.get_ref().0,
        }
    }
}

impl Connected for Conn {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        let tcp = self.get_ref().tcp();
        TcpConnectInfo {
            local_addr: tcp.local_addr().ok(),
            remote_addr: tcp.peer_addr().ok(),
        }
    }
}

impl AsyncRead for Transport {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Transport {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_flush(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Transport::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Transport::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
