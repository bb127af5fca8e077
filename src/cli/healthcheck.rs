//! `oauth-registry healthcheck`: one grpc.health.v1 Check of a running
//! server, for container probes (no other tool is needed in the image) and,
//! with `--wait`, for scripts that must not race a server's start-up.
//! Failures name the URL it tried and the root cause, once.

use std::time::{Duration, Instant};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// The server's gRPC address: host:port, or a URL (https://host:port
    /// for a server started with --tls-cert; host:port means https when
    /// --tls-ca is given, else http).
    #[arg(long, default_value = "127.0.0.1:50051")]
    addr: String,
    /// PEM certificate(s) to trust for an https address (e.g. the server's
    /// own self-signed certificate).
    #[arg(long)]
    tls_ca: Option<std::path::PathBuf>,
    /// The grpc.health.v1 service name to ask about: "" (default) and
    /// oauth_registry.v1.TokenService/ClientService report readiness
    /// (follows the database, NOT_SERVING once shutdown begins); "liveness"
    /// reports whether the process can serve at all (for liveness probes).
    #[arg(long, default_value = "")]
    service: String,
    /// Give up on one check after this many milliseconds.
    #[arg(long, default_value_t = 2000)]
    timeout_ms: u64,
    /// Keep checking (every 100 ms) for up to this many seconds until the
    /// server is SERVING: for scripts that start a server and then use it.
    #[arg(long, default_value_t = 0)]
    wait: u64,
}

pub async fn run(args: &HealthcheckArgs) -> anyhow::Result<()> {
    let url = if args.addr.contains("://") {
        args.addr.clone()
    } else if args.tls_ca.is_some() {
        format!("https://{}", args.addr)
    } else {
        format!("http://{}", args.addr)
    };
    let mut endpoint = Endpoint::from_shared(url.clone())
        .map_err(|e| anyhow::anyhow!("--addr {:?}: not host:port or a URL: {e}", args.addr))?
        .connect_timeout(Duration::from_millis(args.timeout_ms));
    if url.starts_with("https://") {
        let ca = args.tls_ca.as_deref().ok_or_else(|| {
            anyhow::anyhow!("an https address needs --tls-ca (the certificate to trust)")
        })?;
        let pem = std::fs::read(ca)
            .map_err(|e| anyhow::anyhow!("reading --tls-ca {}: {e}", ca.display()))?;
        endpoint = endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
    }
    let until = Instant::now() + Duration::from_secs(args.wait);
    loop {
        let limit = Duration::from_millis(args.timeout_ms);
        let result = check(&endpoint, &url, &args.service, limit).await;
        let done = matches!(result, Ok(ServingStatus::Serving)) || Instant::now() >= until;
        if done {
            let status = result?;
            println!("{}", status.as_str_name());
            anyhow::ensure!(
                status == ServingStatus::Serving,
                "{url} is {} (service {:?})",
                status.as_str_name(),
                args.service
            );
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// One Check of `service` ("" is the whole server).
async fn check(
    endpoint: &Endpoint,
    url: &str,
    service: &str,
    limit: Duration,
) -> anyhow::Result<ServingStatus> {
    let attempt = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| anyhow::anyhow!("no gRPC server answers at {url}: {}", root_cause(&e)))?;
        let status = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: service.to_owned(),
            })
            .await
            .map_err(|s| {
                anyhow::anyhow!(
                    "{url} answered the health check with {:?}: {}",
                    s.code(),
                    s.message()
                )
            })?
            .into_inner()
            .status();
        anyhow::Ok(status)
    };
    tokio::time::timeout(limit, attempt)
        .await
        .map_err(|_| anyhow::anyhow!("no answer from {url} within {} ms", limit.as_millis()))?
}

/// The innermost error of a chain (e.g. "Connection refused (os error
/// 111)"), which transport errors otherwise repeat at every level.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
