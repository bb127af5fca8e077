//! Storage behind one interface. `SqliteStore` (the embedded default) and
//! `PgStore` implement `Store` from one shared body (`sql_store.rs`) and one
//! SQL builder (`sql.rs`); only connection set-up, migrations and the write
//! transaction's `BEGIN` differ. Both pass the same behavioural test suite.
//!
//! Every method that touches tenant data takes the caller's `OrgId` and puts
//! it in the `WHERE` clause: there is no unscoped read or write of tokens,
//! clients or keys. Ids arrive typed (`TokenId`, `ClientId`, `KeyId`), never
//! as bare strings, and each table's columns are declared once
//! (`rows::table_row!`).
//!
//! Every write of a token or client also appends its change events (the
//! row before and after) in the same transaction, numbered so that they
//! become visible in commit order (`versions.rs`, `changes.rs`): the change
//! feed that watches read.

mod append_sql;
pub(crate) mod audit_log;
mod bulk;
mod bulk_jobs;
pub(crate) mod changes;
mod error;
mod ids;
mod json_column;
mod list_column;
mod migrations;
mod pg_listen;
mod pg_notify;
mod pg_statistics;
mod postgres;
mod rows;
pub mod sql;
mod sql_store;
mod sqlite;
mod sqlite_read;
pub mod traced;
pub mod versions;
mod write_tx;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use traced::Traced;

use crate::domain::audit::{AuditEvent, AuditQuery};
use crate::domain::auth::ApiKey;
use crate::domain::bulk::{BulkJob, BulkSelection};
use crate::domain::change::{ChangePage, FeedMoved, Version};
use crate::domain::freshness::{Preconditions, StatusWindow};
use crate::domain::ids::{ClientId, KeyId, OrgId, TokenId};
use crate::domain::model::{Client, Org, Token};
use crate::domain::patch::{ClientPatch, TokenPatch};
use crate::domain::query::{ClientFilter, ClientQuery, TokenFilter, TokenQuery};
use crate::domain::{Result, Timestamp};

pub use bulk::TokenBatches;
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// A token to insert, with the hash of its secret.
#[derive(Debug, Clone)]
pub struct NewTokenRow {
    pub token: Token,
    pub secret_hash: Vec<u8>,
}

/// What `delete_client` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteClientOutcome {
    Deleted,
    NotFound,
    /// The client still has tokens and `force` was not set.
    HasTokens(u64),
}

/// An organization and the size of what it holds.
#[derive(Debug, Clone)]
pub struct OrgSummary {
    pub org: Org,
    pub api_keys: u64,
    pub clients: u64,
    pub tokens: u64,
}

/// Connection pool usage, for metrics.
#[derive(Debug, Clone, Copy, Default)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`, for logs and tests.
    fn backend(&self) -> &'static str;
    /// The (sqlx) pool's open and idle connections.
    fn pool_stats(&self) -> PoolStats;
    /// Rows a stream reads per query after its first page
    /// (`Registry::pages`): more saves PostgreSQL a round trip and a new
    /// execution per page, at the cost of memory.
    fn stream_run_rows(&self) -> u32;
    /// Cheap round trip, for health checks.
    async fn ping(&self) -> Result<()>;
    /// Applies pending migrations.
    async fn migrate(&self) -> Result<()>;
    /// Versions of the migrations this build has that the database lacks
    /// (all of them for an empty database), so `serve --no-migrate` can
    /// refuse an unmigrated database with a hint instead of failing later.
    async fn pending_migrations(&self) -> Result<Vec<i64>>;
    /// Returns the stored server key `name`, storing `candidate` first if none
    /// exists yet (so all replicas on one database agree on it).
    async fn server_key(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;

    async fn insert_org(&self, org: &Org) -> Result<()>;
    async fn find_org(&self, id: &OrgId) -> Result<Option<Org>>;
    /// By its unique name (operators name organizations by either).
    async fn find_org_by_name(&self, name: &str) -> Result<Option<Org>>;
    /// Every organization with how many API keys, clients and tokens it
    /// holds, by name (for `admin list-orgs`).
    async fn list_orgs(&self) -> Result<Vec<OrgSummary>>;
    async fn insert_api_key(&self, key: &ApiKey) -> Result<()>;
    /// The organization's API keys, oldest first (for `admin list-keys`).
    async fn list_api_keys(&self, org_id: &OrgId) -> Result<Vec<ApiKey>>;
    /// The key whose non-secret prefix is `prefix` (the caller verifies the hash).
    async fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKey>>;
    async fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<()>;
    /// Marks the organization's key `id` revoked (keeping the first revoke
    /// time); false if the organization has no such key.
    async fn revoke_api_key(&self, org_id: &OrgId, id: &KeyId, at: Timestamp) -> Result<bool>;

    async fn insert_client(&self, client: &Client, secret_hash: Option<&[u8]>) -> Result<()>;
    async fn get_client(&self, org_id: &OrgId, id: &ClientId) -> Result<Option<Client>>;
    /// The organization's clients among `ids`, each once (any order;
    /// unknown ids are left out), in one query per 500 ids: listings name a
    /// page's clients without a query per row.
    async fn get_clients(&self, org_id: &OrgId, ids: &[ClientId]) -> Result<Vec<Client>>;
    /// `expect` (on this and the other conditional writes): write only if
    /// the organization is still at its version when the write's
    /// transaction takes the organization's lock, else
    /// `domain::freshness::stale`, and only if the resource still has its
    /// etag, read inside the write (nothing written either way).
    async fn update_client(
        &self,
        org_id: &OrgId,
        id: &ClientId,
        patch: &ClientPatch,
        now: Timestamp,
        expect: Preconditions,
    ) -> Result<Option<Client>>;
    async fn delete_client(
        &self,
        org_id: &OrgId,
        id: &ClientId,
        force: bool,
        expect: Preconditions,
    ) -> Result<DeleteClientOutcome>;
    async fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>>;
    async fn count_clients(&self, org_id: &OrgId, f: &ClientFilter) -> Result<u64>;

    /// Inserts tokens in one transaction (all or nothing) and marks their
    /// clients as used.
    async fn insert_tokens(&self, rows: &[NewTokenRow]) -> Result<()>;
    /// Loads every batch received, all in one transaction, for `seed`: fast
    /// on an empty table (indexes rebuilt once at the end), nothing left
    /// behind if interrupted. Returns the number of rows loaded.
    async fn bulk_load_tokens(&self, batches: TokenBatches) -> Result<u64>;
    async fn get_token(&self, org_id: &OrgId, id: &TokenId) -> Result<Option<Token>>;
    /// The organization's token whose secret hashes to `secret_hash`, with
    /// the stored hash (the caller compares it in constant time).
    async fn find_token_by_secret(
        &self,
        org_id: &OrgId,
        secret_hash: &[u8],
    ) -> Result<Option<(Token, Vec<u8>)>>;
    async fn update_token(
        &self,
        org_id: &OrgId,
        id: &TokenId,
        patch: &TokenPatch,
        now: Timestamp,
        expect: Preconditions,
    ) -> Result<Option<Token>>;
    /// Sets `revoked_at` unless already set; returns the token as stored.
    async fn revoke_token(
        &self,
        org_id: &OrgId,
        id: &TokenId,
        at: Timestamp,
    ) -> Result<Option<Token>>;
    async fn delete_token(
        &self,
        org_id: &OrgId,
        id: &TokenId,
        expect: Preconditions,
    ) -> Result<bool>;
    /// Ids of every organization, for maintenance jobs that work org by org.
    async fn org_ids(&self) -> Result<Vec<OrgId>>;
    /// Deletes up to `limit` of the organization's tokens that expired or
    /// were revoked before `before` (one short transaction); returns how many.
    async fn sweep_tokens(&self, org_id: &OrgId, before: Timestamp, limit: u32) -> Result<u64>;
    async fn list_tokens(&self, q: &TokenQuery) -> Result<Vec<Token>>;
    async fn count_tokens(&self, org_id: &OrgId, f: &TokenFilter, now: Timestamp) -> Result<u64>;
    /// A page of tokens with the organization's version, such that the
    /// rows show every change up to it (PostgreSQL: one statement, one
    /// snapshot and one round trip for both).
    async fn list_tokens_at(&self, q: &TokenQuery) -> Result<(Version, Vec<Token>)>;

    /// Writes audit events (from the sink), in one transaction.
    async fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<()>;
    /// A page of the organization's audit events, newest first.
    async fn list_audit_events(&self, org_id: &OrgId, q: &AuditQuery) -> Result<Vec<AuditEvent>>;
    /// Deletes up to `limit` audit events older than `before` (any
    /// organization: retention); returns how many.
    async fn trim_audit_events(&self, before: Timestamp, limit: u32) -> Result<u64>;

    /// Bulk actions (`domain::bulk`): how many tokens `s` selects now.
    async fn count_bulk(&self, s: &BulkSelection) -> Result<u64>;
    /// The first `limit` tokens `s` selects, by id (a dry run's sample).
    async fn sample_bulk(&self, s: &BulkSelection, limit: u32) -> Result<Vec<Token>>;
    async fn find_bulk_job(&self, org_id: &OrgId, id: &str) -> Result<Option<BulkJob>>;
    /// Records a confirmed run as job `id` unless it exists; returns the job.
    async fn start_bulk_job(
        &self,
        s: &BulkSelection,
        id: &str,
        matched: u64,
        acted_at: Timestamp,
    ) -> Result<BulkJob>;
    /// Acts on the next `limit` selected tokens in one transaction (with
    /// their change events and the job's progress); returns how many, or
    /// `None` once none is left (the job is then marked finished).
    async fn bulk_batch(
        &self,
        s: &BulkSelection,
        id: &str,
        acted_at: Timestamp,
        limit: u32,
    ) -> Result<Option<u64>>;

    /// The organization's last change version: every change up to it is
    /// committed and visible, every later one will have a higher version.
    /// Read before a listing, it is a version a watch can start from.
    async fn read_version(&self, org_id: &OrgId) -> Result<Version>;
    /// The organization's status window around `at` (see
    /// [`StatusWindow`]): with the version read before it, what lets an
    /// answer that depends on the clock be reused without a recount.
    async fn status_window(&self, org_id: &OrgId, at: Timestamp) -> Result<StatusWindow>;
    /// Hints that an organization's feed moved: sent after this process
    /// commits a change and, on PostgreSQL, when any replica does (LISTEN).
    /// Watchers wait on it instead of polling.
    fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<FeedMoved>;
    /// Waits (briefly) until this process's commits have been announced to
    /// other replicas: PostgreSQL notifies after the commit (`pg_notify.rs`),
    /// so a one-shot command calls this before it exits.
    async fn settle(&self) {}
    /// Keeps the planner's statistics where nothing else does: PostgreSQL
    /// ANALYZEs the tables autovacuum does not keep (it is off) once they
    /// went stale, one replica at a time (`pg_statistics.rs`); returns
    /// their names. SQLite plans without statistics: nothing to do.
    async fn keep_statistics(&self) -> Result<Vec<String>>;
    /// Retention of the change log: raises the organization's floor past
    /// every change committed before `older_than` and every change but the
    /// newest `keep`, deleting up to `limit` dropped changes (one short
    /// transaction; call again until it returns less than `limit`).
    async fn trim_changes(
        &self,
        org_id: &OrgId,
        older_than: Timestamp,
        keep: u64,
        limit: u32,
    ) -> Result<u64>;
    /// Up to `limit` token changes after `after`, in version order, with
    /// the feed's head and floor (see [`ChangePage`]).
    async fn token_changes(
        &self,
        org_id: &OrgId,
        after: Version,
        limit: u32,
    ) -> Result<ChangePage<Token>>;
    /// As [`Store::token_changes`], for clients.
    async fn client_changes(
        &self,
        org_id: &OrgId,
        after: Version,
        limit: u32,
    ) -> Result<ChangePage<Client>>;
}

/// Connections a pool opens at most, unless configured (`--db-max-connections`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// Pool and connection settings shared by both backends.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Opens the store a database URL names: `sqlite:` (file created if missing)
/// or `postgres:`/`postgresql:`. Errors are one line naming the file or the
/// server and the cause, for start-up.
pub async fn connect(url: &str, opts: &StoreOptions) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(Traced::new(
            SqliteStore::connect(url, opts).await?,
        )))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Arc::new(Traced::new(PgStore::connect(url, opts).await?)))
    } else {
        // Only the scheme: the rest may hold a password.
        let scheme: String = url
            .split(':')
            .next()
            .unwrap_or("")
            .chars()
            .take(16)
            .collect();
        anyhow::bail!(
            "--database-url: unknown scheme {scheme:?}; it must start with sqlite: (e.g. sqlite://data/oauth-registry.db) or postgres: (e.g. postgres://user@host:5432/db)"
        )
    }
}

/// The database's own words for an error, without sqlx's wrapping or the
/// server's source-code position.
pub(crate) fn error_text(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => io.to_string(),
        other => other.to_string(),
    }
}
