//! [`Traced`]: every database operation of a [`Store`] in its own span
//! (OpenTelemetry kind CLIENT, `db.system`, `db.operation.name`), a child
//! of the request's span, so a trace shows where a call's time went. The
//! span's target is [`TARGET`]: exported, but kept off log lines (whose
//! fields come from the request's span).

use async_trait::async_trait;
use tracing::Instrument;

use super::{DeleteClientOutcome, NewTokenRow, OrgSummary, PoolStats, Store, TokenBatches};
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

/// The tracing target of database spans.
pub const TARGET: &str = "oauth_registry::db";

/// A store whose operations are traced.
pub struct Traced<S> {
    inner: S,
    /// OpenTelemetry's `db.system` value.
    system: &'static str,
}

impl<S: Store> Traced<S> {
    pub fn new(inner: S) -> Self {
        let system = match inner.backend() {
            "postgres" => "postgresql",
            other => other,
        };
        Traced { inner, system }
    }

    fn span(&self, operation: &'static str) -> tracing::Span {
        tracing::info_span!(
            target: TARGET,
            "db",
            otel.name = operation,
            otel.kind = "client",
            db.system = self.system,
            db.operation.name = operation,
        )
    }
}

/// The `Store` impl: the listed methods each run inside a span named after
/// them (the attribute must see the expanded methods, so the macro writes
/// the whole impl).
macro_rules! traced {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        #[async_trait]
        impl<S: Store> Store for Traced<S> {
            fn backend(&self) -> &'static str {
                self.inner.backend()
            }

            fn pool_stats(&self) -> PoolStats {
                self.inner.pool_stats()
            }

            fn stream_run_rows(&self) -> u32 {
                self.inner.stream_run_rows()
            }

            fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<FeedMoved> {
                self.inner.subscribe_changes()
            }

            async fn settle(&self) {
                self.inner.settle().await
            }

            /// Not traced: the health probe pings every second, and a root
            /// span each time would flood the trace backend.
            async fn ping(&self) -> Result<()> {
                self.inner.ping().await
            }

            $(
                async fn $name(&self $(, $arg: $ty)*) -> $ret {
                    self.inner.$name($($arg),*).instrument(self.span(stringify!($name))).await
                }
            )*
        }
    };
}

traced! {
    fn migrate(&self) -> Result<()>;
    fn pending_migrations(&self) -> Result<Vec<i64>>;
    fn server_key(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>>;
    fn insert_org(&self, org: &Org) -> Result<()>;
    fn find_org(&self, id: &OrgId) -> Result<Option<Org>>;
    fn find_org_by_name(&self, name: &str) -> Result<Option<Org>>;
    fn list_orgs(&self) -> Result<Vec<OrgSummary>>;
    fn insert_api_key(&self, key: &ApiKey) -> Result<()>;
    fn list_api_keys(&self, org_id: &OrgId) -> Result<Vec<ApiKey>>;
    fn find_api_key(&self, prefix: &str) -> Result<Option<ApiKey>>;
    fn touch_api_key(&self, id: &KeyId, at: Timestamp) -> Result<()>;
    fn revoke_api_key(&self, org_id: &OrgId, id: &KeyId, at: Timestamp) -> Result<bool>;
    fn insert_client(&self, client: &Client, secret_hash: Option<&[u8]>) -> Result<()>;
    fn get_client(&self, org_id: &OrgId, id: &ClientId) -> Result<Option<Client>>;
    fn get_clients(&self, org_id: &OrgId, ids: &[ClientId]) -> Result<Vec<Client>>;
    fn update_client(&self, org_id: &OrgId, id: &ClientId, patch: &ClientPatch, now: Timestamp, expect: Preconditions) -> Result<Option<Client>>;
    fn delete_client(&self, org_id: &OrgId, id: &ClientId, force: bool, expect: Preconditions) -> Result<DeleteClientOutcome>;
    fn list_clients(&self, q: &ClientQuery) -> Result<Vec<Client>>;
    fn count_clients(&self, org_id: &OrgId, f: &ClientFilter) -> Result<u64>;
    fn insert_tokens(&self, rows: &[NewTokenRow]) -> Result<()>;
    fn bulk_load_tokens(&self, batches: TokenBatches) -> Result<u64>;
    fn get_token(&self, org_id: &OrgId, id: &TokenId) -> Result<Option<Token>>;
    fn find_token_by_secret(&self, org_id: &OrgId, secret_hash: &[u8]) -> Result<Option<(Token, Vec<u8>)>>;
    fn update_token(&self, org_id: &OrgId, id: &TokenId, patch: &TokenPatch, now: Timestamp, expect: Preconditions) -> Result<Option<Token>>;
    fn revoke_token(&self, org_id: &OrgId, id: &TokenId, at: Timestamp) -> Result<Option<Token>>;
    fn delete_token(&self, org_id: &OrgId, id: &TokenId, expect: Preconditions) -> Result<bool>;
    fn org_ids(&self) -> Result<Vec<OrgId>>;
    fn sweep_tokens(&self, org_id: &OrgId, before: Timestamp, limit: u32) -> Result<u64>;
    fn list_tokens(&self, q: &TokenQuery) -> Result<Vec<Token>>;
    fn count_tokens(&self, org_id: &OrgId, f: &TokenFilter, now: Timestamp) -> Result<u64>;
    fn list_tokens_at(&self, q: &TokenQuery) -> Result<(Version, Vec<Token>)>;
    fn insert_audit_events(&self, events: &[AuditEvent]) -> Result<()>;
    fn list_audit_events(&self, org_id: &OrgId, q: &AuditQuery) -> Result<Vec<AuditEvent>>;
    fn trim_audit_events(&self, before: Timestamp, limit: u32) -> Result<u64>;
    fn count_bulk(&self, s: &BulkSelection) -> Result<u64>;
    fn sample_bulk(&self, s: &BulkSelection, limit: u32) -> Result<Vec<Token>>;
    fn find_bulk_job(&self, org_id: &OrgId, id: &str) -> Result<Option<BulkJob>>;
    fn start_bulk_job(&self, s: &BulkSelection, id: &str, matched: u64, acted_at: Timestamp) -> Result<BulkJob>;
    fn bulk_batch(&self, s: &BulkSelection, id: &str, acted_at: Timestamp, limit: u32) -> Result<Option<u64>>;
    fn read_version(&self, org_id: &OrgId) -> Result<Version>;
    fn keep_statistics(&self) -> Result<Vec<String>>;
    fn status_window(&self, org_id: &OrgId, at: Timestamp) -> Result<StatusWindow>;
    fn trim_changes(&self, org_id: &OrgId, older_than: Timestamp, keep: u64, limit: u32) -> Result<u64>;
    fn token_changes(&self, org_id: &OrgId, after: Version, limit: u32) -> Result<ChangePage<Token>>;
    fn client_changes(&self, org_id: &OrgId, after: Version, limit: u32) -> Result<ChangePage<Client>>;
}
