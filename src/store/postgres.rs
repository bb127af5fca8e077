//! PostgreSQL, for many stateless replicas sharing one database. Text columns
//! that are sorted or compared use `COLLATE "C"` (byte order), so results
//! match SQLite's exactly.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use super::StoreOptions;

/// A pooled connection idle for longer than this is pinged before use.
const PING_IF_IDLE_FOR: std::time::Duration = std::time::Duration::from_secs(1);
use super::bulk::bulk_store;
use super::sql::Engine;
use super::sql::Sql;
use super::sql_store::{bind_params, sql_store};

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Connections that plan a prepared statement once (`plan_cache_mode =
    /// force_generic_plan`), for listings one index serves exactly
    /// (`Sql::stable_plan`): re-planning such a listing on every call cost
    /// about what its round trip does (docs/performance.md).
    stable: PgPool,
    /// Change-feed wake-ups of this process's watchers (fed by its own
    /// commits and by `pg_listen`).
    signals: tokio::sync::broadcast::Sender<crate::domain::change::FeedMoved>,
    /// Set once the LISTEN task runs (started by the first watch).
    listening: std::sync::Arc<std::sync::OnceLock<()>>,
    /// Sends the NOTIFYs that wake other replicas' watchers after commits.
    announcer: super::pg_notify::Announcer,
}

impl PgStore {
    /// One query per 1,000-row page left PostgreSQL idle at every page
    /// boundary (a round trip and a new execution); 5,000-row runs, a run
    /// queued ahead, stream ~1.1× as fast as 2,500-row runs with one page
    /// queued. Their peak RSS (53–58 MiB) stays within the stream's 64 MiB
    /// only because freed memory goes back to the OS within 100 ms
    /// (`src/main.rs`); with mimalloc's default second it reached 70–89.
    pub const STREAM_RUN_ROWS: u32 = 5000;

    /// Checks that the server answers (so a start-up failure names the host
    /// and the cause), then connects lazily: the pool opens connections on
    /// first use, so a database that goes away later only turns health
    /// NOT_SERVING, and the service recovers by itself when it returns.
    pub async fn connect(url: &str, opts: &StoreOptions) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| anyhow::anyhow!("--database-url: not a PostgreSQL URL: {e}"))?
            .application_name("oauth-registry");
        preflight(&options, opts.acquire_timeout).await?;
        // The connection budget is shared: half (at least one) for the
        // plan-stable listings, the rest (at least one) for everything else.
        let stable_share = (opts.max_connections / 2).max(1);
        let pool = pool_options(
            opts.max_connections.saturating_sub(stable_share).max(1),
            opts,
        )
        .connect_lazy_with(options.clone());
        let stable = pool_options(stable_share, opts)
            .connect_lazy_with(options.options([("plan_cache_mode", "force_generic_plan")]));
        Ok(PgStore {
            pool,
            stable,
            signals: tokio::sync::broadcast::Sender::new(super::changes::SIGNALS),
            listening: Default::default(),
            announcer: Default::default(),
        })
    }

    /// Where `sql` runs: plan-stable listings on the connections that
    /// reuse their plans.
    fn pool_for(&self, sql: &Sql) -> &PgPool {
        match sql.stable_plan {
            true => &self.stable,
            false => &self.pool,
        }
    }

    /// Both pools' connections, for the metrics.
    fn pool_sizes(&self) -> super::PoolStats {
        super::PoolStats {
            size: self.pool.size() + self.stable.size(),
            idle: self.pool.num_idle() + self.stable.num_idle(),
        }
    }

    /// The underlying pool, for tests and benchmarks.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Secondary indexes of `tokens`: not those backing a primary key or a
    /// unique constraint.
    const TOKEN_INDEXES: &str = "SELECT c.relname::text, pg_get_indexdef(i.indexrelid) \
         FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
         WHERE i.indrelid = 'tokens'::regclass AND NOT i.indisunique ORDER BY 1";
    /// Memory for the index rebuilds; no waiting on WAL flush for this one
    /// transaction (a crash loses only the uncommitted load).
    const BULK_SETUP: &[&str] = &[
        "SET LOCAL maintenance_work_mem = '256MB'",
        "SET LOCAL synchronous_commit = off",
    ];
    const BULK_RESET: &[&str] = &[];
    /// Planner statistics for the new rows, and hint bits and the visibility
    /// map set now rather than by the first reader (which otherwise rewrites
    /// every page it touches: the first stream after a load ran 30× slower).
    /// The other tables a load (or `seed` before it) writes get statistics
    /// too: autovacuum may be off, and `seed` is how benchmarks are filled.
    const BULK_AFTER: &[&str] = &[
        "VACUUM (ANALYZE) tokens",
        "ANALYZE orgs, api_keys, clients, org_versions, changes",
    ];

    /// Decodes each row as it arrives, so PostgreSQL produces the rest of
    /// the page while we decode the first ones.
    async fn query_tokens(&self, sql: Sql) -> Result<Vec<Token>> {
        use futures::TryStreamExt;
        let pool = self.pool_for(&sql);
        // Bounded: a limit comes from a page size, but never trust it blindly.
        let mut out = Vec::with_capacity(sql.limit.map_or(0, |l| l.clamp(0, 10_001) as usize));
        let mut rows =
            bind_params!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch(pool);
        while let Some(row) = rows.try_next().await? {
            out.push(Token::try_from(<TokenRow as sqlx::FromRow<_>>::from_row(
                &row,
            )?)?);
        }
        Ok(out)
    }

    /// A page of tokens and the organization's version its rows show, in
    /// one statement (`versions::pg_with_feed_state`).
    async fn query_tokens_at(&self, q: &TokenQuery) -> Result<(Version, Vec<Token>)> {
        use futures::TryStreamExt;
        use sqlx::Row;
        let sql = super::versions::pg_with_feed_state(
            super::sql::list_tokens(Engine::Postgres, q),
            &q.org_id,
        );
        let pool = self.pool_for(&sql);
        let mut rows =
            bind_params!(sqlx::query(sqlx::AssertSqlSafe(sql.text)), sql.params).fetch(pool);
        let mut state = None;
        let mut out = Vec::new();
        while let Some(row) = rows.try_next().await? {
            if state.is_none() {
                state = Some(super::versions::FeedState {
                    head: row.try_get("feed_head")?,
                    floor: row.try_get("feed_floor")?,
                    top: row.try_get("feed_top")?,
                });
            }
            // The one row of an empty listing has NULL listing columns.
            if row.try_get::<Option<&str>, _>("id")?.is_some() {
                out.push(Token::try_from(<TokenRow as sqlx::FromRow<_>>::from_row(
                    &row,
                )?)?);
            }
        }
        let state = state.ok_or_else(|| {
            crate::domain::Error::Internal("listing with its version returned no row".into())
        })?;
        Ok((Version(state.version()), out))
    }

    async fn query_clients(&self, sql: Sql) -> Result<Vec<Client>> {
        let rows: Vec<super::rows::ClientRow> =
            bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(Client::try_from).collect()
    }

    /// The organization's feed position (`versions.rs`).
    async fn read_feed_state(
        &self,
        org_id: &crate::domain::ids::OrgId,
    ) -> Result<super::versions::FeedState> {
        let mut conn = self.pool.acquire().await?;
        Self::feed_state(&mut conn, org_id).await
    }

    async fn query_count(&self, sql: Sql) -> Result<u64> {
        let n: i64 = bind_params!(
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql.text)),
            sql.params
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n as u64)
    }

    /// Starts the LISTEN task on first use (see `pg_listen.rs`).
    fn listen_for_changes(&self) {
        self.listening.get_or_init(|| {
            tokio::spawn(super::pg_listen::listen(
                self.pool.clone(),
                self.signals.clone(),
            ));
        });
    }

    /// Wakes this process's watchers of `org_id` at once and queues the
    /// NOTIFY for other replicas' (sent after the commit: `pg_notify.rs`).
    fn announce(&self, org_id: &crate::domain::ids::OrgId) {
        let _ = self
            .signals
            .send(crate::domain::change::FeedMoved(Some(org_id.clone())));
        self.announcer.announce(&self.pool, org_id);
    }

    /// Waits until the queued NOTIFYs are sent (at most two seconds).
    async fn settle_announcements(&self) {
        self.announcer.flush().await
    }

    /// Which SQL the change log's one-statement append is written in.
    const ENGINE: super::sql::Engine = super::sql::Engine::Postgres;

    async fn begin_write(&self) -> Result<super::write_tx::WriteTx<Postgres>> {
        Ok(super::write_tx::WriteTx::ungated(self.pool.begin().await?))
    }

    /// Nothing to gain: a PostgreSQL write with parameters takes one round
    /// trip per statement whatever the grouping (see `try_create_in_one_hop`
    /// on SQLite).
    async fn try_create_in_one_hop(&self, _row: &super::NewTokenRow) -> Result<bool> {
        Ok(false)
    }

    fn migrator() -> sqlx::migrate::Migrator {
        super::migrations::migrator(super::migrations::POSTGRES)
    }

    async fn run_migrations(&self) -> Result<()> {
        Self::migrator()
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => crate::domain::Error::from(e),
                e => crate::domain::Error::Internal(crate::domain::error::Fault::caused_by(
                    "migration failed",
                    e,
                )),
            })?;
        self.refresh_statistics().await;
        Ok(())
    }
}

sql_store!(PgStore, Postgres, Engine::Postgres, "postgres");

/// A pool of at most `max` connections, opened on first use.
fn pool_options(max: u32, opts: &StoreOptions) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(opts.acquire_timeout)
        // sqlx pings every connection it hands out by default: a second
        // round trip per query. Only one idle for a while is pinged
        // (after a database restart those are the ones that are dead);
        // one in steady use has just proven itself.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
}

/// One connection attempt, outside the pool (whose timeout hides the
/// cause), turned into one line naming the server, the database and the
/// user, with a hint for the common mistakes.
async fn preflight(options: &PgConnectOptions, limit: std::time::Duration) -> anyhow::Result<()> {
    use sqlx::{ConnectOptions, Connection};
    let server = format!("{}:{}", options.get_host(), options.get_port());
    let database = options.get_database().unwrap_or("postgres");
    let user = options.get_username();
    let attempt = tokio::time::timeout(limit, options.connect()).await;
    let err = match attempt {
        Ok(Ok(conn)) => {
            let _ = conn.close().await;
            return Ok(());
        }
        Ok(Err(e)) => e,
        Err(_) => anyhow::bail!(
            "no answer from PostgreSQL at {server} within {} s (is the host right, and is a firewall dropping the connection?)",
            limit.as_secs()
        ),
    };
    let code = match &err {
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    let text = crate::store::error_text(&err);
    match code.as_deref() {
        Some("3D000") => anyhow::bail!(
            "PostgreSQL at {server} has no database {database:?}: create it (createdb -h {} -p {} -U {user} {database}) or name another in --database-url",
            options.get_host(),
            options.get_port()
        ),
        Some(c) if c.starts_with("28") => anyhow::bail!(
            "PostgreSQL at {server} refused user {user:?} for database {database:?}: {text}"
        ),
        _ if matches!(err, sqlx::Error::Io(_)) => anyhow::bail!(
            "cannot reach PostgreSQL at {server} (database {database:?}, user {user:?}): {text} (is it running and listening there?)"
        ),
        _ => anyhow::bail!(
            "cannot connect to PostgreSQL at {server} (database {database:?}, user {user:?}): {text}"
        ),
    }
}
// Rows per INSERT: 500 x 20 parameters (19 columns and the hash) is well under PostgreSQL's 65,535.
bulk_store!(PgStore, Postgres, Engine::Postgres, 500);
