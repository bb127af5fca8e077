//! The SQLite store's listing reads, driven through rusqlite on blocking
//! threads. sqlx's SQLite driver runs each connection on a worker thread and
//! hands every row to the async side through a channel: a wake-up and a
//! dozen allocations per row, which capped `StreamTokens` at ~65k rows/s
//! while the `sqlite3` CLI reads the same rows at ~650k/s. Here a whole page
//! is stepped and decoded in one blocking call on one connection, with
//! cached prepared statements. Writes, migrations and point reads stay on
//! sqlx; both pools open the same file, and WAL keeps readers and the writer
//! out of each other's way.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::Semaphore;

use super::rows::{FromRusqlite, TokenRow};
use super::sql::{Param, Sql};
use crate::domain::error::Fault;
use crate::domain::model::Token;
use crate::domain::{Error, Result};

/// Prepared statements kept per connection: one per distinct listing shape
/// (sort × direction × first/keyset page × filters in use).
const STATEMENT_CACHE: usize = 128;

/// A small pool of read-only rusqlite connections.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    /// A pool of up to `max` connections to `path`, opened on first use.
    pub fn new(path: PathBuf, max: u32, busy_timeout: Duration) -> Self {
        ReadPool {
            path,
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
        }
    }

    fn open(&self) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(db_error)?;
        conn.busy_timeout(self.busy_timeout).map_err(db_error)?;
        conn.execute_batch("PRAGMA query_only = ON; PRAGMA temp_store = MEMORY;")
            .map_err(db_error)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Runs `f` on a pooled connection on a blocking thread. A connection
    /// that failed is dropped rather than returned, so a broken one never
    /// serves the next call.
    async fn run<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::Unavailable("sqlite read pool closed".into()))?;
        let pooled = self.idle.lock().map_err(|_| poisoned())?.pop();
        let this = self.clone();
        // The permit moves into the blocking call: if the caller goes away
        // the call still finishes, and still counts against the limit.
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let conn = match pooled {
                Some(c) => c,
                None => this.open()?,
            };
            let out = f(&conn);
            if out.is_ok() {
                this.idle.lock().map_err(|_| poisoned())?.push(conn);
            }
            out
        })
        .await
        .map_err(|e| Error::Internal(Fault::caused_by("sqlite read task failed", e)))?
    }

    /// The rows of a listing query built by `sql::list_tokens`.
    pub async fn tokens(self: &Arc<Self>, sql: Sql) -> Result<Vec<Token>> {
        self.run(move |conn| {
            let mut stmt = prepare(conn, &sql)?;
            let mut rows = stmt.raw_query();
            let mut out = Vec::new();
            while let Some(row) = rows.next().map_err(db_error)? {
                out.push(Token::try_from(
                    TokenRow::from_rusqlite(row).map_err(db_error)?,
                )?);
            }
            Ok(out)
        })
        .await
    }

    /// The single integer a `COUNT(*)` query built by `sql` returns.
    pub async fn count(self: &Arc<Self>, sql: Sql) -> Result<u64> {
        self.run(move |conn| {
            let mut stmt = prepare(conn, &sql)?;
            let n: i64 = stmt
                .raw_query()
                .next()
                .map_err(db_error)?
                .ok_or_else(|| Error::Internal("COUNT returned no row".into()))?
                .get(0)
                .map_err(db_error)?;
            Ok(n.max(0) as u64)
        })
        .await
    }
}

/// Prepares (or takes from the cache) `sql` and binds its `$n` parameters
/// by name, so their order in the text does not matter.
fn prepare<'c>(conn: &'c Connection, sql: &Sql) -> Result<rusqlite::CachedStatement<'c>> {
    let mut stmt = conn.prepare_cached(&sql.text).map_err(db_error)?;
    for (i, p) in sql.params.iter().enumerate() {
        let name = format!("${}", i + 1);
        let Some(index) = stmt.parameter_index(&name).map_err(db_error)? else {
            return Err(Error::Internal(Fault::from(format!(
                "no parameter {name} in listing SQL"
            ))));
        };
        let value: &dyn ToSql = match p {
            Param::Text(s) => s,
            Param::Int(i) => i,
            Param::Bool(b) => b,
        };
        stmt.raw_bind_parameter(index, value).map_err(db_error)?;
    }
    Ok(stmt)
}

fn poisoned() -> Error {
    Error::Internal("sqlite read pool lock poisoned".into())
}

/// Busy/locked (a checkpoint holding the database past the busy timeout) is
/// worth retrying; anything else is a fault.
fn db_error(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            Error::Unavailable(Fault::caused_by("sqlite read", e))
        }
        Some(rusqlite::ErrorCode::CannotOpen) => {
            Error::Unavailable(Fault::caused_by("sqlite read", e))
        }
        _ => Error::Internal(Fault::caused_by("sqlite read", e)),
    }
}
