//! Translation between protobuf messages and domain values: parameters in
//! (parsed and checked, field paths as the request spells them), results out.

use prost_types::{Duration, FieldMask, Timestamp as PbTimestamp};

use super::pb;
use crate::domain::model::{ChallengeMethod, Client, Pkce, Token, TokenKind, TokenStatus};
use crate::domain::patch::{ClientPatch, TokenPatch};
use crate::domain::query::{PageBounds, PageRequest, PageSize, PageStart};
use crate::domain::validate::{self, MAX_DESCRIPTION, MAX_TEXT, Violations};
use crate::domain::{Error, Result, Timestamp};
use crate::service::{NewClient, NewToken};

/// Longest accepted client lifetime setting: ten years.
const MAX_DURATION_SECS: i64 = 10 * 365 * 86_400;

pub fn timestamp(t: Timestamp) -> PbTimestamp {
    PbTimestamp {
        seconds: t.seconds(),
        nanos: t.subsec_nanos(),
    }
}

fn parse_timestamp(field: &str, t: &PbTimestamp) -> Result<Timestamp> {
    Timestamp::from_parts(t.seconds, t.nanos)
        .filter(|t| t.micros() > 0)
        .ok_or_else(|| Error::invalid(field, "is not a valid timestamp"))
}

fn parse_duration(field: &str, d: &Duration) -> Result<i64> {
    if d.nanos != 0 || d.seconds <= 0 || d.seconds > MAX_DURATION_SECS {
        return Err(Error::invalid(
            field,
            format!("must be a whole number of seconds between 1 and {MAX_DURATION_SECS}"),
        ));
    }
    Ok(d.seconds)
}

/// The page request of a List call: AIP-158 size plus one start mode.
pub fn page_request(
    bounds: PageBounds,
    page_size: i32,
    page_token: &str,
    skip: i32,
    page_number: i32,
) -> Result<PageRequest> {
    let size = PageSize::aip("page_size", i64::from(page_size), bounds)?;
    let start = PageStart::from_fields(page_token, i64::from(skip), i64::from(page_number), size)?;
    Ok(PageRequest { size, start })
}

pub fn token(t: &Token, now: Timestamp) -> pb::Token {
    pb::Token {
        id: t.id.clone(),
        client_id: t.client_id.clone().unwrap_or_default(),
        user_id: t.user_id.clone(),
        audience: t.audience.clone(),
        subject: t.subject.clone(),
        scopes: t.scopes.clone(),
        name: t.name.clone(),
        description: t.description.clone(),
        default_role: t.default_role.clone(),
        code_challenge: t
            .pkce
            .as_ref()
            .map(|p| p.challenge.clone())
            .unwrap_or_default(),
        code_challenge_method: match t.pkce.as_ref().map(|p| p.method) {
            None => pb::CodeChallengeMethod::Unspecified,
            Some(ChallengeMethod::S256) => pb::CodeChallengeMethod::S256,
            Some(ChallengeMethod::Plain) => pb::CodeChallengeMethod::Plain,
        } as i32,
        redirect_uri: t.redirect_uri.clone().unwrap_or_default(),
        kind: match t.kind {
            TokenKind::Access => pb::TokenKind::Access,
            TokenKind::Refresh => pb::TokenKind::Refresh,
        } as i32,
        status: match t.status(now) {
            TokenStatus::Active => pb::TokenStatus::Active,
            TokenStatus::Expired => pb::TokenStatus::Expired,
            TokenStatus::Revoked => pb::TokenStatus::Revoked,
        } as i32,
        secret_prefix: t.secret_prefix.clone(),
        expire_time: Some(timestamp(t.expires_at)),
        create_time: Some(timestamp(t.created_at)),
        update_time: Some(timestamp(t.updated_at)),
        revoke_time: t.revoked_at.map(timestamp),
    }
}

pub fn client(c: &Client) -> pb::Client {
    pb::Client {
        client_id: c.id.clone(),
        client_name: c.name.clone(),
        grant_types: c.grant_types.clone(),
        response_types: c.response_types.clone(),
        scopes: c.scopes.clone(),
        redirect_uris: c.redirect_uris.clone(),
        public: c.public,
        access_token_duration: Some(Duration {
            seconds: c.access_token_duration,
            nanos: 0,
        }),
        refresh_token_duration: Some(Duration {
            seconds: c.refresh_token_duration,
            nanos: 0,
        }),
        secret_prefix: c.secret_prefix.clone().unwrap_or_default(),
        create_time: Some(timestamp(c.created_at)),
        update_time: Some(timestamp(c.updated_at)),
        last_use_time: c.last_used.map(timestamp),
    }
}

fn opt_id(v: &mut Violations, field: &str, s: &str) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        v.check(validate::id(field, s))
    }
}

fn list(
    v: &mut Violations,
    field: &str,
    items: &[String],
    f: fn(&str, &str) -> Result<String>,
) -> Vec<String> {
    if items.len() > validate::MAX_LIST {
        v.push(field, format!("at most {} entries", validate::MAX_LIST));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, s) in items.iter().enumerate() {
        if let Some(x) = v.check(f(&format!("{field}[{i}]"), s))
            && !out.contains(&x)
        {
            out.push(x);
        }
    }
    out
}

/// A CreateToken request's token. Output-only fields are ignored (AIP-203).
pub fn new_token(t: Option<&pb::Token>) -> Result<NewToken> {
    let Some(t) = t else {
        return Err(Error::invalid("token", "is required"));
    };
    let mut v = Violations::default();
    let user_id = v.check(validate::id("token.user_id", &t.user_id));
    let client_id = opt_id(&mut v, "token.client_id", &t.client_id);
    let scopes = list(&mut v, "token.scopes", &t.scopes, validate::scope_token);
    let audience = v.check(validate::optional_text(
        "token.audience",
        &t.audience,
        MAX_TEXT,
    ));
    let subject = v.check(validate::optional_text(
        "token.subject",
        &t.subject,
        MAX_TEXT,
    ));
    let name = v.check(validate::optional_text("token.name", &t.name, MAX_TEXT));
    let description = v.check(validate::optional_text(
        "token.description",
        &t.description,
        MAX_DESCRIPTION,
    ));
    let default_role = v.check(validate::optional_text(
        "token.default_role",
        &t.default_role,
        MAX_TEXT,
    ));
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
        v.check(validate::redirect_uri(
            "token.redirect_uri",
            &t.redirect_uri,
        ))
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

/// The paths of an update mask; an empty mask means "the fields that are set".
fn mask_paths(
    mask: Option<&FieldMask>,
    allowed: &[&str],
    set: impl Fn(&str) -> bool,
) -> Result<Vec<String>> {
    let paths: Vec<String> = mask.map(|m| m.paths.clone()).unwrap_or_default();
    if paths.is_empty() {
        return Ok(allowed
            .iter()
            .filter(|p| set(p))
            .map(|p| (*p).to_owned())
            .collect());
    }
    if paths.iter().any(|p| p == "*") {
        return Ok(allowed.iter().map(|p| (*p).to_owned()).collect());
    }
    let mut v = Violations::default();
    for p in &paths {
        if !allowed.contains(&p.as_str()) {
            v.push(
                "update_mask",
                format!("{p:?} cannot be updated; updatable: {}", allowed.join(", ")),
            );
        }
    }
    v.finish()?;
    Ok(paths)
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
) -> Result<(String, TokenPatch)> {
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
            "scopes" => {
                patch.scopes = Some(list(
                    &mut v,
                    "token.scopes",
                    &t.scopes,
                    validate::scope_token,
                ))
            }
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

/// A CreateClient request's client.
pub fn new_client(c: Option<&pb::Client>) -> Result<NewClient> {
    let Some(c) = c else {
        return Err(Error::invalid("client", "is required"));
    };
    let mut v = Violations::default();
    let name = v.check(validate::required_text(
        "client.client_name",
        &c.client_name,
    ));
    let grant_types = list(
        &mut v,
        "client.grant_types",
        &c.grant_types,
        validate::grant_type,
    );
    let response_types = list(
        &mut v,
        "client.response_types",
        &c.response_types,
        validate::response_type,
    );
    let scopes = list(&mut v, "client.scopes", &c.scopes, validate::scope_token);
    let redirect_uris = list(
        &mut v,
        "client.redirect_uris",
        &c.redirect_uris,
        validate::redirect_uri,
    );
    let access = c
        .access_token_duration
        .as_ref()
        .and_then(|d| v.check(parse_duration("client.access_token_duration", d)));
    let refresh = c
        .refresh_token_duration
        .as_ref()
        .and_then(|d| v.check(parse_duration("client.refresh_token_duration", d)));
    let new = NewClient {
        name: name.unwrap_or_default(),
        grant_types,
        response_types,
        scopes,
        redirect_uris,
        public: c.public,
        access_token_duration: access,
        refresh_token_duration: refresh,
    };
    // Per-field failures leave a list empty; don't also blame the rule for it.
    if c.grant_types.len() == new.grant_types.len()
        && c.redirect_uris.len() == new.redirect_uris.len()
    {
        v.check(new.check_rules().map_err(|e| e.prefix_fields("client")));
    }
    v.finish()?;
    Ok(new)
}

pub const CLIENT_UPDATABLE: [&str; 7] = [
    "client_name",
    "grant_types",
    "response_types",
    "scopes",
    "redirect_uris",
    "access_token_duration",
    "refresh_token_duration",
];

/// An UpdateClient request: the id and the checked patch.
pub fn client_patch(
    c: Option<&pb::Client>,
    mask: Option<&FieldMask>,
) -> Result<(String, ClientPatch)> {
    let Some(c) = c else {
        return Err(Error::invalid("client", "is required"));
    };
    let id = validate::id("client.client_id", &c.client_id)?;
    let paths = mask_paths(mask, &CLIENT_UPDATABLE, |p| match p {
        "client_name" => !c.client_name.is_empty(),
        "grant_types" => !c.grant_types.is_empty(),
        "response_types" => !c.response_types.is_empty(),
        "scopes" => !c.scopes.is_empty(),
        "redirect_uris" => !c.redirect_uris.is_empty(),
        "access_token_duration" => c.access_token_duration.is_some(),
        "refresh_token_duration" => c.refresh_token_duration.is_some(),
        _ => false,
    })?;
    let mut v = Violations::default();
    let mut patch = ClientPatch::default();
    for p in &paths {
        match p.as_str() {
            "client_name" => {
                patch.name = v.check(validate::required_text(
                    "client.client_name",
                    &c.client_name,
                ))
            }
            "grant_types" => {
                let g = list(
                    &mut v,
                    "client.grant_types",
                    &c.grant_types,
                    validate::grant_type,
                );
                if g.is_empty() {
                    v.push("client.grant_types", "at least one grant type is required");
                }
                patch.grant_types = Some(g);
            }
            "response_types" => {
                patch.response_types = Some(list(
                    &mut v,
                    "client.response_types",
                    &c.response_types,
                    validate::response_type,
                ))
            }
            "scopes" => {
                patch.scopes = Some(list(
                    &mut v,
                    "client.scopes",
                    &c.scopes,
                    validate::scope_token,
                ))
            }
            "redirect_uris" => {
                patch.redirect_uris = Some(list(
                    &mut v,
                    "client.redirect_uris",
                    &c.redirect_uris,
                    validate::redirect_uri,
                ))
            }
            "access_token_duration" => match &c.access_token_duration {
                Some(d) => {
                    patch.access_token_duration =
                        v.check(parse_duration("client.access_token_duration", d))
                }
                None => v.push(
                    "client.access_token_duration",
                    "is required when named in update_mask",
                ),
            },
            "refresh_token_duration" => match &c.refresh_token_duration {
                Some(d) => {
                    patch.refresh_token_duration =
                        v.check(parse_duration("client.refresh_token_duration", d))
                }
                None => v.push(
                    "client.refresh_token_duration",
                    "is required when named in update_mask",
                ),
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
