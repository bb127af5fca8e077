//! Losant's JSON bodies, serialized straight into the response. Fields are
//! declared in byte order, the order the former `serde_json::Value` bodies
//! had (its map sorts keys), so responses stay byte for byte the same
//! (`tests/it/rest_dialect_bytes.rs`); `openapi::dialects` describes them.

use chrono::SecondsFormat;
use serde::Serialize;

use crate::domain::Timestamp;
use crate::domain::model::{Token, TokenStatus};
use crate::domain::oauth::Scope;

fn date(t: Timestamp) -> String {
    t.to_datetime().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// One token as Losant writes it. Fields are in byte order, the order the
/// former `serde_json::Value` bodies had (its map sorts keys), so responses
/// stay byte for byte the same (`tests/it/rest_dialect_bytes.rs`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Item<'a> {
    creation_date: String,
    default_role: &'a str,
    description: &'a str,
    id: &'a str,
    last_updated: String,
    name: &'a str,
    oauth: OAuth<'a>,
    oauth_token_id: &'a str,
    org_roles: [(); 0],
    scope: &'a [Scope],
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OAuth<'a> {
    authorization_status: &'static str,
    #[serde(rename = "client_id")]
    client_id: &'a str,
    #[serde(rename = "code_challenge")]
    code_challenge: &'a str,
    #[serde(rename = "code_challenge_method")]
    code_challenge_method: &'static str,
    #[serde(rename = "redirect_uri")]
    redirect_uri: &'a str,
    resource: &'a [String],
}

pub(super) fn item(t: &Token, now: Timestamp) -> Item<'_> {
    Item {
        creation_date: date(t.created_at),
        default_role: &t.default_role,
        description: &t.description,
        id: t.id.as_str(),
        last_updated: date(t.updated_at),
        name: &t.name,
        oauth: OAuth {
            authorization_status: "authorized",
            client_id: t.client_id.as_deref().unwrap_or_default(),
            code_challenge: t.pkce.as_ref().map_or("", |p| p.challenge.as_str()),
            code_challenge_method: t.pkce.as_ref().map_or("", |p| p.method.as_str()),
            redirect_uri: t.redirect_uri.as_deref().unwrap_or_default(),
            resource: if t.audience.is_empty() {
                &[]
            } else {
                std::slice::from_ref(&t.audience)
            },
        },
        oauth_token_id: t.id.as_str(),
        org_roles: [],
        scope: &t.scopes,
        status: if t.status(now) == TokenStatus::Active {
            "active"
        } else {
            "inactive"
        },
    }
}

/// A listing page; `filterField` and `filter` only when both were given.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Page<'a> {
    pub count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter_field: Option<&'a str>,
    pub items: Vec<Item<'a>>,
    pub page: i64,
    pub per_page: i64,
    pub sort_direction: &'a str,
    pub sort_field: &'a str,
    pub total_count: u64,
}

/// A created token, with its secret (the one time it is shown).
#[derive(Serialize)]
pub(super) struct Created<'a> {
    #[serde(flatten)]
    pub item: Item<'a>,
    pub token: &'a str,
}
