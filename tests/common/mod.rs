//! Test harness: `spawn_app(backend)` starts the real server in-process on a
//! random port over a fresh database (a temp SQLite file, or a new PostgreSQL
//! database under `TEST_DATABASE_URL`), creates two organizations with keys,
//! and hands back gRPC clients. `backend_tests!` runs each behavioural test on
//! both backends; the PostgreSQL half shows as ignored (with the reason)
//! when `TEST_DATABASE_URL` was not set at build time.
#![allow(dead_code)]

pub mod process;
pub mod replica;
pub mod rest_calls;
pub mod sse;

use std::net::SocketAddr;

use oauth_registry::app::Application;
use oauth_registry::config::ServerConfig;
use oauth_registry::domain::Timestamp;
use oauth_registry::domain::auth::Permission;
use oauth_registry::domain::ids::{OrgId, TokenId};
use oauth_registry::domain::model::{Token, TokenKind};
use oauth_registry::domain::oauth::Scope;
use oauth_registry::domain::secret::ExposeSecret;
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::client_service_client::ClientServiceClient;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use oauth_registry::service::Registry;
use oauth_registry::store::NewTokenRow;
use sqlx::Connection;
use tonic::transport::Channel;

pub const PG_ENV: &str = "TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL admin URL, if the PostgreSQL half of the suite should run.
pub fn pg_url() -> Option<String> {
    std::env::var(PG_ENV).ok().filter(|s| !s.is_empty())
}

/// A running server plus everything a test needs to talk to it.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Base URL of the REST gateway, e.g. `http://127.0.0.1:41234`.
    pub rest: String,
    pub backend: Backend,
    pub registry: Registry,
    pub database_url: String,
    pub channel: Channel,
    /// Organization A and an all-scopes key bound to user "alice".
    pub org_a: OrgId,
    pub key_a: String,
    /// Organization B and an all-scopes key bound to user "bob".
    pub org_b: OrgId,
    pub key_b: String,
    sqlite_dir: Option<tempfile::TempDir>,
    pg_database: Option<(String, String)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Creates a fresh PostgreSQL database; returns (db name, db url).
pub async fn fresh_pg_database(admin: &str) -> (String, String) {
    let name = format!("oar_test_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(admin)
        .await
        .expect("connect to TEST_DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut conn)
        .await
        .expect("create test database");
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(admin);
    (name.clone(), format!("{base}/{name}"))
}

/// Drops a database made by `fresh_pg_database`.
pub async fn drop_pg_database(admin: &str, name: &str) {
    if let Ok(mut c) = sqlx::PgConnection::connect(admin).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut c)
        .await;
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {}).await
}

/// Like `spawn_app`, with a hook to adjust the configuration.
pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut ServerConfig)) -> TestApp {
    let (database_url, sqlite_dir, pg_database) = match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}/registry.db", dir.path().display());
            (url, Some(dir), None)
        }
        Backend::Postgres => {
            let admin = pg_url().expect("TEST_DATABASE_URL");
            let (name, url) = fresh_pg_database(&admin).await;
            (url, None, Some((admin, name)))
        }
    };
    let mut config = ServerConfig::new(database_url.clone());
    tweak(&mut config);
    let app = Application::build(config).await.expect("build application");
    let addr = app.grpc_addr();
    let rest = format!("http://{}", app.rest_addr().expect("REST gateway on"));
    let registry = app.registry().clone();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = rx.await;
    }));

    let org_a = registry.create_org("org-a").await.expect("org a").id;
    let org_b = registry.create_org("org-b").await.expect("org b").id;
    let key_a = registry
        .create_api_key(
            &org_a,
            Some("alice".into()),
            vec![Permission::Admin],
            false,
            None,
        )
        .await
        .expect("key a")
        .secret
        .expose_secret()
        .to_owned();
    let key_b = registry
        .create_api_key(
            &org_b,
            Some("bob".into()),
            vec![Permission::Admin],
            false,
            None,
        )
        .await
        .expect("key b")
        .secret
        .expose_secret()
        .to_owned();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect to test server");
    TestApp {
        addr,
        rest,
        backend,
        registry,
        database_url,
        channel,
        org_a,
        key_a,
        org_b,
        key_b,
        sqlite_dir,
        pg_database,
        shutdown: Some(tx),
    }
}

impl TestApp {
    pub fn tokens(&self) -> TokenServiceClient<Channel> {
        TokenServiceClient::new(self.channel.clone())
    }

    pub fn clients(&self) -> ClientServiceClient<Channel> {
        ClientServiceClient::new(self.channel.clone())
    }

    /// A key for `org` with exactly `scopes`.
    pub async fn key(&self, org: &OrgId, user: Option<&str>, scopes: Vec<Permission>) -> String {
        self.registry
            .create_api_key(org, user.map(str::to_owned), scopes, false, None)
            .await
            .expect("create key")
            .secret
            .expose_secret()
            .to_owned()
    }

    /// The SQLite database file (and its WAL) for byte-level checks.
    pub fn sqlite_files(&self) -> Vec<std::path::PathBuf> {
        let dir = self.sqlite_dir.as_ref().expect("sqlite backend").path();
        ["registry.db", "registry.db-wal", "registry.db-shm"]
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.exists())
            .collect()
    }

    /// Creates a client through gRPC; returns its id.
    pub async fn create_client(&self, key: &str, name: &str) -> String {
        let c = pb::Client {
            client_name: name.into(),
            grant_types: vec!["authorization_code".into(), "refresh_token".into()],
            response_types: vec!["code".into()],
            scopes: vec!["read".into(), "write".into()],
            redirect_uris: vec!["https://app.example.com/cb".into()],
            ..Default::default()
        };
        self.clients()
            .create_client(authed(key, pb::CreateClientRequest { client: Some(c) }))
            .await
            .expect("create client")
            .into_inner()
            .client
            .expect("client")
            .client_id
    }

    /// Creates a token through gRPC; returns it and its secret.
    pub async fn create_token(&self, key: &str, token: pb::Token) -> (pb::Token, String) {
        let r = self
            .tokens()
            .create_token(authed(key, pb::CreateTokenRequest { token: Some(token) }))
            .await
            .expect("create token")
            .into_inner();
        (r.token.expect("token"), r.secret)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some((admin, name)) = self.pg_database.take() {
            // Drop the per-test database from a side thread (Drop cannot await).
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_pg_database(&admin, &name));
                }
            })
            .join();
        }
    }
}

pub const DAY: i64 = 86_400_000_000;
pub const NAMES: [&str; 6] = ["alpha", "beta", "Gamma", "delta", "ßeta", "a*b"];

/// Inserts `n` tokens into `org` with deliberate ties in every sort key,
/// statuses of all three kinds, three owners and two clients-less kinds.
pub async fn insert_tokens(app: &TestApp, org: &OrgId, n: usize) -> Vec<Token> {
    let rows = token_rows(org, n);
    app.registry
        .store()
        .insert_tokens(&rows)
        .await
        .expect("insert");
    rows.into_iter().map(|r| r.token).collect()
}

/// The rows `insert_tokens` inserts, without inserting them.
pub fn token_rows(org: &OrgId, n: usize) -> Vec<NewTokenRow> {
    let now = Timestamp::now().micros();
    (0..n)
        .map(|i| {
            let created = now - 30 * DAY + (i as i64 % 9) * DAY;
            let token = Token {
                id: TokenId::parse("id", &uuid::Uuid::now_v7().to_string()).expect("id"),
                org_id: org.clone(),
                client_id: None,
                user_id: format!("user-{}", i % 3),
                audience: String::new(),
                subject: format!("user-{}", i % 3),
                scopes: if i % 2 == 0 {
                    scopes(&["read"])
                } else {
                    scopes(&["write", "email"])
                },
                name: format!("{}-{}", NAMES[i % NAMES.len()], i % 4),
                description: String::new(),
                default_role: String::new(),
                pkce: None,
                redirect_uri: None,
                kind: if i % 5 == 0 {
                    TokenKind::Refresh
                } else {
                    TokenKind::Access
                },
                secret_prefix: format!("oat_{i:08}"),
                // Some expired (in the past), most far in the future; ties.
                expires_at: Timestamp::from_micros(now + ((i as i64 % 7) - 2) * DAY),
                created_at: Timestamp::from_micros(created),
                updated_at: Timestamp::from_micros(created + (i as i64 % 4) * DAY),
                revoked_at: (i % 6 == 0).then(|| Timestamp::from_micros(created + DAY)),
            };
            NewTokenRow {
                token,
                secret_hash: vec![i as u8; 32],
            }
        })
        .collect()
}

/// Wraps a message with `authorization: Bearer <key>`.
pub fn authed<T>(key: &str, msg: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut().insert(
        "authorization",
        format!("Bearer {key}").parse().expect("ascii key"),
    );
    req
}

/// A minimal token for `user`.
pub fn token_for(user: &str, name: &str) -> pb::Token {
    pb::Token {
        user_id: user.into(),
        name: name.into(),
        scopes: vec!["read".into()],
        ..Default::default()
    }
}

/// The field names of a status's `google.rpc.BadRequest` violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt;
    status
        .get_details_bad_request()
        .map(|b| b.field_violations.into_iter().map(|v| v.field).collect())
        .unwrap_or_default()
}

/// Runs each listed `async fn name(backend: Backend)` as `sqlite::name` and
/// `postgres::name`. The PostgreSQL half is compiled as ignored, with the
/// reason in the test output, unless `TEST_DATABASE_URL` was set when the
/// tests were built (build.rs turns it into `cfg(postgres_tests)`).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(postgres_tests), ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run")]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}

/// Scope values for rows a test builds.
pub fn scopes(list: &[&str]) -> Vec<Scope> {
    list.iter()
        .map(|s| Scope::parse("scopes", s).expect("scope"))
        .collect()
}

/// The organization's version once none of its writes waits on an older
/// transaction (on PostgreSQL, other tests' transactions can hold the
/// watermark back for a moment; SQLite is always settled): what a cache
/// or validator is keyed by. Panics after 10 s.
pub async fn settled_version(
    store: &std::sync::Arc<dyn oauth_registry::store::Store>,
    org: &OrgId,
) -> oauth_registry::domain::change::Version {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let v = store.read_version(org).await.expect("version");
        if v.is_exact() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the organization's writes settle"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
