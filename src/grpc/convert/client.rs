//! Clients: `pb::Client` out; CreateClient and UpdateClient requests in.

use pbjson_types::{Duration, FieldMask};

use super::{list, mask_paths, parse_duration, timestamp};
use crate::domain::ids::ClientId;
use crate::domain::model::Client;
use crate::domain::oauth::{GrantType, RedirectUri, Scope, strings};
use crate::domain::patch::ClientPatch;
use crate::domain::validate::{self, Violations};
use crate::domain::{Error, Result};
use crate::grpc::pb;
use crate::service::NewClient;

pub fn client(c: &Client) -> pb::Client {
    pb::Client {
        client_id: c.id.to_string(),
        client_name: c.name.clone(),
        grant_types: strings(&c.grant_types),
        response_types: c.response_types.clone(),
        scopes: strings(&c.scopes),
        redirect_uris: strings(&c.redirect_uris),
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
        etag: c.etag(),
    }
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
        GrantType::parse,
    );
    let response_types = list(
        &mut v,
        "client.response_types",
        &c.response_types,
        validate::response_type,
    );
    let scopes = list(&mut v, "client.scopes", &c.scopes, Scope::parse);
    let redirect_uris = list(
        &mut v,
        "client.redirect_uris",
        &c.redirect_uris,
        RedirectUri::parse,
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
) -> Result<(ClientId, ClientPatch)> {
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
                    GrantType::parse,
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
            "scopes" => patch.scopes = Some(list(&mut v, "client.scopes", &c.scopes, Scope::parse)),
            "redirect_uris" => {
                patch.redirect_uris = Some(list(
                    &mut v,
                    "client.redirect_uris",
                    &c.redirect_uris,
                    RedirectUri::parse,
                ))
            }
            "access_token_duration" => {
                patch.access_token_duration = named_duration(
                    &mut v,
                    "client.access_token_duration",
                    &c.access_token_duration,
                )
            }
            "refresh_token_duration" => {
                patch.refresh_token_duration = named_duration(
                    &mut v,
                    "client.refresh_token_duration",
                    &c.refresh_token_duration,
                )
            }
            _ => {}
        }
    }
    if paths.is_empty() {
        v.push("update_mask", "names no field to update");
    }
    v.finish()?;
    Ok((id, patch))
}

/// A duration an update mask names: it must be sent, and valid.
fn named_duration(v: &mut Violations, field: &str, d: &Option<Duration>) -> Option<i64> {
    match d {
        Some(d) => v.check(parse_duration(field, d)),
        None => {
            v.push(field, "is required when named in update_mask");
            None
        }
    }
}
