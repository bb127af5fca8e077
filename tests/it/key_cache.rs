//! The verified-key cache (src/service/key_cache.rs) cannot outlive a
//! revocation: revoked through a replica, a key is refused on that
//! replica's next call, and on another replica (which cached it) within
//! its `--key-cache-secs`; until then the other replica serves it from the
//! cache. Two replicas over one PostgreSQL database.

use std::time::{Duration, Instant};

use crate::common::{Backend, authed, spawn_app};
use oauth_registry::app::Application;
use oauth_registry::config::ServerConfig;
use oauth_registry::domain::auth::Permission;
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use secrecy::ExposeSecret;
use tonic::Code;
use tonic::transport::Channel;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(postgres_tests),
    ignore = "PostgreSQL: set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run"
)]
async fn a_revoked_key_is_refused_here_at_once_and_on_another_replica_within_its_ttl() {
    let ttl = Duration::from_secs(2);
    let app = spawn_app(Backend::Postgres).await;
    let mut config = ServerConfig::new(app.database_url.clone());
    config.key_cache = ttl;
    let other = Application::build(config).await.expect("second replica");
    let addr = other.grpc_addr();
    tokio::spawn(other.run_until(std::future::pending()));
    let b = TokenServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let created = app
        .registry
        .create_api_key(&app.org_a, None, vec![Permission::TokensRead], false, None)
        .await
        .expect("key");
    let key = created.secret.expose_secret().to_owned();
    let a = app.tokens();
    // Both replicas have verified (and cached) the key.
    assert_eq!(count(a.clone(), &key).await, Ok(()));
    assert_eq!(count(b.clone(), &key).await, Ok(()));

    app.registry
        .revoke_api_key(&app.org_a, &created.key.id)
        .await
        .expect("revoke through A");
    let revoked = Instant::now();
    assert_eq!(
        count(a.clone(), &key).await,
        Err(Code::Unauthenticated),
        "refused on the revoking replica's next call"
    );
    loop {
        match count(b.clone(), &key).await {
            Err(code) => {
                assert_eq!(code, Code::Unauthenticated);
                break;
            }
            Ok(()) => assert!(
                revoked.elapsed() < ttl + Duration::from_millis(500),
                "replica B still accepts the revoked key after {:?} (ttl {ttl:?})",
                revoked.elapsed()
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(revoked.elapsed() <= ttl + Duration::from_millis(500));
    // And it stays refused.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(count(b.clone(), &key).await, Err(Code::Unauthenticated));
}

async fn count(mut client: TokenServiceClient<Channel>, key: &str) -> Result<(), Code> {
    client
        .count_tokens(authed(key, pb::CountTokensRequest::default()))
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}
