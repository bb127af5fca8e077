//! PostgreSQL, for many stateless replicas sharing one database. Text columns
//! that are sorted or compared use `COLLATE "C"` (byte order), so results
//! match SQLite's exactly.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};

use super::StoreOptions;
use super::bulk::bulk_store;
use super::sql::Dialect;
use super::sql::Sql;
use super::sql_store::{bind_params, sql_store};

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects lazily: the pool opens connections on first use, so the
    /// service starts (reporting NOT_SERVING) while the database is down and
    /// recovers by itself when it returns.
    pub async fn connect(url: &str, opts: &StoreOptions) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("oauth-registry");
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections)
            .acquire_timeout(opts.acquire_timeout)
            .connect_lazy_with(options);
        Ok(PgStore { pool })
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
    const BULK_AFTER: &[&str] = &["VACUUM (ANALYZE) tokens"];

    async fn query_tokens(&self, sql: Sql) -> Result<Vec<Token>> {
        let rows: Vec<TokenRow> =
            bind_params!(sqlx::query_as(sqlx::AssertSqlSafe(sql.text)), sql.params)
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter().map(Token::try_from).collect()
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

    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    async fn run_migrations(&self) -> Result<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await
            .map_err(|e| match e {
                sqlx::migrate::MigrateError::Execute(e) => crate::domain::Error::from(e),
                e => crate::domain::Error::Internal(format!("migration failed: {e}")),
            })
    }
}

sql_store!(PgStore, Postgres, Dialect::Postgres, "postgres");
// Rows per INSERT: 500 x 20 parameters is well under PostgreSQL's 65,535.
bulk_store!(PgStore, Postgres, Dialect::Postgres, 500);
