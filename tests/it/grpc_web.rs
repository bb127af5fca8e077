//! gRPC-Web on the gRPC port, as a browser's grpc-web client sends it: an
//! HTTP/1.1 POST with `application/grpc-web+proto` (or the base64
//! `-text` variant) whose response carries the messages and then the
//! trailers as a final frame in the body. CORS is off unless origins are
//! configured.

use base64::Engine;
use prost::Message;

use crate::common::{Backend, insert_tokens, spawn_app, spawn_with};
use oauth_registry::grpc::pb::{ListTokensRequest, ListTokensResponse};

const PATH: &str = "/oauth_registry.v1.TokenService/ListTokens";

fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![flag];
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The body's frames: (flag, payload).
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while body.len() >= 5 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    assert!(body.is_empty(), "trailing bytes");
    out
}

fn request(page_size: i32) -> Vec<u8> {
    frame(
        0,
        &ListTokensRequest {
            page_size,
            ..Default::default()
        }
        .encode_to_vec(),
    )
}

/// HTTP/1.1 only, as a browser without h2c would.
fn http1() -> reqwest::Client {
    reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_binary_and_text_over_http1() {
    let app = spawn_app(Backend::Sqlite).await;
    insert_tokens(&app, &app.org_a, 7).await;
    let url = format!("http://{}{PATH}", app.addr);

    let resp = http1()
        .post(&url)
        .header("content-type", "application/grpc-web+proto")
        .header("x-grpc-web", "1")
        .header("authorization", format!("Bearer {}", app.key_a))
        .body(request(5))
        .send()
        .await
        .expect("grpc-web call");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(resp.headers()["content-type"], "application/grpc-web+proto");
    let body = resp.bytes().await.expect("body");
    let parts = frames(&body);
    assert_eq!(parts.len(), 2, "one message, then the trailers");
    let page = ListTokensResponse::decode(&parts[0].1[..]).expect("message");
    assert_eq!(page.tokens.len(), 5);
    assert!(!page.next_page_token.is_empty());
    assert_eq!(parts[1].0, 0x80, "trailer frame");
    let trailers = String::from_utf8(parts[1].1.clone()).expect("text trailers");
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    // grpc-web-text: the same, base64 both ways.
    let b64 = base64::engine::general_purpose::STANDARD;
    let resp = http1()
        .post(&url)
        .header("content-type", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .header("authorization", format!("Bearer {}", app.key_a))
        .body(b64.encode(request(100)))
        .send()
        .await
        .expect("grpc-web-text call");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("body");
    // Each frame is base64-encoded on its own.
    let mut decoded = Vec::new();
    for chunk in split_b64(&text) {
        decoded.extend(b64.decode(chunk).expect("base64"));
    }
    let parts = frames(&decoded);
    let page = ListTokensResponse::decode(&parts[0].1[..]).expect("message");
    assert_eq!(page.tokens.len(), 7);

    // A refused call reports its status in the trailers (here, headers).
    let resp = http1()
        .post(&url)
        .header("content-type", "application/grpc-web+proto")
        .body(request(5))
        .send()
        .await
        .expect("unauthenticated call");
    assert_eq!(resp.headers()["grpc-status"], "16", "UNAUTHENTICATED");
}

/// Splits concatenated base64 chunks (each may end in `=` padding).
fn split_b64(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            while i < bytes.len() && bytes[i] == b'=' {
                i += 1;
            }
            out.push(&text[start..i]);
            start = i;
        } else {
            i += 1;
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_is_off_by_default_and_allows_only_listed_origins() {
    let preflight = |addr: std::net::SocketAddr, origin: &'static str| async move {
        http1()
            .request(reqwest::Method::OPTIONS, format!("http://{addr}{PATH}"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,x-grpc-web,authorization",
            )
            .send()
            .await
            .expect("preflight")
    };
    let app = spawn_app(Backend::Sqlite).await;
    let resp = preflight(app.addr, "https://admin.example.com").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let app = spawn_with(Backend::Sqlite, |c| {
        c.cors_origins = vec!["https://admin.example.com".into()]
    })
    .await;
    let resp = preflight(app.addr, "https://admin.example.com").await;
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://admin.example.com"
    );
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        allowed.contains("x-grpc-web") && allowed.contains("authorization"),
        "{allowed}"
    );
    let resp = preflight(app.addr, "https://evil.example.com").await;
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}
