//! The behavioural suites, in one test binary (one link instead of one per
//! suite). Each suite starts the real server in-process on a random port
//! over a fresh database (`common::spawn_app`) and talks to it as a client
//! would; `backend_tests!` runs a suite's tests on SQLite and on PostgreSQL.
//! Tests that run the `oauth-registry` binary itself live in `tests/process`.

#[macro_use]
#[path = "../common/mod.rs"]
mod common;

mod audit;
mod audit_routes;
mod batch_lookup;
mod bulk_load;
mod bulk_revoke;
mod change_log;
mod compression;
mod concurrency;
mod crud;
mod deep_offsets;
mod differential;
mod error_bounds;
mod etags;
mod grpc_web;
mod health;
mod kept_answers;
mod key_cache;
mod list_then_watch;
mod metrics;
mod offset_anchors;
mod openapi;
mod openapi_constraints;
mod overload;
mod pagination;
mod planner_statistics;
mod properties;
mod query_plans;
mod rate_limit;
mod replicas;
mod request_ids;
mod resource_etags;
mod rest_canonical;
mod rest_canonical_bytes;
mod rest_dialect_bytes;
mod rest_hostile;
mod rest_losant;
mod rest_properties;
mod rest_reviewboard;
mod rest_reviewboard_djblets;
mod rest_siro;
mod rest_slashid;
mod rest_watch;
mod retention;
mod secret_lookup;
mod secrets;
mod stalled_connections;
mod standalone;
mod standard_metrics;
mod status_walks;
mod stream_limits;
mod streaming;
mod tenancy;
mod tenancy_properties;
mod time_filters;
mod totals;
mod update_rules;
mod watch;
mod watch_access;
mod watch_matching;
mod watch_postgres;
