//! A token in protobuf's wire format, written straight from the domain
//! token: the bytes prost writes for `convert::token(t, now)`, without the
//! `pb::Token` in between. StreamTokens sends a million rows in a walk,
//! and per row the `pb::Token` (moving ~15 strings into it, an etag
//! `String`, dropping it after) and prost's encoding (each nested
//! message's length computed twice, a capacity check per byte of every
//! tag and length) cost about a quarter of the server's instructions
//! (docs/streams.md). Unary listings keep `pb::Token`.
//!
//! Equal to prost's encoding byte for byte: the tests compare the two on
//! random tokens. Fields go in field-number order, proto3 defaults (empty
//! strings, zero enums, zero seconds and nanos) are left out, every element
//! of a repeated string is written, a present timestamp is written even
//! when empty, and negative numbers are 10-byte varints.

use super::token::{challenge_method, kind, status};
use crate::domain::Timestamp;
use crate::domain::freshness::Etag;
use crate::domain::model::Token;

/// Appends `tokens` as entries of field `field` (`repeated Token`), the
/// statuses as of `now`.
pub fn encode_tokens(field: u32, tokens: &[Token], now: Timestamp, out: &mut Vec<u8>) {
    for t in tokens {
        let row = Row::of(t, now);
        let mut len = Len(0);
        row.write(&mut len);
        out.reserve(len.0 + 2 * MAX_VARINT);
        out.varint(key(field, LEN));
        out.varint(len.0 as u64);
        row.write(out);
    }
}

/// A varint is at most 10 bytes.
const MAX_VARINT: usize = 10;
const VARINT: u32 = 0;
const LEN: u32 = 2;

fn key(field: u32, wire_type: u32) -> u64 {
    u64::from(field << 3 | wire_type)
}

/// Where the fields go: a byte count (to write a message's length before
/// it) or the bytes themselves; one `write` serves both, so the length is
/// always that of what is written.
trait Sink {
    fn bytes(&mut self, b: &[u8]);
    fn varint(&mut self, v: u64);
}

struct Len(usize);

impl Sink for Len {
    fn bytes(&mut self, b: &[u8]) {
        self.0 += b.len();
    }
    fn varint(&mut self, v: u64) {
        self.0 += prost::encoding::encoded_len_varint(v);
    }
}

impl Sink for Vec<u8> {
    fn bytes(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.push(v as u8 | 0x80);
            v >>= 7;
        }
        self.push(v as u8);
    }
}

/// One token's derived values, computed once for both passes.
struct Row<'a> {
    t: &'a Token,
    status: i32,
    etag: Etag,
}

impl<'a> Row<'a> {
    fn of(t: &'a Token, now: Timestamp) -> Self {
        Row {
            t,
            status: status(t, now) as i32,
            etag: Etag::of(t.updated_at, t.revoked_at.is_some()),
        }
    }

    /// The fields of `oauth_registry.v1.Token`, in field-number order.
    fn write(&self, s: &mut impl Sink) {
        let t = self.t;
        string(s, 1, t.id.as_str());
        string(s, 2, t.client_id.as_ref().map_or("", |c| c.as_str()));
        string(s, 3, &t.user_id);
        string(s, 4, &t.audience);
        string(s, 5, &t.subject);
        for scope in &t.scopes {
            s.varint(key(6, LEN));
            s.varint(scope.len() as u64);
            s.bytes(scope.as_bytes());
        }
        string(s, 7, &t.name);
        string(s, 8, &t.description);
        string(s, 9, &t.default_role);
        let pkce = t.pkce.as_ref();
        string(s, 10, pkce.map_or("", |p| p.challenge.as_str()));
        number(s, 11, pkce.map_or(0, |p| challenge_method(p.method) as i32));
        string(s, 12, t.redirect_uri.as_ref().map_or("", |u| u.as_str()));
        number(s, 13, kind(t.kind) as i32);
        number(s, 14, self.status);
        string(s, 15, &t.secret_prefix);
        timestamp(s, 16, Some(t.expires_at));
        timestamp(s, 17, Some(t.created_at));
        timestamp(s, 18, Some(t.updated_at));
        timestamp(s, 19, t.revoked_at);
        bytes(s, 20, self.etag.as_bytes());
    }
}

/// A `string` field: left out when empty.
fn string(s: &mut impl Sink, field: u32, v: &str) {
    bytes(s, field, v.as_bytes());
}

/// A `string` field's UTF-8 bytes: left out when empty.
fn bytes(s: &mut impl Sink, field: u32, v: &[u8]) {
    if !v.is_empty() {
        s.varint(key(field, LEN));
        s.varint(v.len() as u64);
        s.bytes(v);
    }
}

/// An `int32`, `int64` or enum field: left out when zero; a negative
/// value is sign-extended to 64 bits, as protobuf has it.
fn number(s: &mut impl Sink, field: u32, v: impl Into<i64>) {
    let v = v.into();
    if v != 0 {
        s.varint(key(field, VARINT));
        s.varint(v as u64);
    }
}

/// A `google.protobuf.Timestamp` field: written when present, even empty.
fn timestamp(s: &mut impl Sink, field: u32, t: Option<Timestamp>) {
    let Some(t) = t else { return };
    let (seconds, nanos) = (t.seconds(), t.subsec_nanos());
    let mut len = Len(0);
    number(&mut len, 1, seconds);
    number(&mut len, 2, nanos);
    s.varint(key(field, LEN));
    s.varint(len.0 as u64);
    number(s, 1, seconds);
    number(s, 2, nanos);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::*;
    use crate::domain::ids::{ClientId, OrgId, TokenId};
    use crate::domain::model::{ChallengeMethod, Pkce, TokenKind};
    use crate::domain::oauth::{RedirectUri, Scope};
    use crate::grpc::pb;

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            "[a-z0-9é\u{1F600}:/._-]{1,40}",
            "x{120,200}"
        ]
    }

    /// Microseconds from before 1970 to past 9999, with and without a
    /// fraction of a second.
    fn micros() -> impl Strategy<Value = Timestamp> {
        prop_oneof![
            Just(0i64),
            -100_000_000_000_000i64..300_000_000_000_000_000,
            (0i64..400_000_000_000).prop_map(|s| s * 1_000_000),
        ]
        .prop_map(Timestamp::from_micros)
    }

    prop_compose! {
        fn token()(
            (id, client, user_id, audience, subject) in (text(), proptest::option::of(text()), text(), text(), text()),
            (scopes, name, description, default_role) in (prop::collection::vec(text(), 0..4), text(), text(), text()),
            (pkce, redirect, refresh, secret_prefix) in (proptest::option::of((text(), any::<bool>())), proptest::option::of(text()), any::<bool>(), text()),
            (expires_at, created_at, updated_at, revoked_at) in (micros(), micros(), micros(), proptest::option::of(micros())),
        ) -> Token {
            Token {
                id: TokenId::from_trusted(id),
                org_id: OrgId::from_trusted("org".into()),
                client_id: client.map(ClientId::from_trusted),
                user_id,
                audience,
                subject,
                scopes: scopes.into_iter().map(Scope::from_trusted).collect(),
                name,
                description,
                default_role,
                pkce: pkce.map(|(challenge, s256)| Pkce {
                    challenge,
                    method: if s256 { ChallengeMethod::S256 } else { ChallengeMethod::Plain },
                }),
                redirect_uri: redirect.map(RedirectUri::from_trusted),
                kind: if refresh { TokenKind::Refresh } else { TokenKind::Access },
                secret_prefix,
                expires_at,
                created_at,
                updated_at,
                revoked_at,
            }
        }
    }

    proptest! {
        /// The same bytes prost writes for the same page of `pb::Token`s.
        #[test]
        fn tokens_encode_as_prost_encodes_them(
            tokens in prop::collection::vec(token(), 0..4),
            now in micros(),
        ) {
            let mut ours = Vec::new();
            encode_tokens(1, &tokens, now, &mut ours);
            let theirs = pb::ListTokensResponse {
                tokens: tokens.iter().map(|t| super::super::token(t.clone(), now)).collect(),
                ..Default::default()
            }
            .encode_to_vec();
            prop_assert_eq!(ours, theirs);
        }
    }
}
