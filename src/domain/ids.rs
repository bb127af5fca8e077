//! Identities as types. A face parses each id once (`TokenId::parse`) and
//! the core and the store take only these types, so an unvalidated string
//! cannot reach SQL and a token id cannot be passed where a client id is
//! meant. `OrgId` has no parser: only authentication (and an operator's
//! lookup by name) mints one, so every tenant-scoped query is scoped by an
//! organization that was proved, not one a request named.

use super::error::{Error, Result};

/// Longest id a client may send; ours are 36-character UUIDs.
const MAX_ID: usize = 64;

/// A validated text value: the string inside is private, so a value of
/// the type can only come from its parser or from `from_trusted` (the
/// store and the core). It reads as a `&str` everywhere else; `Debug`
/// prints the plain string, so filter fingerprints read as they did when
/// these were strings. Shared by the ids here and `oauth`'s values.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Wraps a value the store read back or the core minted:
            /// trusted, not parsed. Faces use `parse`.
            pub(crate) fn from_trusted(s: String) -> Self {
                $name(s)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                self.0 == *other
            }
        }
    };
}
pub(super) use text_type;

/// A resource id as a client sent it: non-empty, at most 64 printable ASCII
/// characters. Ids that cannot exist are refused here with the field's name.
fn parse_id(field: &str, s: &str) -> Result<String> {
    if s.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if s.len() > MAX_ID || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(Error::invalid(field, "is not a valid id"));
    }
    Ok(s.to_owned())
}

/// Ids a request names: parsed at the face, minted fresh on create.
macro_rules! resource_id {
    ($(#[$doc:meta])* $name:ident) => {
        text_type!($(#[$doc])* $name);

        impl $name {
            /// Parses an id a request carries in `field`.
            pub fn parse(field: &str, s: &str) -> Result<Self> {
                parse_id(field, s).map($name)
            }

            /// A new, time-ordered id (UUIDv7), for a row about to be created.
            pub(crate) fn generate() -> Self {
                $name(uuid::Uuid::now_v7().to_string())
            }
        }
    };
}

text_type!(
    /// The organization (tenant) every query is scoped to.
    OrgId
);
resource_id!(
    /// A token's id.
    TokenId
);
resource_id!(
    /// A client's id (`client_id` in OAuth terms).
    ClientId
);
resource_id!(
    /// An API key's id (not its secret, not its prefix).
    KeyId
);

impl OrgId {
    /// A new organization's id, for `admin create-org`.
    pub(crate) fn generate() -> Self {
        OrgId(uuid::Uuid::now_v7().to_string())
    }
}

/// Parses an id of any kind; the caller's type picks which, so a face's
/// `validate::id("id", s)?` becomes whatever the core method takes.
pub trait ParseId: Sized {
    fn parse_id(field: &str, s: &str) -> Result<Self>;
}

macro_rules! parse_id_impl {
    ($($name:ident),*) => {$(
        impl ParseId for $name {
            fn parse_id(field: &str, s: &str) -> Result<Self> {
                $name::parse(field, s)
            }
        }
    )*};
}
parse_id_impl!(TokenId, ClientId, KeyId);

/// Identities of other systems (a token's `user_id`) stay text, under the
/// same rule.
impl ParseId for String {
    fn parse_id(field: &str, s: &str) -> Result<Self> {
        parse_id(field, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_once_with_the_field_named() {
        assert_eq!(TokenId::parse("id", "abc").unwrap(), "abc");
        let e = ClientId::parse("client_id", "").unwrap_err();
        assert!(e.to_string().contains("client_id"), "{e}");
        assert!(TokenId::parse("id", "a b").is_err());
        assert!(TokenId::parse("id", &"x".repeat(65)).is_err());
        assert_eq!(TokenId::generate().len(), 36);
    }
}
