//! SQLite, the embedded default. Pragmas are set explicitly on every
//! connection (sqlx leaves the journal mode alone): WAL so readers never block
//! the writer, `synchronous=NORMAL` (durable across process crashes, at most
//! the last commits lost on power loss), a busy timeout, and foreign keys on.
//! Write transactions start with `BEGIN IMMEDIATE`, taking the write lock up
//! front so concurrent writers queue on the busy timeout instead of failing
//! with "database is locked" when a read transaction tries to upgrade.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use super::StoreOptions;
use super::bulk::bulk_store;
use super::sql::Engine;
use super::sql::{Param, Sql};
use super::sql_store::{bind_params, sql_store};
use super::sqlite_read::ReadPool;
use super::versions::{FeedState, feed_state_sql};

/// How long a statement waits for a lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Listing and counting reads (see `sqlite_read.rs`).
    readers: Arc<ReadPool>,
    /// Change-feed wake-ups of this process's watchers.
    signals: tokio::sync::broadcast::Sender<crate::domain::change::FeedMoved>,
    /// This process's writers queue here, not in SQLite's busy handler.
    gate: super::write_tx::WriteGate,
    /// The one connection gated writes use: its page cache stays current
    /// (a write on a pooled connection first re-reads every page the other
    /// connections' writes changed).
    writer: SqlitePool,
}

impl SqliteStore {
    /// A page per read: SQLite has no round trip to save, and runs of
    /// pages took a stream's peak RSS past 64 MiB (its rows are decoded on
    /// the blocking pool's threads and freed on the runtime's).
    pub const STREAM_RUN_ROWS: u32 = 1000;

    /// Opens (creating the file and its directory if missing) `url`, e.g.
    /// `sqlite://data/oauth-registry.db` or `sqlite::memory:`. Failures name
    /// the file and, where there is one, the likely fix.
    pub async fn connect(url: &str, opts: &StoreOptions) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("--database-url {url:?}: not a SQLite URL: {e}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        let file = options.get_filename().to_path_buf();
        if let Some(dir) = file.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create the directory {} for the SQLite database: {e}",
                    dir.display()
                )
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(options.clone())
            .await
            .map_err(|e| {
                let hint = match file.parent().filter(|d| !d.as_os_str().is_empty()) {
                    Some(dir) => format!(" (can this user write to {}?)", dir.display()),
                    None => String::new(),
                };
                anyhow::anyhow!(
                    "cannot open the SQLite database {}: {}{hint}",
                    file.display(),
                    crate::store::error_text(&e)
                )
            })?;
        let readers = Arc::new(ReadPool::new(file, opts.max_connections, BUSY_TIMEOUT));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(options.clone());
        Ok(SqliteStore {
            pool,
            readers,
            signals: tokio::sync::broadcast::Sender::new(super::changes::SIGNALS),
            gate: super::write_tx::WriteGate::default(),
            writer,
        })
    }

    /// The underlying pool, for tests and benchmarks.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Secondary indexes of `tokens` (the primary key's is implicit).
    const TOKEN_INDEXES: &str = "SELECT name, sql FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = 'tokens' AND sql IS NOT NULL ORDER BY name";
    /// A 256 MiB page cache while loading (index builds sort in it), back
    /// to SQLite's 2 MiB default afterwards.
    const BULK_SETUP: &[&str] = &["PRAGMA cache_size = -262144"];
    const BULK_RESET: &[&str] = &["PRAGMA cache_size = -2000"];
    /// Moves the load from the WAL into the database file and truncates the
    /// WAL, rather than leaving a log as large as the data behind.
    const BULK_AFTER: &[&str] = &["PRAGMA wal_checkpoint(TRUNCATE)"];

    async fn query_tokens(&self, sql: Sql) -> Result<Vec<Token>> {
        self.readers.tokens(sql).await
    }

    /// A page of tokens and the organization's version, read first: every
    /// write is serialized, and both reads run inline in microseconds.
    async fn query_tokens_at(&self, q: &TokenQuery) -> Result<(Version, Vec<Token>)> {
        let version = Version(self.read_feed_state(&q.org_id).await?.version());
        let rows = self
            .query_tokens(super::sql::list_tokens(Engine::Sqlite, q))
            .await?;
        Ok((version, rows))
    }

    /// The sqlx pool's connections, for the metrics.
    fn pool_sizes(&self) -> super::PoolStats {
        super::PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
        }
    }

    async fn query_count(&self, sql: Sql) -> Result<u64> {
        self.readers.count(sql).await
    }

    async fn query_clients(&self, sql: Sql) -> Result<Vec<Client>> {
        self.readers.clients(sql).await
    }

    /// The organization's feed position, read on the rusqlite pool like a
    /// listing: every conditional or cached read asks for it first, and a
    /// sqlx round trip costs two more thread hand-offs than this one.
    async fn read_feed_state(&self, org_id: &crate::domain::ids::OrgId) -> Result<FeedState> {
        let mut sql = Sql::new(Engine::Sqlite, feed_state_sql(Engine::Sqlite));
        sql.params.push(Param::Text(org_id.as_str().to_owned()));
        let [head, floor, top] = self.readers.integers::<3>(sql).await?;
        Ok(FeedState {
            head: head.unwrap_or(0),
            floor: floor.unwrap_or(0),
            top,
        })
    }

    /// One process per SQLite file: commits wake watchers directly.
    fn listen_for_changes(&self) {}

    /// Nothing leaves the process: nothing to wait for.
    async fn settle_announcements(&self) {}

    /// SQLite plans from its indexes alone (no ANALYZE has run, so no
    /// `sqlite_stat1`): the plans the query-plan tests pin never change.
    async fn keep_planner_statistics(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }

    /// Wakes this process's watchers of `org_id` (no receiver, i.e. no
    /// watch yet, is not an error).
    fn announce(&self, org_id: &crate::domain::ids::OrgId) {
        let _ = self
            .signals
            .send(crate::domain::change::FeedMoved(Some(org_id.clone())));
    }

    /// Which SQL the change log's one-statement append is written in.
    const ENGINE: super::sql::Engine = super::sql::Engine::Sqlite;

    /// `BEGIN IMMEDIATE` once this process's earlier writers are done
    /// (`write_tx.rs`).
    async fn begin_write(&self) -> Result<super::write_tx::WriteTx<Sqlite>> {
        let gate = self.gate.enter(BUSY_TIMEOUT).await?;
        let tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        Ok(super::write_tx::WriteTx::gated(tx, gate))
    }

    /// Creates one token (with no client to mark used) in a single call to
    /// a connection's thread: `BEGIN IMMEDIATE`, the insert, its audit
    /// event, the counter and its change, `COMMIT`, one query string, so the
    /// write lock is held for SQLite's own work only, not for three thread
    /// hand-offs. It runs in a task of its own that rolls back on any error,
    /// so a caller that goes away cannot leave a transaction open on a
    /// pooled connection. Returns false when `row` needs the general path.
    async fn try_create_in_one_hop(&self, row: &super::NewTokenRow) -> Result<bool> {
        if row.token.client_id.is_some() {
            return Ok(false);
        }
        let records = vec![super::changes::change(
            crate::domain::change::ChangeKind::Created,
            None,
            Some(&row.token),
        )];
        let audit = crate::audit::current().and_then(|c| c.write_event(1));
        let gate = self.gate.enter(BUSY_TIMEOUT).await?;
        let (pool, row) = (self.writer.clone(), row.clone());
        let write = tokio::spawn(async move {
            let _gate = gate;
            let mut conn = pool.acquire().await?;
            let inner = Self::one_statement_sql(records.len(), audit.is_some(), true);
            let sql = format!("BEGIN IMMEDIATE; {inner}; COMMIT");
            let at = crate::domain::Timestamp::now().micros();
            let org_id = row.token.org_id.clone();
            let done =
                Self::one_statement_query(sql, &org_id, &records, audit.as_ref(), Some(&row), at)
                    .execute(&mut *conn)
                    .await;
            if done.is_err() && sqlx::query("ROLLBACK").execute(&mut *conn).await.is_err() {
                // Not known to be out of the transaction: never reused.
                conn.close_on_drop();
            }
            done.map(|_| ()).map_err(crate::domain::Error::from)
        });
        write.await.map_err(|e| {
            crate::domain::Error::Internal(crate::domain::error::Fault::caused_by(
                "the write task failed",
                e,
            ))
        })??;
        Ok(true)
    }

    fn migrator() -> sqlx::migrate::Migrator {
        super::migrations::migrator(super::migrations::SQLITE)
    }

    async fn run_migrations(&self) -> Result<()> {
        Self::migrator().run(&self.pool).await.map_err(|e| {
            crate::domain::Error::Internal(crate::domain::error::Fault::caused_by(
                "migration failed",
                e,
            ))
        })
    }
}

sql_store!(SqliteStore, Sqlite, Engine::Sqlite, "sqlite");
// Rows per INSERT: few, because sqlx binds each parameter after looking up its
// name (`sqlite3_bind_parameter_name` walks the whole list), so cost grows
// with the square of the parameter count: 500 rows spent 64% of seeding there.
bulk_store!(SqliteStore, Sqlite, Engine::Sqlite, 32);
