//! Logging and tracing set-up. Logs: human-readable by default, JSON lines
//! with `--log-format json`; the level comes from `RUST_LOG` (default
//! `info`, and for `seed` also `sqlx::query=error`: its index rebuilds are
//! meant to be slow, and sqlx would warn about each).
//!
//! Traces: every request's span takes its parent from an incoming W3C
//! `traceparent`/`tracestate` (so its `trace_id` is on every log line of the
//! request), and spans are exported over OTLP/gRPC when the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is
//! set; `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`
//! and `OTEL_BSP_*` work as everywhere else. Unset, nothing is exported
//! (`OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` also turn it off).

use std::io::IsTerminal;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// The installed tracer provider; [`Telemetry::shutdown`] flushes spans
/// still queued for export.
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

/// Installs the global subscriber, writing logs to stderr (stdout is kept
/// for command output such as a new key's secret). `default` applies when
/// `RUST_LOG` is unset. Call once, inside the runtime (the OTLP exporter's
/// client needs it).
pub fn init(format: LogFormat, default: &str) -> Telemetry {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let (provider, exporting, problem) = provider();
    let tracer = provider.tracer("oauth-registry");
    // Only this service's spans are exported (request and database).
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_filter(filter_fn(|m| m.target().starts_with("oauth_registry")));
    // Database spans stay off log lines: a line's fields are the request's.
    let not_db = filter_fn(|m| m.target() != crate::store::traced::TARGET);
    let fmt = tracing_subscriber::fmt::layer()
        // Colour codes only for a terminal, not for a log file or collector.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let fmt = match format {
        LogFormat::Human => fmt.with_filter(not_db).boxed(),
        LogFormat::Json => fmt
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(not_db)
            .boxed(),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init();
    if let Some(problem) = problem {
        tracing::warn!("{problem}; spans are not exported");
    }
    Telemetry {
        provider,
        exporting,
    }
}

impl Telemetry {
    /// Exports what is still queued (at most a few seconds) and stops.
    pub async fn shutdown(self) {
        if !self.exporting {
            return;
        }
        let provider = self.provider;
        let _ = tokio::task::spawn_blocking(move || {
            if let Err(e) = provider.shutdown_with_timeout(Duration::from_secs(5)) {
                eprintln!("exporting the last spans failed: {e}");
            }
        })
        .await;
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// A provider with the OTLP exporter when configured, else one that only
/// gives spans their ids (for propagation and logs). The third value says
/// why export is off despite an endpoint.
fn provider() -> (SdkTracerProvider, bool, Option<String>) {
    let mut resource = Resource::builder().with_attribute(opentelemetry::KeyValue::new(
        "service.version",
        env!("CARGO_PKG_VERSION"),
    ));
    let named_in_attributes = env("OTEL_RESOURCE_ATTRIBUTES").is_some_and(|a| {
        a.split(',')
            .any(|kv| kv.trim().starts_with("service.name="))
    });
    if env("OTEL_SERVICE_NAME").is_none() && !named_in_attributes {
        resource = resource.with_service_name("oauth-registry");
    }
    let builder = SdkTracerProvider::builder().with_resource(resource.build());
    let endpoint =
        env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").or_else(|| env("OTEL_EXPORTER_OTLP_ENDPOINT"));
    let disabled = env("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
        || env("OTEL_TRACES_EXPORTER").is_some_and(|v| v.eq_ignore_ascii_case("none"));
    if endpoint.is_none() || disabled {
        return (builder.build(), false, None);
    }
    match opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .build()
    {
        Ok(exporter) => (builder.with_batch_exporter(exporter).build(), true, None),
        Err(e) => (
            builder.build(),
            false,
            Some(format!("the OTLP exporter could not be set up: {e}")),
        ),
    }
}
