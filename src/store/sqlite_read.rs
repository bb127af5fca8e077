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

use super::rows::{ClientRow, FromRusqlite, TokenRow};
use super::sql::{Param, Sql};
use crate::domain::error::Fault;
use crate::domain::model::{Client, Token};
use crate::domain::{Error, Result};

/// Prepared statements kept per connection: one per distinct listing shape
/// (sort × direction × first/keyset page × filters in use).
const STATEMENT_CACHE: usize = 128;

/// How a read gets off the async worker: the environment variable
/// `OAUTH_REGISTRY_SQLITE_READS` chooses, for benchmarks
/// (`bench/hot.sh` measures them; docs/performance.md has the figures).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// `blocking`: every read runs on tokio's blocking pool
    /// (`spawn_blocking`) and the task is woken when it is done: two
    /// thread switches per read.
    Blocking,
    /// `in-place`: every read runs by `block_in_place` on the worker
    /// thread that asked for it, which first hands its other tasks to
    /// another worker; `Blocking` on a current-thread runtime (tests).
    InPlace,
    /// `inline-points`: point reads (the organization's feed state, a
    /// page's clients by id: primary-key lookups, microseconds each) run
    /// right on the worker, without a hand-off, on a connection that
    /// never waits for a lock; listings and counts, whose cost depends on
    /// the data, stay `Blocking`.
    InlinePoints,
    /// `inline`: as `InlinePoints`, and listings and counts start inline
    /// too, with a budget of SQLite steps (`INLINE_BUDGET`): one that
    /// exceeds it is interrupted and runs again on the blocking pool, so
    /// a worker is never held for longer than the budget. Listings of
    /// more than `INLINE_ROWS` (a stream's pages) run by `block_in_place`,
    /// so their rows are allocated on the thread that goes on to encode
    /// and free them (see `ReadPool::tokens`).
    Inline,
}

impl Handoff {
    /// The mode named in the environment; unset or unknown is the default.
    pub fn from_env() -> Self {
        match std::env::var("OAUTH_REGISTRY_SQLITE_READS").as_deref() {
            Ok("in-place") => Handoff::InPlace,
            Ok("blocking") => Handoff::Blocking,
            Ok("inline-points") => Handoff::InlinePoints,
            Ok("inline") => Handoff::Inline,
            _ => DEFAULT_HANDOFF,
        }
    }
}

/// The hand-off that measured best on this project's benchmarks.
const DEFAULT_HANDOFF: Handoff = Handoff::Inline;

/// SQLite virtual-machine steps an inline listing may take, in units of
/// `INLINE_STEP`: enough for a page of about 150 rows read in index order
/// (a row is ~25 steps); a read that needs more (a deep offset, a filter
/// the index does not serve, a 1,000-row stream page) wastes at most this
/// much before it moves to the blocking pool.
const INLINE_BUDGET: u32 = 4;
const INLINE_STEP: i32 = 1000;
/// Listings asking for more rows than this (a stream's 1,000-row pages)
/// go to the blocking pool directly.
const INLINE_ROWS: i64 = 101;

/// Connections for inline point reads: one per worker thread of this
/// machine's runtime is enough; a read that finds both taken goes to the
/// blocking pool instead of waiting.
const INLINE_SLOTS: usize = 2;

/// A small pool of read-only rusqlite connections.
#[derive(Debug)]
pub struct ReadPool {
    path: PathBuf,
    busy_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    handoff: Handoff,
    inline: [Mutex<Option<Connection>>; INLINE_SLOTS],
}

impl ReadPool {
    /// A pool of up to `max` connections to `path`, opened on first use.
    pub fn new(path: PathBuf, max: u32, busy_timeout: Duration) -> Self {
        ReadPool {
            path,
            busy_timeout,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max.max(1) as usize)),
            handoff: Handoff::from_env(),
            inline: Default::default(),
        }
    }

    /// Runs point read `f` inline when the hand-off mode says so.
    async fn point<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inline = matches!(self.handoff, Handoff::InlinePoints | Handoff::Inline);
        self.inline_first(inline, None, f).await
    }

    /// Runs listing or count `f`, inline within `INLINE_BUDGET` when the
    /// hand-off mode says so.
    async fn scan<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl Fn(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inline = self.handoff == Handoff::Inline;
        self.inline_first(inline, Some(INLINE_BUDGET), f).await
    }

    /// Runs `f` on a free inline connection right here (opened with no
    /// busy wait: a read that would wait for a lock fails at once; with a
    /// `budget`, one that runs past it is interrupted), or else, or if it
    /// failed that way, on the blocking pool.
    async fn inline_first<T: Send + 'static>(
        self: &Arc<Self>,
        inline: bool,
        budget: Option<u32>,
        f: impl Fn(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        for slot in self.inline.iter().filter(|_| inline) {
            let Ok(mut held) = slot.try_lock() else {
                continue;
            };
            let conn = match held.take() {
                Some(c) => c,
                None => match self.open_with(Duration::ZERO) {
                    Ok(c) => c,
                    Err(_) => break,
                },
            };
            let over = Arc::new(std::sync::atomic::AtomicBool::new(false));
            if let Some(limit) = budget {
                let (mut steps, over) = (0u32, over.clone());
                let meter = move || {
                    steps += 1;
                    let stop = steps > limit;
                    over.store(stop, std::sync::atomic::Ordering::Relaxed);
                    stop
                };
                if conn.progress_handler(INLINE_STEP, Some(meter)).is_err() {
                    break;
                }
            }
            let out = f(&conn);
            if budget.is_some() && conn.progress_handler(0, None::<fn() -> bool>).is_err() {
                break;
            }
            if over.load(std::sync::atomic::Ordering::Relaxed) {
                // Over budget: the connection is fine and keeps its
                // prepared statements; the read moves to the pool.
                *held = Some(conn);
                break;
            }
            match out {
                // Busy, locked or unopenable: this connection is dropped
                // and the pool, which waits properly, does the read.
                Err(Error::Unavailable(_)) => break,
                out => {
                    *held = Some(conn);
                    return out;
                }
            }
        }
        self.run(f).await
    }

    fn open(&self) -> Result<Connection> {
        self.open_with(self.busy_timeout)
    }

    fn open_with(&self, busy_timeout: Duration) -> Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(db_error)?;
        conn.busy_timeout(busy_timeout).map_err(db_error)?;
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
        self.run_on(self.handoff == Handoff::InPlace, f).await
    }

    /// [`Self::run`], by `block_in_place` when `in_place` and the runtime
    /// has more than one thread, else on the blocking pool.
    async fn run_on<T: Send + 'static>(
        self: &Arc<Self>,
        in_place: bool,
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
        let read = move || {
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
        };
        let multi_thread = tokio::runtime::Handle::current().runtime_flavor()
            == tokio::runtime::RuntimeFlavor::MultiThread;
        if in_place && multi_thread {
            return tokio::task::block_in_place(read);
        }
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| Error::Internal(Fault::caused_by("sqlite read task failed", e)))?
    }

    /// The rows of a listing query built by `sql::list_tokens`.
    ///
    /// A page bigger than the inline budget allows would only waste it; in
    /// the default mode it is read by `block_in_place` instead of on the
    /// blocking pool. Its ~12 allocations per row are then made on the
    /// runtime's thread that encodes and frees them, not freed across
    /// threads (mimalloc's `_mi_page_free_collect` was ~7% of a stream's
    /// samples), and the hand-off to the pool and back is saved: the same
    /// build streamed 1.14–1.27× the rows per second this way, at ~10% less
    /// CPU per row (docs/streams.md). A worker blocks for one 1,000-row
    /// page, about 2 ms; tokio moves its other tasks to another thread.
    pub async fn tokens(self: &Arc<Self>, sql: Sql) -> Result<Vec<Token>> {
        if sql.limit.is_none_or(|n| n > INLINE_ROWS) {
            let in_place = matches!(self.handoff, Handoff::Inline | Handoff::InPlace);
            return self
                .run_on(in_place, move |conn| rows::<TokenRow, Token>(conn, &sql))
                .await;
        }
        self.scan(move |conn| rows::<TokenRow, Token>(conn, &sql))
            .await
    }

    /// The rows of a query built by `sql::clients_by_id` (a page's
    /// clients, by primary key): a point read.
    pub async fn clients(self: &Arc<Self>, sql: Sql) -> Result<Vec<Client>> {
        self.point(move |conn| rows::<ClientRow, Client>(conn, &sql))
            .await
    }

    /// The first row of `sql` as `N` nullable integers (a point read
    /// such as the organization's feed state).
    pub async fn integers<const N: usize>(self: &Arc<Self>, sql: Sql) -> Result<[Option<i64>; N]> {
        self.point(move |conn| {
            let mut stmt = prepare(conn, &sql)?;
            let mut rows = stmt.raw_query();
            let row = rows
                .next()
                .map_err(db_error)?
                .ok_or_else(|| Error::Internal("a point read returned no row".into()))?;
            let mut out = [None; N];
            for (i, v) in out.iter_mut().enumerate() {
                *v = row.get(i).map_err(db_error)?;
            }
            Ok(out)
        })
        .await
    }

    /// The single integer a `COUNT(*)` query built by `sql` returns.
    pub async fn count(self: &Arc<Self>, sql: Sql) -> Result<u64> {
        self.scan(move |conn| {
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

/// The most rows a read reserves room for before it has them: a stream's
/// largest page, plus the row that tells whether another page follows.
const MAX_RESERVED_ROWS: i64 = 1024;

/// Every row of `sql`, stepped and decoded.
fn rows<R, T>(conn: &Connection, sql: &Sql) -> Result<Vec<T>>
where
    R: FromRusqlite,
    T: TryFrom<R, Error = Error>,
{
    let mut stmt = prepare(conn, sql)?;
    let mut rows = stmt.raw_query();
    // Sized for the page up front: a token is ~400 bytes, and growing a
    // 1,000-row page by doubling copied it twice over (~3% of a stream's
    // instructions in `realloc`).
    let expected = sql.limit.map_or(0, |n| n.clamp(0, MAX_RESERVED_ROWS));
    let mut out = Vec::with_capacity(expected as usize);
    while let Some(row) = rows.next().map_err(db_error)? {
        out.push(T::try_from(R::from_rusqlite(row).map_err(db_error)?)?);
    }
    Ok(out)
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
        // An inline read over its budget (`inline_first`): it reruns on
        // the blocking pool, which sets no budget.
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::OperationInterrupted) => {
            Error::Unavailable(Fault::caused_by("sqlite read", e))
        }
        _ => Error::Internal(Fault::caused_by("sqlite read", e)),
    }
}
