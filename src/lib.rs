//! oauth-registry: a gRPC service (with an optional REST gateway) that keeps
//! an organization's OAuth 2.0 clients and tokens.
//!
//! Layers, top to bottom (arrows point down only):
//! - faces: `grpc` and `rest` (the JSON gateway and its dialects), translating wire messages;
//!   each authenticates a request once (`grpc::AuthLayer`, `rest`'s `Authenticated<E>`);
//!   `trace` gives both the same request ids and spans (W3C trace context),
//!   `metrics` the same standard families (`grpc_server_*`, `http_server_*`);
//! - `service`: the use cases, shared by every face;
//! - `domain`: resources, the one query model, cursors, validation rules;
//! - `store`: SQL behind one `Store` trait, for SQLite and PostgreSQL (a
//!   span per operation: `store::traced`).
//!
//! Beside them: `audit` (the audit trail: a call's record, opened by each
//! face's layer, filled by the core, written by the store), `app` and `incoming` (the accept loop: TLS, keepalive,
//! connection age, PING policing), `health` (liveness apart from
//! readiness, lame-duck shutdown), `telemetry` (logs and OTLP export).

pub mod allocator;
pub mod app;
pub mod audit;
pub mod cli;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod health;
mod incoming;
pub mod metrics;
#[cfg(feature = "rest")]
pub mod rest;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod trace;
