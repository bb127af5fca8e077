//! Whole-call deadlines for the streaming RPCs. tonic honours a client's
//! `grpc-timeout` only until the response starts, so a stream could outlive
//! its deadline by hours. `bounded` ends the stream with DEADLINE_EXCEEDED
//! when the deadline passes; dropping it stops the page producer, so no query
//! runs after that. Every response stream passes through here, so it is also
//! where streams in flight are counted.

use std::pin::Pin;
use std::time::Duration;

use futures::{Stream, StreamExt};
use tonic::Status;
use tonic::metadata::MetadataMap;

/// A boxed response stream, as the generated service traits want it.
pub type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// The `grpc-timeout` of a request: at most 8 digits and a unit
/// (`H`, `M`, `S`, `m`, `u`, `n`), per the gRPC HTTP/2 protocol. A malformed
/// value is ignored, as tonic itself does.
pub fn timeout(metadata: &MetadataMap) -> Option<Duration> {
    let v = metadata.get("grpc-timeout")?.to_str().ok()?;
    if v.len() < 2 || v.len() > 9 {
        return None;
    }
    let (digits, unit) = v.split_at(v.len() - 1);
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n.saturating_mul(3600)),
        "M" => Duration::from_secs(n.saturating_mul(60)),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// `stream`, ended with DEADLINE_EXCEEDED once `timeout` has passed since
/// now (the call's start, give or take authentication), and counted in
/// `streams_in_flight` until dropped.
pub fn bounded<T: Send + 'static>(
    metrics: &crate::metrics::Metrics,
    timeout: Option<Duration>,
    stream: impl Stream<Item = Result<T, Status>> + Send + 'static,
) -> BoxStream<T> {
    let guard = metrics.stream_started();
    let stream = stream.map(move |item| {
        let _counted = &guard;
        item
    });
    let Some(timeout) = timeout else {
        return Box::pin(stream);
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let expired = futures::stream::once(async move {
        (tokio::time::Instant::now() >= deadline).then(|| {
            Err(Status::deadline_exceeded(format!(
                "the call's deadline ({timeout:?}) passed before the stream ended"
            )))
        })
    })
    .filter_map(futures::future::ready);
    Box::pin(
        stream
            .take_until(tokio::time::sleep_until(deadline))
            .chain(expired),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: &str) -> Option<Duration> {
        let mut m = MetadataMap::new();
        m.insert("grpc-timeout", v.parse().expect("ascii"));
        timeout(&m)
    }

    #[test]
    fn parses_every_unit_and_refuses_junk() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("4S"), Some(Duration::from_secs(4)));
        assert_eq!(parse("250m"), Some(Duration::from_millis(250)));
        assert_eq!(parse("7u"), Some(Duration::from_micros(7)));
        assert_eq!(parse("99999999n"), Some(Duration::from_nanos(99_999_999)));
        for bad in ["", "S", "123456789S", "10x", "-1S", "1.5S"] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
