//! `oauth_registry.v1.StreamTokensResponse`, written by hand instead of
//! generated (build.rs maps the message here with `extern_path`), so that
//! the server can send a page's tokens already in wire form
//! (`convert::encode_tokens`) while clients decode it as before.

use bytes::{Buf, BufMut};
use prost::encoding::{DecodeContext, WireType, int64, message, skip_field, string};

use super::pb;
use crate::domain::Timestamp;
use crate::domain::model::Token;

/// One page of a StreamTokens response. The fields are those of the
/// proto; a page decoded from the wire has its rows in `tokens`.
#[derive(Clone, PartialEq, Default)]
pub struct StreamTokensResponse {
    /// The page.
    pub tokens: Vec<pb::Token>,
    /// Resume token: continue from here with no duplicate and no gap;
    /// empty on the last page.
    pub next_page_token: String,
    /// The organization's change-feed version the listing was read at.
    pub read_version: i64,
    /// Rows already encoded as `tokens` entries (field 1), written ahead
    /// of `tokens`: how the server sends them. Empty once decoded.
    encoded: Vec<u8>,
}

impl StreamTokensResponse {
    /// A page of `tokens`, their statuses as of `now`, encoded here: the
    /// page is encoded where it was read, and no `pb::Token` is built.
    pub fn encoded(
        tokens: &[Token],
        now: Timestamp,
        next_page_token: String,
        read_version: i64,
    ) -> Self {
        // A token is ~290 bytes on the wire (a 1,000-row page is 282 KiB).
        let mut encoded = Vec::with_capacity(tokens.len() * 320);
        super::convert::encode_tokens(1, tokens, now, &mut encoded);
        StreamTokensResponse {
            tokens: Vec::new(),
            next_page_token,
            read_version,
            encoded,
        }
    }
}

impl std::fmt::Debug for StreamTokensResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamTokensResponse")
            .field("tokens", &self.tokens)
            .field("encoded_bytes", &self.encoded.len())
            .field("next_page_token", &self.next_page_token)
            .field("read_version", &self.read_version)
            .finish()
    }
}

impl prost::Message for StreamTokensResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        buf.put_slice(&self.encoded);
        message::encode_repeated(1, &self.tokens, buf);
        if !self.next_page_token.is_empty() {
            string::encode(2, &self.next_page_token, buf);
        }
        if self.read_version != 0 {
            int64::encode(3, &self.read_version, buf);
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), prost::DecodeError> {
        const NAME: &str = "StreamTokensResponse";
        match tag {
            1 => message::merge_repeated(wire_type, &mut self.tokens, buf, ctx).map_err(|mut e| {
                e.push(NAME, "tokens");
                e
            }),
            2 => string::merge(wire_type, &mut self.next_page_token, buf, ctx).map_err(|mut e| {
                e.push(NAME, "next_page_token");
                e
            }),
            3 => int64::merge(wire_type, &mut self.read_version, buf, ctx).map_err(|mut e| {
                e.push(NAME, "read_version");
                e
            }),
            _ => skip_field(wire_type, tag, buf, ctx),
        }
    }

    fn encoded_len(&self) -> usize {
        let mut n = self.encoded.len() + message::encoded_len_repeated(1, &self.tokens);
        if !self.next_page_token.is_empty() {
            n += string::encoded_len(2, &self.next_page_token);
        }
        if self.read_version != 0 {
            n += int64::encoded_len(3, &self.read_version);
        }
        n
    }

    fn clear(&mut self) {
        *self = StreamTokensResponse::default();
    }
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// A page encoded from domain tokens decodes into the `pb::Token`s
    /// `convert::token` makes of them, with its other fields.
    #[test]
    fn an_encoded_page_decodes_as_its_tokens() -> Result<(), prost::DecodeError> {
        let now = Timestamp::from_micros(1_765_000_000_000_000);
        let token = |id: &str, revoked: Option<Timestamp>| Token {
            id: crate::domain::ids::TokenId::from_trusted(id.into()),
            org_id: crate::domain::ids::OrgId::from_trusted("org".into()),
            client_id: None,
            user_id: "user-1".into(),
            audience: String::new(),
            subject: "user-1".into(),
            scopes: vec![crate::domain::oauth::Scope::from_trusted("read".into())],
            name: "n".into(),
            description: String::new(),
            default_role: "view".into(),
            pkce: None,
            redirect_uri: None,
            kind: crate::domain::model::TokenKind::Access,
            secret_prefix: "oat_1234".into(),
            expires_at: Timestamp::from_micros(1_900_000_000_000_000),
            created_at: Timestamp::from_micros(1_700_000_000_000_000),
            updated_at: Timestamp::from_micros(1_700_000_000_123_456),
            revoked_at: revoked,
        };
        let tokens = vec![token("a", None), token("b", Some(now))];
        let page = StreamTokensResponse::encoded(&tokens, now, "next".into(), 42);
        let bytes = page.encode_to_vec();
        assert_eq!(bytes.len(), page.encoded_len());
        let back = StreamTokensResponse::decode(bytes.as_slice())?;
        let expected: Vec<pb::Token> = tokens
            .into_iter()
            .map(|t| super::super::convert::token(t, now))
            .collect();
        assert_eq!(back.tokens, expected);
        assert_eq!(back.next_page_token, "next");
        assert_eq!(back.read_version, 42);
        // A decoded page encodes to the same bytes again.
        assert_eq!(back.encode_to_vec(), bytes);
        Ok(())
    }
}
