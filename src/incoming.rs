//! The gRPC accept loop. A connection is handed to tonic only once its
//! first bytes have arrived: the 24-byte HTTP/2 preface in plaintext, or a
//! TLS ClientHello. One that stays silent (or stalls mid-preface) past the
//! limit is closed, so idle sockets cannot pile up behind the listener.
//! Waiting happens on a task per connection, never in the accept loop.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Connections whose first bytes are still awaited, at most; beyond it the
/// accept loop waits (and new connections queue in the kernel's backlog).
const MAX_PENDING: usize = 1024;

/// Accepted connections that have sent their first bytes within `limit`,
/// as the stream `Server::serve_with_incoming_shutdown` takes. `tls`: the
/// first bytes are a ClientHello, not the preface.
pub fn incoming(
    listener: TcpListener,
    limit: Duration,
    tls: bool,
) -> ReceiverStream<std::io::Result<TcpStream>> {
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
            let tx = tx.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let needed = if tls { 1 } else { PREFACE.len() };
                match tokio::time::timeout(limit, first_bytes(&stream, needed)).await {
                    Ok(true) => {
                        let _ = tx.send(Ok(stream)).await;
                    }
                    Ok(false) => {}
                    Err(_) => {
                        tracing::debug!(?limit, "closed a gRPC connection that sent no preface")
                    }
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// The accepted stream (Nagle's algorithm off: small responses must not
/// wait for delayed ACKs), or `None` after a short back-off when accepting
/// failed (typically out of file descriptors), so the caller retries.
pub(crate) async fn accepted_or_back_off(
    accepted: std::io::Result<(TcpStream, std::net::SocketAddr)>,
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
