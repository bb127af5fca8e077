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
}

/// What a valid token says: where to continue, and as of when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub position: Position,
    pub now: Timestamp,
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
        };
        let mut bytes = serde_json::to_vec(&payload).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&bytes);
        bytes.extend_from_slice(&mac.finalize().into_bytes()[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
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
        if token.len() > MAX_TOKEN_LEN {
            return Err(bad("page token is too long"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| bad("page token is malformed"))?;
        if bytes.len() <= MAC_LEN {
            return Err(bad("page token is malformed"));
        }
        let (body, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        let mut mac = self.mac();
        mac.update(body);
        mac.verify_truncated_left(tag)
            .map_err(|_| bad("page token is invalid or was tampered with"))?;
        let p: Payload =
            serde_json::from_slice(body).map_err(|_| bad("page token is malformed"))?;
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
