//! No secret reaches the logs: the real binary at `RUST_LOG=debug` (human
//! and JSON formats) serves key-authenticated calls, creates clients and
//! tokens over gRPC and REST, and refuses a wrong key; then its captured
//! stderr is searched for every secret it handled, whole and by its tail.

use std::process::Stdio;

use crate::common::authed;
use crate::common::process::{BIN, connect_retrying, free_port};
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::client_service_client::ClientServiceClient;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tokio::io::AsyncReadExt;
use tokio::process::Command;

/// Runs the calls against a server logging at debug in `format`; returns
/// its stderr and every secret it saw.
async fn exercise(format: &str) -> (String, Vec<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}/registry.db", dir.path().display());
    let seeded = std::process::Command::new(BIN)
        .args(["--database-url", &url, "seed", "--tokens", "10"])
        .output()
        .expect("seed");
    assert!(seeded.status.success());
    let key = String::from_utf8(seeded.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    let (grpc, rest) = (free_port(), free_port());
    let mut server = Command::new(BIN)
        .env("RUST_LOG", "debug")
        .args(["--database-url", &url, "--log-format", format, "serve"])
        .args(["--grpc-addr", &format!("127.0.0.1:{grpc}")])
        .args(["--rest-addr", &format!("127.0.0.1:{rest}")])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("serve");
    let mut stderr = server.stderr.take().expect("stderr");
    let channel = connect_retrying(grpc, None).await;
    let mut secrets = vec![key.clone()];

    let client = ClientServiceClient::new(channel.clone())
        .create_client(authed(
            &key,
            pb::CreateClientRequest {
                client: Some(pb::Client {
                    client_name: "logged".into(),
                    grant_types: vec!["authorization_code".into()],
                    response_types: vec!["code".into()],
                    scopes: vec!["read".into()],
                    redirect_uris: vec!["https://app.example.com/cb".into()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("create client")
        .into_inner();
    secrets.push(client.client_secret);
    let token = TokenServiceClient::new(channel.clone())
        .create_token(authed(
            &key,
            pb::CreateTokenRequest {
                token: Some(pb::Token {
                    user_id: "user-00001".into(),
                    scopes: vec!["read".into()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect("create token")
        .into_inner();
    secrets.push(token.secret);

    let http = reqwest::Client::new();
    let made: serde_json::Value = http
        .post(format!("http://127.0.0.1:{rest}/v1/tokens"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"userId": "user-00002", "scopes": ["read"]}))
        .send()
        .await
        .expect("REST create")
        .json()
        .await
        .expect("json");
    secrets.push(made["secret"].as_str().expect("a secret").to_owned());
    // A wrong key close to a real one: refused, and not logged either.
    let wrong = format!("{}x", &key[..key.len() - 1]);
    let refused = TokenServiceClient::new(channel)
        .list_tokens(authed(&wrong, pb::ListTokensRequest::default()))
        .await;
    assert!(refused.is_err());
    secrets.push(wrong);
    let refused = http
        .get(format!("http://127.0.0.1:{rest}/v1/tokens"))
        .header("authorization", format!("token {}", secrets[4]))
        .send()
        .await
        .expect("REST call");
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);

    server.start_kill().expect("kill");
    let _ = server.wait().await;
    let mut log = String::new();
    stderr.read_to_string(&mut log).await.expect("read stderr");
    (log, secrets)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_debug_logs() {
    for format in ["human", "json"] {
        let (log, secrets) = exercise(format).await;
        assert!(
            log.lines().count() > 5,
            "{format} logs were captured:\n{log}"
        );
        // stderr is a pipe here, not a terminal: no colour codes.
        assert!(!log.contains('\x1b'), "{format} log has ANSI escapes");
        for secret in &secrets {
            assert!(secret.len() > 20, "a real secret: {secret:?}");
            let tail = &secret[secret.len() - 16..];
            assert!(
                !log.contains(secret.as_str()) && !log.contains(tail),
                "{format} log holds a secret ({}…)",
                &secret[..8]
            );
        }
        eprintln!(
            "{format}: {} log lines, {} secrets, none found",
            log.lines().count(),
            secrets.len()
        );
    }
}
