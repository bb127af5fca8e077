//! The `oauth-registry` command line: `serve`, `migrate`, `seed`, `admin`.
//! Every setting is a flag with an environment variable behind it.

mod admin;
mod healthcheck;
mod incident;
mod seed;
mod serve;

use clap::{Parser, Subcommand};

use crate::app::{Application, shutdown_signal};
use crate::config::{self, DEFAULT_DATABASE_URL};
use crate::store::{self, StoreOptions};
use crate::telemetry::{self, LogFormat};

#[derive(Debug, Parser)]
#[command(
    name = "oauth-registry",
    version,
    about = "Keeps an organization's OAuth 2.0 clients and tokens; serves them over gRPC and a REST gateway."
)]
pub struct Cli {
    /// Database: sqlite://path (created if missing) or postgres://...
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Log format.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_LOG_FORMAT",
        value_enum,
        default_value = "human",
        global = true
    )]
    pub log_format: LogFormat,
    /// Database connection pool size.
    #[arg(
        long,
        env = "OAUTH_REGISTRY_DB_MAX_CONNECTIONS",
        default_value_t = config::DEFAULT_DB_MAX_CONNECTIONS,
        global = true
    )]
    pub db_max_connections: u32,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC server (migrates the database first).
    Serve(serve::ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create demo data: an organization, an API key (printed once), clients and tokens.
    Seed(seed::SeedArgs),
    /// Manage organizations and API keys.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Print the REST gateway's OpenAPI document (as served at /openapi.json).
    #[cfg(feature = "rest")]
    Openapi,
    /// Ask a running server's grpc.health.v1 service; exit 0 only if SERVING
    /// (for container health checks and scripts that wait for start-up).
    Healthcheck(healthcheck::HealthcheckArgs),
}

impl Cli {
    fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.db_max_connections.max(1),
            ..StoreOptions::default()
        }
    }
}

/// Runs the parsed command line.
pub async fn run(mut cli: Cli) -> anyhow::Result<()> {
    // DATABASE_URL= (set but empty) means the default, as no variable does.
    if cli.database_url.trim().is_empty() {
        cli.database_url = DEFAULT_DATABASE_URL.to_owned();
    }
    let default_filter = match cli.command {
        Command::Seed(_) => "info,sqlx::query=error",
        _ => "info",
    };
    let telemetry = telemetry::init(cli.log_format, default_filter);
    let result = dispatch(&cli).await;
    telemetry.shutdown().await;
    result
}

/// Runs one command.
async fn dispatch(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Serve(args) => {
            let config = args.config(cli.database_url.clone(), cli.store_options())?;
            let app = Application::build(config).await?;
            app.run_until(shutdown_signal()).await
        }
        Command::Migrate => {
            let store = store::connect(&cli.database_url, &cli.store_options()).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend());
            Ok(())
        }
        Command::Seed(args) => seed::run(&cli.database_url, &cli.store_options(), args).await,
        #[cfg(feature = "rest")]
        Command::Openapi => {
            println!("{}", serde_json::to_string_pretty(&crate::rest::openapi())?);
            Ok(())
        }
        Command::Admin(cmd) => admin::run(&cli.database_url, &cli.store_options(), cmd).await,
        Command::Healthcheck(args) => healthcheck::run(args).await,
    }
}

/// Opens and migrates the store and builds the core, for one-shot commands.
async fn open(database_url: &str, opts: &StoreOptions) -> anyhow::Result<crate::service::Registry> {
    let store = store::connect(database_url, opts).await?;
    store.migrate().await?;
    Ok(crate::service::Registry::new(store).await?)
}
