//! Compression, negotiated per call: gRPC accepts gzip and zstd requests
//! and compresses a response in the encoding the caller accepts (none if
//! it accepts none); REST gzips when `Accept-Encoding` allows.

use std::io::Read;

use crate::common::{Backend, authed, insert_tokens, spawn_app};
use oauth_registry::grpc::pb::ListTokensRequest;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use tonic::codec::CompressionEncoding;

const PAGE: i32 = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_gzip_and_zstd_both_ways() {
    let app = spawn_app(Backend::Sqlite).await;
    insert_tokens(&app, &app.org_a, PAGE as usize).await;
    let request = || {
        authed(
            &app.key_a,
            ListTokensRequest {
                page_size: PAGE,
                ..Default::default()
            },
        )
    };

    let plain = TokenServiceClient::new(app.channel.clone())
        .list_tokens(request())
        .await
        .expect("uncompressed");
    assert!(plain.metadata().get("grpc-encoding").is_none());
    let plain = plain.into_inner();
    assert_eq!(plain.tokens.len(), PAGE as usize);

    for (encoding, name) in [
        (CompressionEncoding::Gzip, "gzip"),
        (CompressionEncoding::Zstd, "zstd"),
    ] {
        let resp = TokenServiceClient::new(app.channel.clone())
            .send_compressed(encoding)
            .accept_compressed(encoding)
            .list_tokens(request())
            .await
            .unwrap_or_else(|s| panic!("{encoding:?}: {s:?}"));
        let sent = resp
            .metadata()
            .get("grpc-encoding")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(sent.as_deref(), Some(name), "response encoding");
        assert_eq!(resp.into_inner(), plain, "{encoding:?}: same page");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_gzips_when_the_client_accepts_it() {
    let app = spawn_app(Backend::Sqlite).await;
    insert_tokens(&app, &app.org_a, PAGE as usize).await;
    let url = format!("{}/v1/tokens?pageSize={PAGE}", app.rest);
    let get = |encoding: Option<&str>| {
        let mut req = reqwest::Client::new().get(&url).bearer_auth(&app.key_a);
        if let Some(e) = encoding {
            req = req.header("accept-encoding", e);
        }
        req.send()
    };

    let plain = get(None).await.expect("plain");
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.expect("body");

    let gz = get(Some("gzip")).await.expect("gzip");
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert!(
        gz.headers()["vary"]
            .to_str()
            .unwrap_or("")
            .contains("accept-encoding")
    );
    let packed = gz.bytes().await.expect("body");
    let mut unpacked = Vec::new();
    flate2::read::GzDecoder::new(&packed[..])
        .read_to_end(&mut unpacked)
        .expect("valid gzip");
    assert_eq!(unpacked, plain, "same JSON");
    assert!(
        packed.len() * 4 < plain.len(),
        "{} KB compressed to {} KB",
        plain.len() / 1024,
        packed.len() / 1024
    );
}
