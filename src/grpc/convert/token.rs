//! Tokens: `pb::Token` out; CreateToken and UpdateToken requests in.

use pbjson_types::FieldMask;

use super::{list, mask_paths, opt_id, parse_timestamp, timestamp};
use crate::domain::ids::TokenId;
use crate::domain::model::{ChallengeMethod, Pkce, Token, TokenKind, TokenStatus};
use crate::domain::oauth::{RedirectUri, Scope};
use crate::domain::patch::TokenPatch;
use crate::domain::validate::{self, MAX_DESCRIPTION, MAX_TEXT, Violations};
use crate::domain::{Error, Result, Timestamp};
use crate::grpc::pb;
use crate::service::NewToken;

/// Takes the token by value: listings and streams convert a page they no
/// longer need, so every string moves instead of being copied.
/// StreamTokens writes the same message's bytes directly (`token_wire`).
pub fn token(t: Token, now: Timestamp) -> pb::Token {
    let etag = t.etag();
    let status = status(&t, now) as i32;
    let (code_challenge, method) = match t.pkce {
        None => (String::new(), pb::CodeChallengeMethod::Unspecified),
        Some(p) => (p.challenge, challenge_method(p.method)),
    };
    pb::Token {
        etag,
        id: t.id.into(),
        client_id: t.client_id.map(String::from).unwrap_or_default(),
        user_id: t.user_id,
        audience: t.audience,
        subject: t.subject,
        scopes: t.scopes.into_iter().map(String::from).collect(),
        name: t.name,
        description: t.description,
        default_role: t.default_role,
        code_challenge,
        code_challenge_method: method as i32,
        redirect_uri: t.redirect_uri.map(String::from).unwrap_or_default(),
        kind: kind(t.kind) as i32,
        status,
        secret_prefix: t.secret_prefix,
        expire_time: Some(timestamp(t.expires_at)),
        create_time: Some(timestamp(t.created_at)),
        update_time: Some(timestamp(t.updated_at)),
        revoke_time: t.revoked_at.map(timestamp),
    }
}

/// A token's status as of `now`, as the API names it.
pub(super) fn status(t: &Token, now: Timestamp) -> pb::TokenStatus {
    match t.status(now) {
        TokenStatus::Active => pb::TokenStatus::Active,
        TokenStatus::Expired => pb::TokenStatus::Expired,
        TokenStatus::Revoked => pb::TokenStatus::Revoked,
    }
}

pub(super) fn challenge_method(m: ChallengeMethod) -> pb::CodeChallengeMethod {
    match m {
        ChallengeMethod::S256 => pb::CodeChallengeMethod::S256,
        ChallengeMethod::Plain => pb::CodeChallengeMethod::Plain,
    }
}

pub(super) fn kind(k: TokenKind) -> pb::TokenKind {
    match k {
        TokenKind::Access => pb::TokenKind::Access,
        TokenKind::Refresh => pb::TokenKind::Refresh,
    }
}

/// A CreateToken request's token. Output-only fields are ignored (AIP-203).
pub fn new_token(t: Option<&pb::Token>) -> Result<NewToken> {
    let Some(t) = t else {
        return Err(Error::invalid("token", "is required"));
    };
    let mut v = Violations::default();
    let user_id = v.check(validate::id("token.user_id", &t.user_id));
    let client_id = opt_id(&mut v, "token.client_id", &t.client_id);
    let scopes = list(&mut v, "token.scopes", &t.scopes, Scope::parse);
    let mut text = |field, value, max| v.check(validate::optional_text(field, value, max));
    let audience = text("token.audience", &t.audience, MAX_TEXT);
    let subject = text("token.subject", &t.subject, MAX_TEXT);
    let name = text("token.name", &t.name, MAX_TEXT);
    let description = text("token.description", &t.description, MAX_DESCRIPTION);
    let default_role = text("token.default_role", &t.default_role, MAX_TEXT);
    let kind = match pb::TokenKind::try_from(t.kind) {
        Ok(pb::TokenKind::Unspecified | pb::TokenKind::Access) => TokenKind::Access,
        Ok(pb::TokenKind::Refresh) => TokenKind::Refresh,
        Err(_) => {
            v.push("token.kind", "unknown token kind");
            TokenKind::Access
        }
    };
    let method = match pb::CodeChallengeMethod::try_from(t.code_challenge_method) {
        Ok(pb::CodeChallengeMethod::Unspecified) => None,
        Ok(pb::CodeChallengeMethod::S256) => Some(ChallengeMethod::S256),
        Ok(pb::CodeChallengeMethod::Plain) => Some(ChallengeMethod::Plain),
        Err(_) => {
            v.push(
                "token.code_challenge_method",
                "unknown method; use S256 or PLAIN",
            );
            None
        }
    };
    let pkce = match (t.code_challenge.is_empty(), method) {
        (true, None) => None,
        (false, None) => {
            v.push(
                "token.code_challenge_method",
                "is required with a code_challenge",
            );
            None
        }
        (true, Some(_)) => {
            v.push(
                "token.code_challenge",
                "is required with a code_challenge_method",
            );
            None
        }
        (false, Some(m)) => v
            .check(validate::pkce("token.code_challenge", &t.code_challenge, m))
            .map(|()| Pkce {
                challenge: t.code_challenge.clone(),
                method: m,
            }),
    };
    let redirect_uri = if t.redirect_uri.is_empty() {
        None
    } else {
        v.check(RedirectUri::parse("token.redirect_uri", &t.redirect_uri))
    };
    let expires_at = t
        .expire_time
        .as_ref()
        .and_then(|e| v.check(parse_timestamp("token.expire_time", e)));
    v.finish()?;
    Ok(NewToken {
        client_id,
        user_id: user_id.unwrap_or_default(),
        audience: audience.unwrap_or_default(),
        subject: subject.filter(|s| !s.is_empty()),
        scopes,
        name: name.unwrap_or_default(),
        description: description.unwrap_or_default(),
        default_role: default_role.unwrap_or_default(),
        kind,
        pkce,
        redirect_uri,
        expires_at,
    })
}

pub const TOKEN_UPDATABLE: [&str; 6] = [
    "name",
    "description",
    "scopes",
    "default_role",
    "audience",
    "expire_time",
];

/// An UpdateToken request: the id and the checked patch.
pub fn token_patch(
    t: Option<&pb::Token>,
    mask: Option<&FieldMask>,
) -> Result<(TokenId, TokenPatch)> {
    let Some(t) = t else {
        return Err(Error::invalid("token", "is required"));
    };
    let id = validate::id("token.id", &t.id)?;
    let paths = mask_paths(mask, &TOKEN_UPDATABLE, |p| match p {
        "name" => !t.name.is_empty(),
        "description" => !t.description.is_empty(),
        "scopes" => !t.scopes.is_empty(),
        "default_role" => !t.default_role.is_empty(),
        "audience" => !t.audience.is_empty(),
        "expire_time" => t.expire_time.is_some(),
        _ => false,
    })?;
    let mut v = Violations::default();
    let mut patch = TokenPatch::default();
    for p in &paths {
        match p.as_str() {
            "name" => {
                patch.name = v.check(validate::optional_text("token.name", &t.name, MAX_TEXT))
            }
            "description" => {
                patch.description = v.check(validate::optional_text(
                    "token.description",
                    &t.description,
                    MAX_DESCRIPTION,
                ))
            }
            "scopes" => patch.scopes = Some(list(&mut v, "token.scopes", &t.scopes, Scope::parse)),
            "default_role" => {
                patch.default_role = v.check(validate::optional_text(
                    "token.default_role",
                    &t.default_role,
                    MAX_TEXT,
                ))
            }
            "audience" => {
                patch.audience = v.check(validate::optional_text(
                    "token.audience",
                    &t.audience,
                    MAX_TEXT,
                ))
            }
            "expire_time" => match &t.expire_time {
                Some(e) => patch.expires_at = v.check(parse_timestamp("token.expire_time", e)),
                None => v.push("token.expire_time", "is required when named in update_mask"),
            },
            _ => {}
        }
    }
    if paths.is_empty() {
        v.push("update_mask", "names no field to update");
    }
    v.finish()?;
    Ok((id, patch))
}
