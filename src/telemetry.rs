//! Logging set-up: human-readable by default, JSON lines with
//! `--log-format json`; the level comes from `RUST_LOG` (default `info`, and
//! for `seed` also `sqlx::query=error`: its index rebuilds are meant to be
//! slow, and sqlx would warn about each).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

/// Installs the global subscriber, writing to stderr (stdout is kept for
/// command output such as a new key's secret). `default` applies when
/// `RUST_LOG` is unset. Safe to call once.
pub fn init(format: LogFormat, default: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a terminal, not for a log file or collector.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
