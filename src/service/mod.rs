//! The core use cases, shared by every face. A face authenticates the caller
//! (`Registry::authenticate`), translates its parameters into domain types,
//! calls one method here and translates the result back. Rules that do not
//! depend on the wire (scopes, tenancy, cursors, defaults, cross-field checks)
//! live here, once.

mod admin;
mod clients;
mod listing;
mod tokens;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

pub use admin::CreatedKey;
pub use clients::NewClient;
pub use listing::ListRequest;
pub use tokens::NewToken;

use crate::domain::Result;
use crate::domain::cursor::CursorCodec;
use crate::domain::secret;
use crate::store::Store;

/// Name of the cursor-signing key in `server_keys`.
const CURSOR_KEY: &str = "cursor_hmac_v1";

/// Counters the tests and metrics read.
#[derive(Debug, Default)]
pub struct Stats {
    /// Listing queries issued (one per page fetched), to show that a
    /// cancelled stream stops querying.
    pub pages_fetched: AtomicU64,
}

/// The application core: the store plus the cursor codec.
#[derive(Clone)]
pub struct Registry {
    store: Arc<dyn Store>,
    cursors: CursorCodec,
    stats: Arc<Stats>,
}

impl Registry {
    /// Builds the core over a migrated store. The cursor key is read from the
    /// database (created on first start), so it survives restarts and every
    /// replica on the same database signs and accepts the same tokens.
    pub async fn new(store: Arc<dyn Store>) -> Result<Self> {
        let key = store.server_key(CURSOR_KEY, &secret::random_key()).await?;
        Ok(Registry {
            store,
            cursors: CursorCodec::new(key),
            stats: Arc::default(),
        })
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn stats(&self) -> &Arc<Stats> {
        &self.stats
    }
}
