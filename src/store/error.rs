//! How storage failures become domain errors. The domain knows no SQL:
//! this conversion lives with the store, which is the only code that sees
//! `sqlx::Error`. The sqlx error itself is kept as the fault's source, so
//! the log (faces log `Internal`/`Unavailable` with its chain and send a
//! generic answer) says what failed.

use crate::domain::Error;
use crate::domain::error::Fault;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Error::Unavailable(Fault::caused_by("database", e)),
            sqlx::Error::Database(db) if db.is_unique_violation() => {
                Error::AlreadyExists(db.message().to_string())
            }
            sqlx::Error::Database(db) if is_connection_loss(db.code().as_deref()) => {
                Error::Unavailable(Fault::caused_by(db.message().to_owned(), e))
            }
            _ => Error::Internal(Fault::caused_by("database", e)),
        }
    }
}

/// PostgreSQL classes 08 (connection), 53 (insufficient resources, e.g. too
/// many connections) and 57P (operator intervention, e.g. shutdown) mean the
/// database cannot serve us right now, not that the query was bad.
fn is_connection_loss(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("08") || c.starts_with("53") || c.starts_with("57P"))
}
