//! Validators, once for every face: a short text that is the same for two
//! answers to one request exactly when nothing they show can differ (the
//! organization's version, and for answers that show token status the
//! status window), so a face can answer "not modified" after one version
//! read instead of running the listing. The REST faces turn it into an
//! `ETag`; the core knows nothing of HTTP.
//!
//! A validator is `version.window.mac`: the version it was made at, the
//! start of the status window (`-` when the answer does not depend on the
//! clock) and an HMAC (the server key every replica shares) over those,
//! the organization, the caller's identity and the request. The MAC makes
//! validators unforgeable and binds them to one request and caller;
//! carrying the version lets a precondition (`If-Match`) ask only "was
//! anything written since", not "did a token expire since".
//!
//! A precondition holds for the whole write: [`Registry::expecting`] makes
//! every token or client write of one call conditional on the version,
//! checked inside the write's transaction under the organization's lock.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use quick_cache::sync::Cache;
use subtle::ConstantTimeEq;

use super::Registry;
use crate::domain::Result;
use crate::domain::Timestamp;
use crate::domain::auth::{Caller, Permission};
use crate::domain::change::Version;
use crate::domain::freshness::{Preconditions, StatusWindow};
use crate::domain::ids::OrgId;

/// Organizations whose status window is kept, one entry each (a miss costs
/// one query of four index probes).
const WINDOWS: usize = 4096;

/// The latest status window read per organization, with the version it
/// was read at.
pub(super) type Windows = Arc<Cache<OrgId, (Version, StatusWindow)>>;

pub(super) fn windows() -> Windows {
    Arc::new(Cache::new(WINDOWS))
}

tokio::task_local! {
    /// The precondition of the current call's writes ([`Registry::expecting`]).
    static EXPECTED: Arc<Expected>;
}

struct Expected {
    version: Version,
    /// Set when a write was refused because the version moved.
    refused: AtomicBool,
}

tokio::task_local! {
    /// The AIP-154 etag the current call's write is conditional on
    /// ([`Registry::with_etag`]).
    static ETAG: String;
}

tokio::task_local! {
    /// The version the current call's answer was read at, for a validator
    /// made after the call ([`Registry::observing`]).
    static SEEN: Arc<OnceLock<Seen>>;
}

/// The version a listing or a count read its answer at (the rows show at
/// least it), and the instant whose status it shows.
#[derive(Debug, Clone, Copy)]
pub struct Seen {
    pub version: Version,
    pub at: Timestamp,
}

/// Notes that the current call's answer is read at `version` or later
/// (a listing or a count, before or with its rows); the first note wins.
pub(super) fn note_read(version: Version, at: Timestamp) {
    let _ = SEEN.try_with(|s| s.set(Seen { version, at }));
}

/// What the current call's writes are conditional on: the organization's
/// version ([`Registry::expecting`]) and the resource's etag
/// ([`Registry::with_etag`]), each if any.
pub(super) fn expected() -> Preconditions {
    Preconditions {
        version: EXPECTED.try_with(|e| e.version).ok(),
        etag: ETAG.try_with(Clone::clone).ok(),
    }
}

/// `result`, noting a refusal for a moved version for `expecting`.
pub(super) fn noted<T>(result: Result<T>) -> Result<T> {
    if let Err(e) = &result
        && crate::domain::freshness::is_stale(e)
    {
        let _ = EXPECTED.try_with(|x| x.refused.store(true, Ordering::Relaxed));
    }
    result
}

/// A validator of one answer, made before the answer is computed.
#[derive(Debug, Clone)]
pub struct Validator {
    /// The organization's version it was made at.
    pub version: Version,
    window: Option<StatusWindow>,
    /// The validator's text (`version.window.mac`), for the face to quote.
    pub text: String,
}

impl Validator {
    /// Whether an answer finished at `done` is still the one the validator
    /// names: a status flip between making the validator and finishing the
    /// answer would put the answer in the next window (then the face sends
    /// no validator rather than a wrong one).
    /// A validator made at a watermark (`Version::is_watermark`) covers
    /// nothing: the same watermark does not mean the same answer.
    pub fn covers(&self, done: Timestamp) -> bool {
        self.version.is_exact() && self.window.is_none_or(|w| w.contains(done))
    }
}

impl Registry {
    /// The status window of `org` around `at`, valid at `version` (read
    /// before this call): from memory while the version is the same and
    /// `at` inside the window, otherwise read from the store.
    pub(super) async fn status_window(
        &self,
        org: &OrgId,
        version: Version,
        at: Timestamp,
    ) -> Result<StatusWindow> {
        if let Some((v, w)) = self.windows.get(org)
            && v == version
            && version.is_exact()
            && w.contains(at)
        {
            self.metrics.cache_lookup("status_window", true);
            return Ok(w);
        }
        self.metrics.cache_lookup("status_window", false);
        let w = self.store.status_window(org, at).await?;
        if version.is_exact() {
            self.windows.insert(org.clone(), (version, w));
        }
        Ok(w)
    }

    /// The validator of the answer to `request` (the face's normalized
    /// request: path and query) for `caller`, who must hold `need`.
    /// `clock`: the answer shows or filters by token status. Costs one
    /// version read, and a status window read when the version moved.
    pub async fn validator(
        &self,
        caller: &Caller,
        need: Permission,
        clock: bool,
        request: &str,
    ) -> Result<Validator> {
        caller.require(need)?;
        let version = self.store.read_version(&caller.org_id).await?;
        let seen = Seen {
            version,
            at: Timestamp::now(),
        };
        self.validator_at(caller, need, clock, request, seen).await
    }

    /// The validator of the answer to `request` made by a call that read it
    /// at `seen` ([`Registry::observing`]): made after the call, it costs
    /// the call no version read of its own (a status window read when the
    /// version moved). Safe because the answer shows at least that
    /// version: a validator never names an answer newer than its data.
    pub async fn validator_at(
        &self,
        caller: &Caller,
        need: Permission,
        clock: bool,
        request: &str,
        seen: Seen,
    ) -> Result<Validator> {
        caller.require(need)?;
        let version = seen.version;
        let window = match clock {
            true => Some(self.status_window(&caller.org_id, version, seen.at).await?),
            false => None,
        };
        let start = window.map_or("-".to_owned(), |w| {
            w.from.map_or("0".to_owned(), |f| f.micros().to_string())
        });
        let text = self.validator_text(caller, version, &start, request);
        Ok(Validator {
            version,
            window,
            text,
        })
    }

    /// The version at which this server made `text` as the validator of
    /// `request` for `caller`; `None` for any other text.
    pub fn validator_version(&self, caller: &Caller, request: &str, text: &str) -> Option<Version> {
        let mut parts = text.splitn(3, '.');
        let (v, start) = (parts.next()?, parts.next()?);
        let version = Version(v.parse().ok()?);
        let expected = self.validator_text(caller, version, start, request);
        bool::from(expected.as_bytes().ct_eq(text.as_bytes())).then_some(version)
    }

    /// Runs `call` (one face call) and returns with its output the version
    /// its listing or count was read at, if it read one, for
    /// [`Registry::validator_at`].
    pub async fn observing<F: Future>(&self, call: F) -> (F::Output, Option<Seen>) {
        let seen = Arc::new(OnceLock::new());
        let output = SEEN.scope(seen.clone(), call).await;
        (output, seen.get().copied())
    }

    /// Runs `call` (one face call) with each token or client write in it
    /// made only if the caller's organization is still at `version` when
    /// the write commits (`Store::update_token`'s `expect`); returns its
    /// output and whether a write was refused because the version moved,
    /// for the face to answer in its own words (REST: 412). A scope rather
    /// than a parameter, as the audit record is, so the handlers in
    /// between (and the gRPC service canonical REST transcodes onto) stay
    /// as they are.
    pub async fn expecting<F: Future>(&self, version: Version, call: F) -> (F::Output, bool) {
        let expected = Arc::new(Expected {
            version,
            refused: AtomicBool::new(false),
        });
        let output = EXPECTED.scope(expected.clone(), call).await;
        (output, expected.refused.load(Ordering::Relaxed))
    }

    /// Runs `call` (one face call that writes one token or client) with
    /// that write made only if the resource still has `etag` (AIP-154),
    /// checked inside the write's transaction; a mismatch is
    /// FAILED_PRECONDITION (`freshness::is_stale`). `None` or an empty
    /// etag (proto3's unset string) runs `call` as it is.
    pub async fn with_etag<F: Future>(&self, etag: Option<&str>, call: F) -> F::Output {
        match etag.filter(|e| !e.is_empty()) {
            Some(e) => ETAG.scope(e.to_owned(), call).await,
            None => call.await,
        }
    }

    /// The organization's version now, for a precondition: `caller` must
    /// hold `need` (the write it guards).
    pub async fn current_version(&self, caller: &Caller, need: Permission) -> Result<Version> {
        caller.require(need)?;
        self.store.read_version(&caller.org_id).await
    }

    fn validator_text(
        &self,
        caller: &Caller,
        version: Version,
        start: &str,
        request: &str,
    ) -> String {
        // Answers differ by caller only through the user a key acts as and
        // the superuser flag (Review Board's ownership); scopes only decide
        // whether there is an answer at all.
        let signed = format!(
            "validator\n{}\n{}\n{start}\n{:?}\n{}\n{request}",
            caller.org_id.as_str(),
            version.0,
            caller.user_id,
            caller.superuser,
        );
        format!(
            "{}.{start}.{}",
            version.0,
            self.cursors.tag(signed.as_bytes())
        )
    }
}
