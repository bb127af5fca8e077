//! The Review Board resources: the caller and its local site, ownership,
//! links, the JSON bodies and the item routes (errors are in `fail`).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::header::{CONTENT_TYPE, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::body::{ITEM_TYPE, One, item, respond};
pub(super) use super::fail::Fail;
use crate::domain::auth::{Caller, Permission};
use crate::domain::error::FieldViolation;
use crate::domain::ids::ClientId;
use crate::domain::model::Token;
use crate::domain::oauth::Scope;
use crate::domain::patch::TokenPatch;
use crate::domain::{Error, validate};
use crate::rest::auth::Authenticated;
use crate::rest::params;
use crate::service::Registry;

/// `http(s)://host` of the request, for absolute hrefs.
pub(super) fn origin(headers: &HeaderMap) -> String {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{scheme}://{host}")
}

/// The caller of a Review Board route: authenticated, on its own local
/// site (`/s/{local_site}/...`, 113 otherwise), and holding the scope the
/// method needs (112 otherwise): `tokens:read` to GET, `tokens:write` to
/// change.
pub(super) struct SiteCaller {
    pub caller: Caller,
    pub site: Option<String>,
}

impl FromRequestParts<Registry> for SiteCaller {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut Parts, registry: &Registry) -> Result<Self, Fail> {
        let Authenticated { caller, .. } =
            Authenticated::<Fail>::from_request_parts(parts, registry).await?;
        // A site name that does not decode names no site of the caller's.
        let Path(mut params) = Path::<HashMap<String, String>>::from_request_parts(parts, registry)
            .await
            .map_err(|_| Fail::new(113))?;
        let site = params.remove("local_site");
        if let Some(site) = &site {
            let org = registry.find_org(site).await.map_err(|_| Fail::new(113))?;
            if org.id != caller.org_id {
                return Err(Fail::new(113));
            }
        }
        let needs = match parts.method {
            Method::GET | Method::HEAD => Permission::TokensRead,
            _ => Permission::TokensWrite,
        };
        if !caller.has(needs) {
            return Err(Fail::new(112));
        }
        Ok(SiteCaller { caller, site })
    }
}

/// Only a token's owner or a superuser may see or change it.
pub(super) fn owner_filter(caller: &Caller) -> Result<Option<String>, Fail> {
    if caller.superuser {
        Ok(None)
    } else {
        caller.user_id.clone().map(Some).ok_or(Fail::new(101))
    }
}

/// The names of the tokens' clients, looked up in one query.
pub(super) async fn application_names(
    registry: &Registry,
    caller: &Caller,
    tokens: &[Token],
) -> HashMap<ClientId, String> {
    let mut ids: Vec<ClientId> = tokens.iter().filter_map(|t| t.client_id.clone()).collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return HashMap::new();
    }
    registry
        .clients_of_tokens(caller, &ids)
        .await
        .unwrap_or_default()
        .into_iter()
        .map(|c| (c.id, c.name))
        .collect()
}

/// A token's `application`: its client's name, `""` without a client.
pub(super) fn application_of<'a>(names: &'a HashMap<ClientId, String>, t: &Token) -> &'a str {
    t.client_id
        .as_ref()
        .and_then(|c| names.get(c))
        .map_or("", String::as_str)
}

pub(super) fn site_prefix(site: Option<&str>) -> String {
    site.map(|s| format!("/s/{s}")).unwrap_or_default()
}

/// The token `id` if the caller may see it (owner or superuser).
async fn visible(registry: &Registry, caller: &Caller, id: &str) -> Result<Token, Fail> {
    let id = validate::id("id", id).map_err(|_| Fail::new(100))?;
    let t = registry.get_token(caller, &id).await?;
    if !caller.superuser && caller.user_id.as_deref() != Some(t.user_id.as_str()) {
        return Err(Fail::new(101));
    }
    Ok(t)
}

async fn one(
    registry: &Registry,
    headers: &HeaderMap,
    site: Option<&str>,
    token: &Token,
    caller: &Caller,
) -> Result<Response, Fail> {
    let items_url = format!("{}{}/api/oauth-tokens/", origin(headers), site_prefix(site));
    let names = application_names(registry, caller, std::slice::from_ref(token)).await;
    let app = application_of(&names, token);
    let body = One {
        oauth_token: item(token, app, &items_url),
        stat: "ok",
    };
    respond(ITEM_TYPE, &body)
}

pub(super) async fn get_item(
    SiteCaller { caller, site }: SiteCaller,
    registry: Registry,
    headers: HeaderMap,
    id: String,
) -> Result<Response, Fail> {
    let t = visible(&registry, &caller, &id).await?;
    one(&registry, &headers, site.as_deref(), &t, &caller).await
}

/// PUT fields, from a form or a JSON body: `scope` (comma-separated or a
/// list) and `enabled` (false revokes the token).
fn put_fields(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Option<Vec<Scope>>, Option<bool>), Fail> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    let (scope, enabled): (Option<Value>, Option<String>) = if is_json {
        let v: Value = serde_json::from_slice(body)
            .map_err(|e| Fail::form("__all__", format!("invalid JSON: {e}")))?;
        // `null` means the field was not sent.
        (
            v.get("scope").filter(|s| !s.is_null()).cloned(),
            v.get("enabled")
                .filter(|e| !e.is_null())
                .map(|e| e.to_string().trim_matches('"').to_owned()),
        )
    } else {
        let pairs = form_pairs(body);
        let get = |k: &str| {
            pairs
                .iter()
                .rev()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        (get("scope").map(Value::String), get("enabled"))
    };
    let scope = match scope {
        None => None,
        Some(Value::String(s)) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        ),
        Some(Value::Array(a)) => Some(
            a.iter()
                .map(|s| s.as_str().unwrap_or_default().to_owned())
                .collect(),
        ),
        Some(_) => return Err(Fail::form("scope", "must be a comma-separated list")),
    };
    let scope = scope
        .map(|s: Vec<String>| {
            validate::scopes("scope", &s).map_err(|e| Fail::form("scope", e.to_string()))
        })
        .transpose()?;
    let enabled = match enabled.as_deref() {
        // An empty form value is "not sent", as JSON null is.
        None | Some("") => None,
        Some("true" | "1" | "True") => Some(true),
        Some("false" | "0" | "False") => Some(false),
        Some(other) => {
            return Err(Fail::form(
                "enabled",
                format!(
                    "'{}' is not a valid boolean",
                    crate::domain::error::clip(other)
                ),
            ));
        }
    };
    Ok((scope, enabled))
}

fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

pub(super) async fn put_item(
    SiteCaller { caller, site }: SiteCaller,
    registry: Registry,
    headers: HeaderMap,
    id: String,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let body = params::body(body).map_err(|e| Fail::form("__all__", e.message))?;
    let mut t = visible(&registry, &caller, &id).await?;
    let (scope, enabled) = put_fields(&headers, &body)?;
    if let Some(scopes) = scope {
        let patch = TokenPatch {
            scopes: Some(scopes),
            ..TokenPatch::default()
        };
        // Review Board has one `scope` field; name it in the error.
        t = registry
            .update_token(&caller, &t.id, &patch)
            .await
            .map_err(|e| match e {
                Error::InvalidArgument(v) => Error::InvalidArgument(
                    v.into_iter()
                        .map(|f| FieldViolation::new("scope", f.description))
                        .collect(),
                ),
                other => other,
            })?;
    }
    if enabled == Some(false) {
        t = registry.revoke_token(&caller, &t.id).await?;
    }
    one(&registry, &headers, site.as_deref(), &t, &caller).await
}

pub(super) async fn delete_item(
    SiteCaller { caller, .. }: SiteCaller,
    registry: Registry,
    id: String,
) -> Result<Response, Fail> {
    let t = visible(&registry, &caller, &id).await?;
    registry.delete_token(&caller, &t.id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
