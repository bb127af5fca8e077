//! Replicas share nothing in memory: two servers over one database accept
//! each other's page tokens (the signing key lives in the database), and a
//! restarted server keeps accepting tokens issued before the restart.

use crate::common::{Backend, authed, insert_tokens, spawn_app};
use oauth_registry::app::Application;
use oauth_registry::config::ServerConfig;
use oauth_registry::grpc::pb;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;

async fn page_tokens_work_across_replicas(backend: Backend) {
    let first = spawn_app(backend).await;
    insert_tokens(&first, &first.org_a, 30).await;
    let req = pb::ListTokensRequest {
        page_size: 10,
        order_by: "name".into(),
        ..Default::default()
    };
    let p1 = first
        .tokens()
        .list_tokens(authed(&first.key_a, req.clone()))
        .await
        .unwrap()
        .into_inner();

    // A second replica over the same database (as after a restart).
    let second = Application::build(ServerConfig::new(first.database_url.clone()))
        .await
        .expect("second replica");
    let addr = second.grpc_addr();
    tokio::spawn(second.run_until(std::future::pending()));
    let mut other = TokenServiceClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    let p2 = other
        .list_tokens(authed(
            &first.key_a,
            pb::ListTokensRequest {
                page_token: p1.next_page_token.clone(),
                ..req.clone()
            },
        ))
        .await
        .expect("the other replica accepts the token")
        .into_inner();
    let same = first
        .tokens()
        .list_tokens(authed(
            &first.key_a,
            pb::ListTokensRequest {
                page_token: p1.next_page_token,
                ..req
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(p2.tokens, same.tokens);
    assert_eq!(
        p2.next_page_token, same.next_page_token,
        "both replicas sign with the same key"
    );
}

backend_tests!(page_tokens_work_across_replicas);
