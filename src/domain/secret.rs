//! Secrets: API keys, token secrets and client secrets.
//!
//! Each is 32 random bytes (256 bits) behind a short type tag, e.g.
//! `oat_Zx4...`. Because they are high-entropy, a plain SHA-256 is a sound
//! at-rest hash (no password stretching needed). We keep the hash plus a
//! non-secret prefix (tag + 8 characters) for display and indexed lookup, and
//! compare hashes in constant time.

pub use secrecy::{ExposeSecret, SecretString};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of the stored, displayable prefix, in characters.
pub const PREFIX_LEN: usize = 12;

/// What a secret is for; its tag makes leaked secrets recognisable.
#[derive(Debug, Clone, Copy)]
pub enum SecretKind {
    ApiKey,
    Token,
    Client,
}

impl SecretKind {
    fn tag(self) -> &'static str {
        match self {
            SecretKind::ApiKey => "oak_",
            SecretKind::Token => "oat_",
            SecretKind::Client => "ocs_",
        }
    }
}

/// A freshly generated secret: the plain text (returned once, redacted in
/// `{:?}`) and what is stored.
pub struct NewSecret {
    pub plain: SecretString,
    pub prefix: String,
    pub hash: Vec<u8>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NewSecret({}…)", self.prefix)
    }
}

impl NewSecret {
    pub fn generate(kind: SecretKind) -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let plain = format!("{}{}", kind.tag(), URL_SAFE_NO_PAD.encode(bytes));
        NewSecret {
            prefix: prefix_of(&plain).to_owned(),
            hash: hash(&plain),
            plain: SecretString::from(plain),
        }
    }
}

/// The non-secret lookup prefix of a presented secret (may be shorter when
/// the input is short; such input simply finds nothing).
pub fn prefix_of(secret: &str) -> &str {
    match secret.char_indices().nth(PREFIX_LEN) {
        Some((i, _)) => &secret[..i],
        None => secret,
    }
}

pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Constant-time check of a presented secret against a stored hash.
pub fn verify(presented: &str, stored_hash: &[u8]) -> bool {
    hash(presented).ct_eq(stored_hash).into()
}

/// Random bytes for server keys (the cursor-signing secret).
pub fn random_key() -> Vec<u8> {
    let mut bytes = vec![0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secret_verifies_and_prefix_is_not_the_secret() {
        let s = NewSecret::generate(SecretKind::Token);
        let plain = s.plain.expose_secret();
        assert!(plain.starts_with("oat_") && plain.len() > 40);
        assert!(!format!("{s:?}").contains(plain));
        assert_eq!(s.prefix.len(), PREFIX_LEN);
        assert!(verify(plain, &s.hash));
        assert!(!verify(&s.prefix, &s.hash));
    }
}
