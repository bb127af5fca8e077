//! Secrets are stored only as hashes and shown only once: after creating API
//! keys, confidential clients and tokens, none of their secrets appears in the
//! SQLite file, its WAL, the database rows, or any later response.

use crate::common::{Backend, TestApp, authed, spawn_app, token_for};
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::secret::ExposeSecret;
use oauth_registry::grpc::pb;

/// Creates a few of every kind of secret; returns them.
async fn make_secrets(app: &TestApp) -> Vec<String> {
    let mut secrets = Vec::new();
    for i in 0..3 {
        let key = app
            .registry
            .create_api_key(
                &app.org_a,
                Some(format!("u{i}")),
                vec![Permission::Admin],
                false,
                None,
            )
            .await
            .expect("key");
        // A created key never prints its secret by accident.
        let printed = format!("{key:?}");
        assert!(!printed.contains(key.secret.expose_secret()), "{printed}");
        secrets.push(key.secret.expose_secret().to_owned());
        let c = app
            .clients()
            .create_client(authed(
                &app.key_a,
                pb::CreateClientRequest {
                    client: Some(pb::Client {
                        client_name: format!("c{i}"),
                        grant_types: vec!["client_credentials".into()],
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("client")
            .into_inner();
        secrets.push(c.client_secret);
        let (_, t) = app
            .create_token(&app.key_a, token_for("alice", &format!("t{i}")))
            .await;
        secrets.push(t);
    }
    secrets.push(app.key_a.clone());
    assert!(secrets.iter().all(|s| s.len() > 40));
    secrets
}

/// Pieces of a secret that must not be found anywhere: the whole, the part
/// after the displayable prefix, and a 20-character window from its middle.
fn pieces(secret: &str) -> Vec<String> {
    vec![
        secret.to_owned(),
        secret[12..].to_owned(),
        secret[20..40].to_owned(),
    ]
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_is_in_the_sqlite_files() {
    let app = spawn_app(Backend::Sqlite).await;
    let secrets = make_secrets(&app).await;
    let files = app.sqlite_files();
    assert!(!files.is_empty());
    let mut prefixes_seen = vec![false; secrets.len()];
    for f in files {
        let data = std::fs::read(&f).expect("read database file");
        for (i, s) in secrets.iter().enumerate() {
            for p in pieces(s) {
                assert!(!contains(&data, &p), "{p:?} found in {}", f.display());
            }
            prefixes_seen[i] |= contains(&data, &s[..12]);
        }
    }
    // The scan does see the rows: every non-secret prefix is stored.
    assert!(
        prefixes_seen.iter().all(|s| *s),
        "prefixes found: {prefixes_seen:?}"
    );
}

/// Secrets appear in the Create response only, never in reads.
async fn secrets_are_not_readable_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let secrets = make_secrets(&app).await;
    let tokens = app
        .tokens()
        .list_tokens(authed(&app.key_a, pb::ListTokensRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let clients = app
        .clients()
        .list_clients(authed(&app.key_a, pb::ListClientsRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let mut seen = format!("{tokens:?}{clients:?}");
    for t in &tokens.tokens {
        let got = app
            .tokens()
            .get_token(authed(&app.key_a, pb::GetTokenRequest { id: t.id.clone() }))
            .await
            .unwrap()
            .into_inner();
        seen.push_str(&format!("{got:?}"));
        assert_eq!(got.secret_prefix.len(), 12);
    }
    for s in &secrets {
        for p in pieces(s) {
            assert!(!seen.contains(&p), "secret piece {p:?} readable back");
        }
    }
    // The stored rows hold hashes and prefixes only.
    let dump = match backend {
        Backend::Sqlite => {
            use sqlx::Connection;
            let mut c = sqlx::SqliteConnection::connect(&app.database_url)
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as(
                "SELECT secret_prefix || hex(secret_hash) FROM tokens UNION ALL SELECT coalesce(secret_prefix, '') || coalesce(hex(secret_hash), '') FROM clients UNION ALL SELECT prefix || hex(hash) FROM api_keys",
            )
            .fetch_all(&mut c)
            .await
            .unwrap();
            rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
        }
        Backend::Postgres => {
            use sqlx::Connection;
            let mut c = sqlx::PgConnection::connect(&app.database_url)
                .await
                .unwrap();
            let rows: Vec<(String,)> = sqlx::query_as("SELECT t::text FROM tokens t UNION ALL SELECT c::text FROM clients c UNION ALL SELECT k::text FROM api_keys k")
                .fetch_all(&mut c)
                .await
                .unwrap();
            rows.into_iter().map(|r| r.0).collect::<Vec<_>>().join("\n")
        }
    };
    assert!(!dump.is_empty());
    for s in &secrets {
        for p in pieces(s) {
            assert!(!dump.contains(&p), "secret piece {p:?} stored in a row");
        }
    }
}

backend_tests!(secrets_are_not_readable_back);
