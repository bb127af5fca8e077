//! oauth-registry: a gRPC service (with an optional REST gateway) that keeps
//! an organization's OAuth 2.0 clients and tokens.
//!
//! Layers, top to bottom (arrows point down only):
//! - faces: `grpc` and `rest` (the JSON gateway and its dialects), translating wire messages;
//!   each authenticates a request once (`grpc::AuthLayer`, `rest`'s `Authenticated<E>`);
//!   `trace` gives both the same request ids, spans and metrics;
//! - `service`: the use cases, shared by every face;
//! - `domain`: resources, the one query model, cursors, validation rules;
//! - `store`: SQL behind one `Store` trait, for SQLite and PostgreSQL.

pub mod app;
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
