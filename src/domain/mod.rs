//! The domain: resources, the one query model (filters, sort, page requests,
//! cursors) and the rules input must satisfy. It knows nothing of gRPC, HTTP
//! or SQL; faces translate into these types and the store reads them.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod filter_expr;
pub mod glob;
pub mod ids;
pub mod model;
pub mod oauth;
pub mod patch;
pub mod query;
pub mod secret;
pub mod time;
pub mod validate;

pub use error::{Error, FieldViolation, Result};
pub use time::Timestamp;
