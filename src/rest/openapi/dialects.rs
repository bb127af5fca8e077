//! Schemas of dialect bodies that the handlers build with types of their
//! own (error envelopes, Review Board's resources, Losant's items). They only
//! describe (SlashID's `meta` is also written from here); `tests/it/openapi.rs`
//! validates real responses of every route against them, so a body and its
//! schema cannot drift apart unnoticed.

use serde::Serialize;
use utoipa::ToSchema;

/// Siro's error body (400/401/403/404/500).
#[derive(Serialize, ToSchema)]
pub struct SiroError {
    error: String,
}

/// One Zod issue; further keys (`minimum`, `options`, ...) depend on `code`.
#[derive(Serialize, ToSchema)]
pub struct ZodIssue {
    /// `invalid_type`, `too_small`, `too_big`, `invalid_enum_value`, `invalid_date`, ...
    code: String,
    expected: Option<String>,
    received: Option<String>,
    /// The parameter's name.
    path: Vec<String>,
    message: String,
}

/// Siro's 422 body.
#[derive(Serialize, ToSchema)]
pub struct ZodError {
    issues: Vec<ZodIssue>,
    /// Always `ZodError`.
    name: String,
}

/// SlashID's `meta.pagination`: what was asked for, and the total.
#[derive(Serialize, ToSchema)]
pub struct SlashIdPagination {
    limit: i64,
    offset: i64,
    total_count: u64,
}

#[derive(Serialize, ToSchema)]
pub struct SlashIdMeta {
    pagination: SlashIdPagination,
}

impl SlashIdMeta {
    /// The listing's `meta`: built here, as the fields are the schema's.
    pub fn new(limit: i64, offset: i64, total_count: u64) -> Self {
        SlashIdMeta {
            pagination: SlashIdPagination {
                limit,
                offset,
                total_count,
            },
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SlashIdError {
    httpcode: u16,
    message: String,
}

/// SlashID's error envelope.
#[derive(Serialize, ToSchema)]
pub struct SlashIdErrors {
    meta: SlashIdMeta,
    errors: Vec<SlashIdError>,
}

#[derive(Serialize, ToSchema)]
pub struct RbLink {
    /// Absolute, built from the request's Host.
    href: String,
    method: String,
}

#[derive(Serialize, ToSchema)]
pub struct RbTokenLinks {
    delete: RbLink,
    #[serde(rename = "self")]
    self_: RbLink,
    update: RbLink,
}

/// One OAuth2 token resource.
#[derive(Serialize, ToSchema)]
pub struct RbToken {
    /// The client's name; empty without a client.
    application: String,
    /// ISO 8601 with `+00:00`.
    expires: String,
    links: RbTokenLinks,
    scope: Vec<String>,
    /// The token's non-secret prefix (secrets are never stored).
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct RbListLinks {
    #[serde(rename = "self")]
    self_: RbLink,
    /// Only when there is a next page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<RbLink>,
    /// Only when there is a previous page.
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<RbLink>,
}

/// `application/vnd.reviewboard.org.oauth-tokens+json`.
#[derive(Serialize, ToSchema)]
pub struct RbList {
    links: RbListLinks,
    oauth_tokens: Vec<RbToken>,
    /// `ok`
    stat: String,
    total_results: u64,
}

/// The `counts-only=1` answer.
#[derive(Serialize, ToSchema)]
pub struct RbCount {
    count: u64,
    stat: String,
}

/// A list, or its count with `counts-only`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum RbListing {
    List(RbList),
    Count(RbCount),
}

/// `application/vnd.reviewboard.org.oauth-token+json`.
#[derive(Serialize, ToSchema)]
pub struct RbItem {
    oauth_token: RbToken,
    stat: String,
}

#[derive(Serialize, ToSchema)]
pub struct RbErr {
    /// 100, 101, 103, 105, 112 or 113.
    code: u16,
    msg: String,
}

/// Review Board's error body; `fields` (per-field messages) only with 105.
#[derive(Serialize, ToSchema)]
pub struct RbError {
    /// `fail`
    stat: String,
    err: RbErr,
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<std::collections::HashMap<String, Vec<String>>>,
}

/// The `oauth` object of a Losant token.
#[derive(Serialize, ToSchema)]
pub struct LosantOAuth {
    client_id: String,
    redirect_uri: String,
    /// The token's audience (empty when it has none).
    resource: Vec<String>,
    code_challenge: String,
    /// `S256`, or empty without PKCE data.
    code_challenge_method: String,
    /// Always `authorized`.
    #[serde(rename = "authorizationStatus")]
    authorization_status: String,
}

/// A Losant OAuth token item.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LosantToken {
    id: String,
    oauth_token_id: String,
    name: String,
    description: String,
    /// ISO 8601 with milliseconds.
    creation_date: String,
    last_updated: String,
    scope: Vec<String>,
    default_role: String,
    /// Always empty here.
    org_roles: Vec<serde_json::Value>,
    /// `active` or `inactive` (expired or revoked).
    status: String,
    oauth: LosantOAuth,
}

/// The 201 answer to a POST: the item and its secret, shown once.
#[derive(Serialize, ToSchema)]
pub struct LosantCreated {
    #[serde(flatten)]
    item: LosantToken,
    /// The token secret; never shown again.
    token: String,
}

/// Losant's collection envelope; `filterField`/`filter` echo when given.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LosantCollection {
    items: Vec<LosantToken>,
    count: u64,
    total_count: u64,
    per_page: i64,
    page: i64,
    sort_field: String,
    sort_direction: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter_field: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filter: Option<String>,
}

/// Losant's error body.
#[derive(Serialize, ToSchema)]
pub struct LosantError {
    /// `Validation`, `Unauthorized`, `Forbidden`, `NotFound`, `ServerError`.
    #[serde(rename = "type")]
    kind: String,
    message: String,
}
