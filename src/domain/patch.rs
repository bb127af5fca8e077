//! Field-mask updates, as checked values. `None` leaves a field unchanged.
//! The store applies a patch inside the write transaction that reads the
//! row, so concurrent updates of different fields do not lose each other.

use super::model::{Client, Token};
use super::oauth::{GrantType, RedirectUri, Scope};
use super::time::Timestamp;

/// A patch struct for `$target` with an optional value per updatable field
/// (named as on the target), and `apply`, from one list of fields.
macro_rules! patch {
    ($(#[$doc:meta])* $name:ident for $target:ident { $($field:ident: $ty:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub struct $name {
            $(pub $field: Option<$ty>,)*
        }

        impl $name {
            /// Sets the fields the patch holds; `updated_at` moves strictly
            /// forward (a microsecond past the last write if the clock
            /// disagrees), so every write changes the etag
            /// (`freshness::etag`).
            pub fn apply(&self, target: &mut $target, now: Timestamp) {
                $(if let Some(v) = &self.$field {
                    target.$field = v.clone();
                })*
                target.updated_at = now.max(Timestamp::from_micros(target.updated_at.micros().saturating_add(1)));
            }
        }
    };
}

patch!(
    /// What UpdateToken may change.
    TokenPatch for Token {
        name: String,
        description: String,
        scopes: Vec<Scope>,
        default_role: String,
        audience: String,
        expires_at: Timestamp,
    }
);

patch!(
    /// What UpdateClient may change.
    ClientPatch for Client {
        name: String,
        grant_types: Vec<GrantType>,
        response_types: Vec<String>,
        scopes: Vec<Scope>,
        redirect_uris: Vec<RedirectUri>,
        access_token_duration: i64,
        refresh_token_duration: i64,
    }
);
