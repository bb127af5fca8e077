//! HTTP/2 PING policing (gRFC A8's server enforcement), which hyper lacks.
//! [`Policed`] wraps a connection's bytes and reads the HTTP/2 frame
//! headers going each way (never the payloads). A client PING that arrives
//! sooner than the minimum interval after the previous one, with no
//! HEADERS or DATA sent by the server in between, is a strike; past
//! [`MAX_STRIKES`] the connection gets GOAWAY `ENHANCE_YOUR_CALM` with
//! debug data `too_many_pings` (what grpc-go and grpc-java send, and what
//! their clients look for to back off) and is closed. Connections that are
//! not HTTP/2 (gRPC-Web over HTTP/1.1) pass through untouched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The HTTP/2 client connection preface (RFC 9113 §3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Pings tolerated within the minimum interval before GOAWAY (grpc-go's 2).
pub const MAX_STRIKES: u32 = 2;

const FRAME_HEADER: usize = 9;
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const PING: u8 = 0x6;
const ACK: u8 = 0x1;
const ENHANCE_YOUR_CALM: u32 = 0xb;
const DEBUG: &[u8] = b"too_many_pings";

/// Walks a byte stream frame by frame, keeping only the current header.
#[derive(Default)]
struct Frames {
    header: [u8; FRAME_HEADER],
    have: usize,
    payload_left: usize,
}

impl Frames {
    /// Feeds bytes; calls `on_header(type, flags, stream_id)` per frame.
    fn feed(&mut self, mut bytes: &[u8], mut on_header: impl FnMut(u8, u8, u32)) {
        while !bytes.is_empty() {
            if self.payload_left > 0 {
                let n = self.payload_left.min(bytes.len());
                self.payload_left -= n;
                bytes = &bytes[n..];
                continue;
            }
            let n = (FRAME_HEADER - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have == FRAME_HEADER {
                let h = self.header;
                self.have = 0;
                self.payload_left =
                    usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]);
                let stream = u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff;
                on_header(h[3], h[4], stream);
            }
        }
    }

    fn at_boundary(&self) -> bool {
        self.have == 0 && self.payload_left == 0
    }

    /// Bytes to the end of the current frame (0 at a boundary).
    fn left_in_frame(&self) -> usize {
        match self.have {
            0 => self.payload_left,
            // Mid-header: at least the rest of the header.
            have => FRAME_HEADER - have,
        }
    }
}

enum Mode {
    /// Still reading the client preface (bytes matched so far).
    Preface(usize),
    Http2,
    /// Not HTTP/2 (or done policing): bytes pass untouched.
    Passthrough,
}

/// A connection whose client pings are policed; see the module docs.
pub struct Policed<T> {
    inner: T,
    min_interval: Duration,
    mode: Mode,
    incoming: Frames,
    outgoing: Frames,
    last_ping: Option<Instant>,
    strikes: u32,
    last_stream: u32,
    /// The GOAWAY still to be written, once abuse is found.
    goaway: Option<Vec<u8>>,
    closed: bool,
}

impl<T> Policed<T> {
    pub fn new(inner: T, min_interval: Duration) -> Self {
        Policed {
            inner,
            min_interval,
            mode: Mode::Preface(0),
            incoming: Frames::default(),
            outgoing: Frames::default(),
            last_ping: None,
            strikes: 0,
            last_stream: 0,
            goaway: None,
            closed: false,
        }
    }

    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// Looks at bytes the client sent.
    fn inspect_incoming(&mut self, mut bytes: &[u8]) {
        if let Mode::Preface(seen) = self.mode {
            let n = (PREFACE.len() - seen).min(bytes.len());
            if bytes[..n] != PREFACE[seen..seen + n] {
                self.mode = Mode::Passthrough;
                return;
            }
            bytes = &bytes[n..];
            self.mode = match seen + n {
                24 => Mode::Http2,
                s => Mode::Preface(s),
            };
        }
        if !matches!(self.mode, Mode::Http2) {
            return;
        }
        let (min, now) = (self.min_interval, Instant::now());
        let mut pings = 0;
        let mut last_stream = self.last_stream;
        self.incoming.feed(bytes, |kind, flags, stream| match kind {
            PING if flags & ACK == 0 => pings += 1,
            HEADERS => last_stream = last_stream.max(stream),
            _ => {}
        });
        self.last_stream = last_stream;
        for _ in 0..pings {
            if self.last_ping.is_some_and(|t| now.duration_since(t) < min) {
                self.strikes += 1;
            }
            self.last_ping = Some(now);
        }
        if self.strikes > MAX_STRIKES && self.goaway.is_none() {
            tracing::warn!(
                strikes = self.strikes,
                ?min,
                "client pings too often; GOAWAY too_many_pings"
            );
            self.goaway = Some(goaway(self.last_stream));
        }
    }

    /// Looks at bytes the server wrote: data or headers forgive the pings.
    fn inspect_outgoing(&mut self, bytes: &[u8]) {
        if !matches!(self.mode, Mode::Http2 | Mode::Preface(_)) {
            return;
        }
        let mut sent_data = false;
        self.outgoing.feed(bytes, |kind, _, _| {
            sent_data |= matches!(kind, DATA | HEADERS)
        });
        if sent_data {
            self.strikes = 0;
            self.last_ping = None;
        }
    }
}

/// GOAWAY(last stream, ENHANCE_YOUR_CALM, "too_many_pings") (RFC 9113 §6.8).
fn goaway(last_stream: u32) -> Vec<u8> {
    let len = 8 + DEBUG.len();
    let mut f = vec![
        (len >> 16) as u8,
        (len >> 8) as u8,
        len as u8,
        0x7,
        0,
        0,
        0,
        0,
        0,
    ];
    f.extend_from_slice(&last_stream.to_be_bytes());
    f.extend_from_slice(&ENHANCE_YOUR_CALM.to_be_bytes());
    f.extend_from_slice(DEBUG);
    f
}

impl<T: AsyncWrite + Unpin> Policed<T> {
    /// Writes the pending GOAWAY (only ever at a frame boundary) and closes.
    fn poll_send_goaway(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(frame) = self.goaway.as_mut().filter(|f| !f.is_empty()) {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, frame))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            frame.drain(..n);
        }
        ready!(Pin::new(&mut self.inner).poll_flush(cx))?;
        self.closed = true;
        let _ = Pin::new(&mut self.inner).poll_shutdown(cx);
        Poll::Ready(Ok(()))
    }

    fn must_send_goaway(&self) -> bool {
        !self.closed && self.goaway.is_some() && self.outgoing.at_boundary()
    }
}

fn closed() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionAborted, "closed: too_many_pings")
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncRead for Policed<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.must_send_goaway() {
            ready!(this.poll_send_goaway(cx))?;
        }
        if this.closed {
            return Poll::Ready(Ok(())); // end of stream
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        this.inspect_incoming(&buf.filled()[before..]);
        if this.must_send_goaway() {
            // Hand over what was read; the next read sends GOAWAY first.
            cx.waker().wake_by_ref();
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> AsyncWrite for Policed<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.must_send_goaway() {
            ready!(this.poll_send_goaway(cx))?;
        }
        if this.closed {
            return Poll::Ready(Err(closed()));
        }
        // With a GOAWAY waiting, write only to the end of the current frame.
        let limit = match (this.goaway.is_some(), this.outgoing.left_in_frame()) {
            (true, left) if left > 0 => left.min(buf.len()),
            _ => buf.len(),
        };
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..limit]))?;
        this.inspect_outgoing(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    /// h2 writes a DATA frame's header and payload in one call when the
    /// transport is vectored, in two otherwise (twice the syscalls and
    /// wake-ups on a stream of large pages). With a GOAWAY waiting, writes
    /// go one slice at a time through `poll_write` and its frame limit.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.goaway.is_some() || this.closed {
            let first = bufs
                .iter()
                .find(|b| !b.is_empty())
                .map_or(&[][..], |b| &**b);
            return Pin::new(this).poll_write(cx, first);
        }
        let n = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        let mut left = n;
        for b in bufs {
            if left == 0 {
                break;
            }
            let k = left.min(b.len());
            this.inspect_outgoing(&b[..k]);
            left -= k;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.must_send_goaway() {
            return this.poll_send_goaway(cx);
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, flags: u8, stream: u32, payload: usize) -> Vec<u8> {
        let mut f = vec![
            (payload >> 16) as u8,
            (payload >> 8) as u8,
            payload as u8,
            kind,
            flags,
        ];
        f.extend_from_slice(&stream.to_be_bytes());
        f.extend(std::iter::repeat_n(0u8, payload));
        f
    }

    #[test]
    fn frames_are_found_across_split_writes() {
        let mut bytes = frame(HEADERS, 4, 3, 5);
        bytes.extend(frame(PING, 0, 0, 8));
        bytes.extend(frame(DATA, 0, 3, 100));
        let mut seen = Vec::new();
        let mut frames = Frames::default();
        for chunk in bytes.chunks(4) {
            frames.feed(chunk, |k, f, s| seen.push((k, f, s)));
        }
        assert_eq!(seen, vec![(HEADERS, 4, 3), (PING, 0, 0), (DATA, 0, 3)]);
        assert!(frames.at_boundary());
    }

    #[test]
    fn rapid_pings_earn_a_goaway_but_data_between_them_forgives() {
        let mut p = Policed::new((), Duration::from_secs(10));
        p.inspect_incoming(PREFACE);
        p.inspect_incoming(&frame(HEADERS, 4, 5, 0));
        for _ in 0..=MAX_STRIKES {
            p.inspect_incoming(&frame(PING, 0, 0, 8));
            p.inspect_outgoing(&frame(DATA, 0, 5, 3));
        }
        assert!(p.goaway.is_none(), "pings answered by data are fine");
        for _ in 0..=MAX_STRIKES + 1 {
            p.inspect_incoming(&frame(PING, 0, 0, 8));
        }
        let g = p.goaway.expect("GOAWAY after the strikes");
        assert_eq!(g[3], 0x7);
        assert_eq!(&g[9..13], &5u32.to_be_bytes(), "last stream id");
        assert_eq!(&g[13..17], &ENHANCE_YOUR_CALM.to_be_bytes());
        assert_eq!(&g[17..], DEBUG);
    }

    #[tokio::test]
    async fn vectored_writes_are_read_frame_by_frame() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (inner, mut peer) = tokio::io::duplex(1 << 16);
        let mut p = Policed::new(inner, Duration::from_secs(10));
        p.inspect_incoming(PREFACE);
        let data = frame(DATA, 0, 3, 100);
        let (header, payload) = data.split_at(9);
        let mut sent = 0;
        while sent < data.len() {
            let (h, d) = (
                header.get(sent..).unwrap_or(&[]),
                &payload[sent.saturating_sub(9)..],
            );
            let slices = [io::IoSlice::new(h), io::IoSlice::new(d)];
            sent += p.write_vectored(&slices).await.expect("write");
        }
        assert!(p.outgoing.at_boundary(), "the whole frame was seen");
        let mut got = vec![0; data.len()];
        peer.read_exact(&mut got).await.expect("read");
        assert_eq!(got, data);
    }

    #[test]
    fn http1_passes_through() {
        let mut p = Policed::new((), Duration::from_secs(10));
        p.inspect_incoming(b"POST /x HTTP/1.1\r\n");
        for _ in 0..10 {
            p.inspect_incoming(&frame(PING, 0, 0, 8));
        }
        assert!(p.goaway.is_none());
    }
}
