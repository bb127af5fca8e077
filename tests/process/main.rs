//! Tests that run real programs as processes: the `oauth-registry` binary
//! (signals, exit codes, logs, TLS start-up) and `grpcurl` against the
//! server. Kept apart from `tests/it` so they can be scheduled on their own
//! (`.config/nextest.toml` gives them one thread).

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod admin;
mod connections;
mod grpcurl;
mod lame_duck;
mod log_secrets;
mod otlp;
mod shutdown;
mod startup;
mod tls;
mod watch_replicas;
