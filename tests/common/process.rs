//! Helpers for tests that run the real `oauth-registry` binary (signals,
//! logs, exit codes) or need a client the server cannot outrun.

use std::time::{Duration, Instant};

use tonic::transport::{Channel, Endpoint};

/// The binary cargo built for this test run.
pub const BIN: &str = env!("CARGO_BIN_EXE_oauth-registry");

/// A port that was free a moment ago, for a server started as a process.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Connects to `127.0.0.1:port`, retrying for up to 30 s while a server
/// process starts. `window` sets a small HTTP/2 stream window, so the server
/// cannot run far ahead of what the test has read.
pub async fn connect_retrying(port: u16, window: Option<u32>) -> Channel {
    let endpoint = Endpoint::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("endpoint")
        .initial_stream_window_size(window);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match endpoint.connect().await {
            Ok(ch) => return ch,
            Err(e) if Instant::now() > deadline => panic!("server did not start: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// A channel to a running server with a 16 KiB HTTP/2 stream window: a
/// stream on it is paced by the reader, not buffered whole by the client.
pub async fn small_window_channel(addr: std::net::SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .initial_stream_window_size(16 * 1024)
        .connect()
        .await
        .expect("connect")
}

/// Runs `oauth-registry seed` (2 clients, 3 owners, `tokens` tokens) on
/// `url`; returns the API key it prints.
pub fn seed(url: &str, tokens: usize) -> String {
    let out = std::process::Command::new(BIN)
        .args([
            "--database-url",
            url,
            "seed",
            "--clients",
            "2",
            "--owners",
            "3",
        ])
        .args(["--tokens", &tokens.to_string()])
        .output()
        .expect("seed");
    assert!(out.status.success(), "seed failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}
