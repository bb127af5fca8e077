//! Errors quote at most a short prefix of a bad value, so a status always
//! fits in trailers that grpcio accepts (its default soft limit on metadata
//! is 8 KiB; past it, Python, C++, Ruby and PHP clients see
//! RESOURCE_EXHAUSTED instead of the real error). Each case sends a huge
//! value in an otherwise valid request and measures the status as it goes
//! on the wire: `grpc-status`, `grpc-message` (percent-encoded) and
//! `grpc-status-details-bin` (base64).

use crate::common::{Backend, TestApp, authed, spawn_app, violated_fields};
use oauth_registry::grpc::pb;
use tonic::Code;

/// Well under grpcio's 8 KiB.
const MAX_TRAILERS: usize = 4096;

/// Bytes the status takes as HTTP/2 trailers (names and values).
fn trailer_bytes(status: &tonic::Status) -> usize {
    let mut headers = http::HeaderMap::new();
    status.add_header(&mut headers).expect("encodable status");
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

fn check(what: &str, status: &tonic::Status, code: Code, huge: &str) {
    assert_eq!(status.code(), code, "{what}: {status:?}");
    let size = trailer_bytes(status);
    assert!(size < MAX_TRAILERS, "{what}: {size} bytes of trailers");
    // A recognisable prefix is quoted, never the whole value.
    assert!(!status.message().contains(&huge[..200]), "{what}: echoed");
    assert!(
        status.message().contains(&huge[..20]),
        "{what}: {}",
        status.message()
    );
}

async fn huge_values_get_small_errors(backend: Backend) {
    let app: TestApp = spawn_app(backend).await;
    let scope = format!("s{}", "x".repeat(3000));
    let status = app
        .tokens()
        .create_token(authed(
            &app.key_a,
            pb::CreateTokenRequest {
                token: Some(pb::Token {
                    user_id: "u".into(),
                    scopes: vec![scope.clone(), "a b".repeat(2000)],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("bad scope");
    check(
        "3,000-character scope",
        &status,
        Code::InvalidArgument,
        &scope,
    );
    assert!(violated_fields(&status).contains(&"token.scopes[0]".to_owned()));

    let uri = format!("https://example.com/{}#frag", "p".repeat(1_000_000));
    let status = app
        .clients()
        .create_client(authed(
            &app.key_a,
            pb::CreateClientRequest {
                client: Some(pb::Client {
                    client_name: "big".into(),
                    grant_types: vec!["authorization_code".into()],
                    redirect_uris: vec![uri.clone()],
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("bad redirect uri");
    check("1 MB redirect URI", &status, Code::InvalidArgument, &uri);

    let time = format!("2024-01-01T00:00:00{}Z", "9".repeat(4000));
    let status = app
        .tokens()
        .list_tokens(authed(
            &app.key_a,
            pb::ListTokensRequest {
                filter: format!("status = ACTIVE AND create_time > \"{time}\""),
                ..Default::default()
            },
        ))
        .await
        .expect_err("bad time");
    check(
        "4,000-character time",
        &status,
        Code::InvalidArgument,
        &time,
    );
    assert_eq!(violated_fields(&status), ["filter"]);

    let id = "i".repeat(100_000);
    let status = app
        .tokens()
        .get_token(authed(&app.key_a, pb::GetTokenRequest { id: id.clone() }))
        .await
        .expect_err("unknown id");
    assert!(trailer_bytes(&status) < MAX_TRAILERS, "{status:?}");
    assert!(!status.message().contains(&id[..200]));

    // Many bad fields at once: a bounded list, and the rest counted.
    let many: Vec<String> = (0..100).map(|i| format!("bad scope {i}")).collect();
    let status = app
        .tokens()
        .create_token(authed(
            &app.key_a,
            pb::CreateTokenRequest {
                token: Some(pb::Token {
                    user_id: "u".repeat(10_000),
                    name: "n".repeat(10_000),
                    description: "d".repeat(100_000),
                    scopes: many,
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("many bad fields");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(trailer_bytes(&status) < MAX_TRAILERS, "{status:?}");
    assert!(!violated_fields(&status).is_empty());
}

backend_tests!(huge_values_get_small_errors);
