//! Another replica of a test's server: a second `Application` over the
//! same database, for tests that interleave two replicas (PostgreSQL; on
//! SQLite the "other replica" is the same server, as one process is all
//! SQLite serves).

use oauth_registry::app::Application;
use oauth_registry::config::ServerConfig;
use oauth_registry::grpc::pb::token_service_client::TokenServiceClient;
use oauth_registry::service::Registry;
use tonic::transport::Channel;

use super::{Backend, TestApp};

/// One server's endpoints.
#[derive(Clone)]
pub struct Replica {
    pub registry: Registry,
    /// Base URL of its REST gateway.
    pub rest: String,
    pub channel: Channel,
}

impl Replica {
    /// The test's own server.
    pub fn of(app: &TestApp) -> Self {
        Replica {
            registry: app.registry.clone(),
            rest: app.rest.clone(),
            channel: app.channel.clone(),
        }
    }

    /// A second server over `app`'s database (PostgreSQL), or `app`
    /// itself (SQLite). It runs until the test's runtime ends.
    pub async fn other(app: &TestApp) -> Self {
        if app.backend == Backend::Sqlite {
            return Self::of(app);
        }
        let second = Application::build(ServerConfig::new(app.database_url.clone()))
            .await
            .expect("second replica");
        let rest = format!("http://{}", second.rest_addr().expect("REST gateway on"));
        let grpc = second.grpc_addr();
        let registry = second.registry().clone();
        tokio::spawn(second.run_until(std::future::pending()));
        let channel = Channel::from_shared(format!("http://{grpc}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect to the second replica");
        Replica {
            registry,
            rest,
            channel,
        }
    }

    pub fn tokens(&self) -> TokenServiceClient<Channel> {
        TokenServiceClient::new(self.channel.clone())
    }
}
