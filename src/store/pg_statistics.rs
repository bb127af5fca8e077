//! PostgreSQL's planner statistics, kept without depending on luck.
//!
//! Listings are planned from statistics: without them PostgreSQL guesses
//! that `org_id = $1` matches 0.5 % of the rows and reads and sorts a whole
//! organization for a deep page (Review Board's `start=9000` over a million
//! tokens: 1.6 s instead of 5 ms). Autovacuum keeps them in production (the
//! README says it must be on); where it is off (globally, or for one table)
//! a database filled through the API had none. So:
//! - every start and `migrate` analyzes the tables whose statistics are
//!   missing or stale ([`PgStore::refresh_statistics`]);
//! - a running server re-checks every `--statistics-interval-secs` and
//!   analyzes what autovacuum does not keep and has gone stale
//!   ([`PgStore::keep_planner_statistics`]), one replica at a time;
//! - a bulk load ends with its own `VACUUM (ANALYZE)` (`postgres.rs`).
//!
//! "Stale" is autovacuum's own rule, so with autovacuum on the periodic
//! check finds nothing to do and costs one catalog query.

use sqlx::Connection;

use super::postgres::PgStore;
use crate::domain::Result;

/// The tables of the store's schema whose planner statistics are missing
/// or stale by autovacuum's rules: never analyzed, grown by more than a
/// tenth (and 8 pages) since, or more rows changed than autovacuum's
/// default analyze threshold (50 + 10 %). With `$1` false, only those
/// autovacuum does not keep (it is off, globally or for the table), since
/// it analyzes the others itself. Quoted names.
const STALE_TABLES: &str = "SELECT format('%I.%I', n.nspname, c.relname) \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
     WHERE c.relkind = 'r' AND n.nspname = current_schema() AND ( \
       c.reltuples < 0 \
       OR (s.last_analyze IS NULL AND s.last_autoanalyze IS NULL) \
       OR pg_relation_size(c.oid) / current_setting('block_size')::bigint > c.relpages * 1.1 + 8 \
       OR s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)) \
     AND ($1 OR current_setting('autovacuum') = 'off' \
       OR EXISTS (SELECT 1 FROM unnest(c.reloptions) o WHERE lower(o) IN \
         ('autovacuum_enabled=off', 'autovacuum_enabled=false', 'autovacuum_enabled=no', \
          'autovacuum_enabled=0', 'autovacuum_enabled=f', 'autovacuum_enabled=n'))) \
     ORDER BY 1";

/// `pg_try_advisory_lock(int, int)` key of the periodic check: one replica
/// analyzes at a time (a second ANALYZE of a table would wait on the first
/// for nothing). Its own class, apart from the writes' locks (`versions.rs`).
const STATISTICS_LOCK: (i32, i32) = (0x5354_4154, 1);

impl PgStore {
    /// ANALYZEs every table whose statistics are missing or stale, after
    /// migrations, so every start (and `migrate`) leaves the planner
    /// statistics: a database restored from a dump, or filled with
    /// autovacuum off, has none. Warns when autovacuum is off. Best effort:
    /// an optimisation never stops the start.
    pub(super) async fn refresh_statistics(&self) {
        let run = async {
            let stale = analyze_stale(&mut *self.pool().acquire().await?, true).await?;
            if !stale.is_empty() {
                tracing::info!(tables = %stale.join(", "), "refreshed planner statistics");
            }
            let autovacuum: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
                .fetch_one(self.pool())
                .await?;
            Ok::<_, sqlx::Error>(autovacuum)
        };
        match run.await {
            Ok(autovacuum) if autovacuum != "on" => tracing::warn!(
                "PostgreSQL runs with autovacuum off: planner statistics go stale as data changes; the service re-analyzes stale tables every --statistics-interval-secs, but turn autovacuum on in production (README, PostgreSQL)"
            ),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %super::error_text(&e), "could not refresh planner statistics")
            }
        }
    }

    /// The periodic check of a running server: ANALYZEs the tables that
    /// autovacuum does not keep and whose statistics went stale since
    /// (a database filled through the API with autovacuum off); returns
    /// their names. Nothing when another replica is at it.
    pub(super) async fn keep_planner_statistics(&self) -> Result<Vec<String>> {
        let mut conn = self.pool().acquire().await?;
        let (class, key) = STATISTICS_LOCK;
        let ours: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1, $2)")
            .bind(class)
            .bind(key)
            .fetch_one(&mut *conn)
            .await?;
        if !ours {
            return Ok(Vec::new());
        }
        let analyzed = analyze_stale(&mut conn, false).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1, $2)")
            .bind(class)
            .bind(key)
            .execute(&mut *conn)
            .await;
        if analyzed.is_err() || unlocked.is_err() {
            // A session lock must not go back to the pool: closing the
            // connection releases it.
            let _ = conn.detach().close().await;
        }
        Ok(analyzed?)
    }
}

/// ANALYZEs the stale tables (all, or with `all` false only those
/// autovacuum does not keep) and returns their names. Outside any
/// transaction block, so each table is analyzed in its own short
/// transaction: one held open across them all would hold back the change
/// feed's watermark (`versions.rs`) while the next table is sampled.
async fn analyze_stale(conn: &mut sqlx::PgConnection, all: bool) -> sqlx::Result<Vec<String>> {
    let stale: Vec<String> = sqlx::query_scalar(STALE_TABLES)
        .bind(all)
        .fetch_all(&mut *conn)
        .await?;
    if !stale.is_empty() {
        // Names from the catalog, quoted by format('%I').
        let analyze = format!("ANALYZE {}", stale.join(", "));
        sqlx::query(sqlx::AssertSqlSafe(analyze))
            .execute(&mut *conn)
            .await?;
    }
    Ok(stale)
}
