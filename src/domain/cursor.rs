//! Page tokens: opaque, URL-safe, HMAC-SHA256-signed keyset positions.
//!
//! A token carries the last row's sort key and id, the instant status was
//! evaluated at, the organization, and a hash of the filter and sort it was
//! made with. The server checks the signature (constant time) before reading
//! anything, then checks the binding, so a token can neither be forged nor
//! reused with other parameters or by another organization. Its contents only
//! ever become bound SQL parameters.
//!
//! Layout: `base64url(json || mac[..MAC_LEN])`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::change::Version;
use super::error::{Error, Result};
use super::query::{Position, SortValue};
use super::time::Timestamp;

const MAC_LEN: usize = 16;
/// Tokens longer than this are rejected before decoding anything.
pub const MAX_TOKEN_LEN: usize = 2048;

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Format version.
    v: u8,
    /// Organization id.
    o: String,
    /// Hash of the query's filter and sort (hex, 16 bytes).
    q: String,
    /// Sort key of the last row (null when sorted by id).
    k: Option<SortValue>,
    /// Id of the last row.
    i: String,
    /// Status evaluation instant (µs).
    n: i64,
    /// The walk's change-feed version (its first page's `read_version`).
    #[serde(default)]
    w: i64,
}

/// What a valid token says: where to continue, and as of when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub position: Position,
    pub now: Timestamp,
    /// The change-feed version the walk started at, reported on every page.
    pub read_version: Version,
}

/// Signs and verifies page tokens with the server secret.
#[derive(Clone)]
pub struct CursorCodec {
    key: Vec<u8>,
}

impl std::fmt::Debug for CursorCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorCodec(..)")
    }
}

/// The binding of a token: the query it belongs to, hashed.
pub fn query_fingerprint(kind: &str, canonical_filter: &str, sort: &str) -> String {
    let digest = Sha256::digest(format!("{kind}\n{canonical_filter}\n{sort}").as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

impl CursorCodec {
    pub fn new(key: Vec<u8>) -> Self {
        Self { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    pub fn encode(&self, org_id: &str, fingerprint: &str, cursor: &Cursor) -> String {
        let payload = Payload {
            v: 1,
            o: org_id.to_owned(),
            q: fingerprint.to_owned(),
            k: cursor.position.key.clone(),
            i: cursor.position.id.clone(),
            n: cursor.now.micros(),
            w: cursor.read_version.0,
        };
        self.seal(serde_json::to_vec(&payload).unwrap_or_default())
    }

    /// `bytes` with a truncated HMAC appended, base64url: an opaque token
    /// only this server's key can have made.
    pub fn seal(&self, mut bytes: Vec<u8>) -> String {
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A truncated HMAC of `bytes`, base64url: a short text only this
    /// server's key can have made (validators, `service::freshness`).
    pub fn tag(&self, bytes: &[u8]) -> String {
        let mut mac = self.mac();
        mac.update(bytes);
        URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..MAC_LEN])
    }

    /// The bytes [`CursorCodec::seal`] sealed into `token`, once its MAC is
    /// verified (constant time); `what` names the token in errors.
    pub fn open(&self, field: &str, what: &str, token: &str) -> Result<Vec<u8>> {
        let bad = |why: &str| Error::invalid(field, format!("{what} {why}"));
        if token.len() > MAX_TOKEN_LEN {
            return Err(bad("is too long"));
        }
        let mut bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| bad("is malformed"))?;
        if bytes.len() <= MAC_LEN {
            return Err(bad("is malformed"));
        }
        let tag = bytes.split_off(bytes.len() - MAC_LEN);
        let mut mac = self.mac();
        mac.update(&bytes);
        mac.verify_truncated_left(&tag)
            .map_err(|_| bad("is invalid or was tampered with"))?;
        Ok(bytes)
    }

    /// Verifies and opens `token`; `field` names the request field in errors.
    pub fn decode(
        &self,
        field: &str,
        token: &str,
        org_id: &str,
        fingerprint: &str,
    ) -> Result<Cursor> {
        let bad = |why: &str| Error::invalid(field, why.to_owned());
        let body = self.open(field, "page token", token)?;
        let p: Payload =
            serde_json::from_slice(&body).map_err(|_| bad("page token is malformed"))?;
        if p.v != 1 {
            return Err(bad("page token has an unsupported version"));
        }
        // One message for both mismatches: a token from another organization
        // must not reveal that it is one.
        if p.o != org_id || p.q != fingerprint {
            return Err(bad(
                "page token does not belong to this query (filter, order or caller changed)",
            ));
        }
        Ok(Cursor {
            position: Position { key: p.k, id: p.i },
            now: Timestamp::from_micros(p.n),
            read_version: Version(p.w),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Cursor {
        Cursor {
            position: Position {
                key: Some(SortValue::Text("a'; DROP TABLE tokens; --".into())),
                id: "0190".into(),
            },
            now: Timestamp::from_micros(42),
            read_version: Version(7),
        }
    }

    #[test]
    fn round_trip_and_binding() {
        let c = CursorCodec::new(b"k".to_vec());
        let t = c.encode("org1", "fp", &sample());
        assert!(
            t.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        );
        assert_eq!(c.decode("page_token", &t, "org1", "fp").unwrap(), sample());
        assert!(c.decode("page_token", &t, "org2", "fp").is_err());
        assert!(c.decode("page_token", &t, "org1", "other").is_err());
        assert!(
            CursorCodec::new(b"x".to_vec())
                .decode("page_token", &t, "org1", "fp")
                .is_err()
        );
    }

    #[test]
    fn every_single_byte_change_is_rejected() {
        let c = CursorCodec::new(b"k".to_vec());
        let t = c.encode("org1", "fp", &sample());
        let raw = URL_SAFE_NO_PAD.decode(&t).unwrap();
        for i in 0..raw.len() {
            let mut m = raw.clone();
            m[i] ^= 0x01;
            let forged = URL_SAFE_NO_PAD.encode(&m);
            assert!(
                c.decode("page_token", &forged, "org1", "fp").is_err(),
                "byte {i}"
            );
        }
        assert!(
            c.decode("page_token", &t[..t.len() - 3], "org1", "fp")
                .is_err()
        );
        assert!(c.decode("page_token", "!!", "org1", "fp").is_err());
    }
}
