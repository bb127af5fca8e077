//! The domain: resources, identities and OAuth values as types (`ids`,
//! `oauth`: parsed once, by their own parser), the one query model
//! (`Query<F, S>`: filters, sort, page requests, cursors) and the rules
//! input must satisfy. It knows nothing of gRPC, HTTP
//! or SQL; faces translate into these types and the store reads them.

pub mod audit;
pub mod auth;
pub mod bulk;
pub mod change;
pub mod cursor;
pub mod error;
pub mod filter_expr;
pub mod freshness;
pub mod glob;
pub mod ids;
pub mod matching;
pub mod model;
pub mod oauth;
pub mod patch;
pub mod query;
pub mod secret;
pub mod time;
pub mod validate;

pub use error::{Error, FieldViolation, Result};
pub use time::Timestamp;
