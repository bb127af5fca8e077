#![doc = include_str!("../../docs/dialects/siro.md")]

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::OpenApi as _;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Authenticated, Refusal};
use super::openapi::dialects::{SiroError, ZodError};
use super::params::Params;
use super::route_errors::{RouteErrors, own};
use crate::domain::Timestamp;
use crate::domain::model::{Token, TokenKind};
use crate::domain::query::{
    Direction, MAX_OFFSET, PageRequest, PageSize, PageStart, Sort, TokenFilter, TokenSortField,
};
use crate::domain::{Error, validate};
use crate::service::{ListRequest, Registry};

pub const MAX_LIMIT: i64 = 100;
pub const DEFAULT_LIMIT: i64 = 100;

pub fn routes() -> OpenApiRouter<Registry> {
    own::<Fail>(OpenApiRouter::with_openapi(Schemas::openapi()).routes(routes!(list)))
}

/// The query parameters, as the seed names them.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read from the raw query")]
#[allow(non_snake_case)]
struct ListQuery {
    /// The tokens' owner (required, at least 1 character).
    #[param(min_length = 1)]
    owner: String,
    /// Created strictly after (ISO 8601 date-time).
    #[param(format = DateTime)]
    fromDate: Option<String>,
    /// Created strictly before (ISO 8601 date-time).
    #[param(format = DateTime)]
    toDate: Option<String>,
    /// 1..=100, default 100.
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
    /// The previous page's `cursor`; used whenever non-blank.
    cursor: Option<String>,
    /// 1-based page number; used when `cursor` is blank or absent.
    #[param(minimum = 1)]
    page: Option<i64>,
    /// `dateCreated` (default) or `dateUpdated`.
    sortField: Option<String>,
    /// `asc` or `desc` (default).
    sortDirection: Option<String>,
}

/// One item of `data`: exactly the ten fields of the seed's schema.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SiroAccessToken)]
struct AccessToken {
    access_token_id: String,
    #[serde(rename = "oAuthAppId")]
    o_auth_app_id: String,
    user_id: String,
    audience: String,
    subject: String,
    scope: &'static str,
    expires_at: String,
    created_at: String,
    updated_at: String,
    #[schema(required = true)]
    revoked_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = SiroListing)]
struct Listing {
    data: Vec<AccessToken>,
    /// The next page's cursor; null on the last page.
    #[schema(required = true)]
    cursor: Option<String>,
    page_size: usize,
    limit: i64,
    #[schema(required = true)]
    total: Option<u64>,
    has_next_page: bool,
}

fn item(t: &Token) -> AccessToken {
    AccessToken {
        access_token_id: t.id.to_string(),
        o_auth_app_id: t.client_id.as_deref().unwrap_or_default().to_owned(),
        user_id: t.user_id.clone(),
        audience: t.audience.clone(),
        subject: t.subject.clone(),
        scope: if t.scopes.iter().any(|s| s == "write") {
            "write"
        } else {
            "read"
        },
        expires_at: t.expires_at.to_rfc3339(),
        created_at: t.created_at.to_rfc3339(),
        updated_at: t.updated_at.to_rfc3339(),
        revoked_at: t.revoked_at.map(Timestamp::to_rfc3339),
    }
}

/// Siro's two error bodies: Zod's issues (422) for bad parameters, and
/// `{"error": message}` with a status for everything else.
enum Fail {
    Issues(Issues),
    Domain(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Domain(e)
    }
}

impl Refusal for Fail {}

impl RouteErrors for Fail {
    const PREFIXES: &'static [&'static str] = &["/v1/core/"];

    fn route_error(status: StatusCode, message: &str, _: &str) -> Response {
        (status, Json(json!({ "error": message }))).into_response()
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let e = match self {
            Fail::Issues(issues) => {
                return (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    Json(json!({ "issues": issues.0, "name": "ZodError" })),
                )
                    .into_response();
            }
            Fail::Domain(e) => e,
        };
        let status = match super::http_status(&e) {
            StatusCode::SERVICE_UNAVAILABLE => StatusCode::INTERNAL_SERVER_ERROR,
            s => s,
        };
        let message = match &e {
            Error::Internal(m) | Error::Unavailable(m) => {
                tracing::error!(error = %m.chain(), "siro listing failed");
                "Internal server error".to_owned()
            }
            Error::NotFound { .. } => "OAuth app not found".to_owned(),
            other => other.to_string(),
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// The errors Siro's route may answer.
/// The error bodies `Failures` refers to, for the document's components.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(SiroError, ZodError)))]
struct Schemas;

#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes the responses Fail builds")]
enum Failures {
    /// A value of the wrong kind
    #[response(status = 400)]
    BadRequest(SiroError),
    /// No or bad API key
    #[response(status = 401)]
    Unauthorized(SiroError),
    /// The key lacks tokens:read
    #[response(status = 403)]
    Forbidden(SiroError),
    /// No such OAuth app
    #[response(status = 404)]
    NotFound(SiroError),
    /// Zod's issues for the parameters
    #[response(status = 422)]
    Invalid(ZodError),
    /// Internal server error
    #[response(status = 500)]
    Internal(SiroError),
}

/// Zod-style validation issues, collected for the whole request.
#[derive(Default)]
struct Issues(Vec<Value>);

impl Issues {
    fn push(&mut self, issue: Value) {
        self.0.push(issue);
    }

    fn required_string(&mut self, p: &Params, name: &str) -> Option<String> {
        match p.get(name) {
            None => {
                self.push(
                    json!({"code": "invalid_type", "expected": "string", "received": "undefined",
                    "path": [name], "message": "Required"}),
                );
                None
            }
            Some("") => {
                self.push(json!({"code": "too_small", "minimum": 1, "type": "string", "inclusive": true,
                    "exact": false, "path": [name], "message": "String must contain at least 1 character(s)"}));
                None
            }
            Some(v) => Some(v.to_owned()),
        }
    }

    /// An integer in `min..=max` (`max` None = unbounded), default when absent.
    fn integer(&mut self, p: &Params, name: &str, min: i64, max: Option<i64>) -> Option<i64> {
        let raw = p.get(name)?;
        let Ok(n) = raw.trim().parse::<f64>() else {
            self.push(
                json!({"code": "invalid_type", "expected": "number", "received": "nan",
                "path": [name], "message": "Expected number, received nan"}),
            );
            return None;
        };
        if n.fract() != 0.0 || !n.is_finite() {
            self.push(
                json!({"code": "invalid_type", "expected": "integer", "received": "float",
                "path": [name], "message": "Expected integer, received float"}),
            );
            return None;
        }
        if n < min as f64 {
            self.push(json!({"code": "too_small", "minimum": min, "type": "number", "inclusive": true,
                "exact": false, "path": [name], "message": format!("Number must be greater than or equal to {min}")}));
            return None;
        }
        if let Some(max) = max
            && n > max as f64
        {
            self.push(json!({"code": "too_big", "maximum": max, "type": "number", "inclusive": true,
                "exact": false, "path": [name], "message": format!("Number must be less than or equal to {max}")}));
            return None;
        }
        Some(n as i64)
    }

    fn one_of<'a>(&mut self, p: &Params, name: &str, options: &[&'a str]) -> Option<&'a str> {
        let raw = p.get(name)?;
        match options.iter().find(|o| **o == raw) {
            Some(o) => Some(*o),
            None => {
                let expected = options
                    .iter()
                    .map(|o| format!("'{o}'"))
                    .collect::<Vec<_>>()
                    .join(" | ");
                let raw = crate::domain::error::clip(raw);
                self.push(json!({"code": "invalid_enum_value", "options": options, "received": raw,
                    "path": [name], "message": format!("Invalid enum value. Expected {expected}, received '{raw}'")}));
                None
            }
        }
    }

    fn datetime(&mut self, p: &Params, name: &str) -> Option<Timestamp> {
        let raw = p.get(name)?;
        let t = Timestamp::parse_rfc3339(raw);
        if t.is_none() {
            self.push(
                json!({"code": "invalid_string", "validation": "datetime", "path": [name],
                "message": "Invalid datetime"}),
            );
        }
        t
    }

    /// The issues found, as the request's error, if there are any.
    fn finish(self) -> Result<(), Fail> {
        match self.0.is_empty() {
            true => Ok(()),
            false => Err(Fail::Issues(self)),
        }
    }
}

/// List an OAuth app's access tokens.
#[utoipa::path(
    get,
    path = "/v1/core/oauth/apps/{clientId}/access-token",
    tag = "siro",
    operation_id = "SiroListAccessTokens",
    params(("clientId" = String, Path, description = "The OAuth app (client) id"), ListQuery),
    responses(
        (status = 200, body = Listing),
        Failures,
    ),
    security(("bearer" = []))
)]
async fn list(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(registry): State<Registry>,
    Path(client_id): Path<String>,
    query: RawQuery,
) -> Result<Json<Listing>, Fail> {
    let p = Params::new(query);
    let mut issues = Issues::default();
    let owner = issues.required_string(&p, "owner");
    let from = issues.datetime(&p, "fromDate");
    let to = issues.datetime(&p, "toDate");
    let limit = issues.integer(&p, "limit", 1, Some(MAX_LIMIT));
    let page = issues.integer(&p, "page", 1, None);
    let sort_field = issues.one_of(&p, "sortField", &["dateCreated", "dateUpdated"]);
    let direction = issues.one_of(&p, "sortDirection", &["asc", "desc"]);
    let cursor = p.non_blank("cursor").map(str::to_owned);
    issues.finish()?;
    let client_id =
        validate::id("clientId", &client_id).map_err(|_| Error::not_found("client", &client_id))?;
    registry.client_of_tokens(&caller, &client_id).await?;

    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    let size = PageSize::strict("limit", limit, 1, MAX_LIMIT as u32)?;
    // A page past any bound is past the end: empty, like any page after
    // the last (only the total is read).
    let beyond = cursor.is_none()
        && page.is_some_and(|n| (n as u64 - 1).saturating_mul(limit as u64) > MAX_OFFSET);
    let start = match (cursor, page) {
        (Some(c), _) => PageStart::Cursor(c),
        (None, Some(_)) if beyond => PageStart::First,
        (None, Some(n)) => PageStart::offset("page", (n as u64 - 1).saturating_mul(limit as u64))?,
        (None, None) => PageStart::First,
    };
    let next_micro = |t: Timestamp| Timestamp::from_micros(t.micros().saturating_add(1));
    let request = ListRequest {
        filter: TokenFilter {
            client_id: Some(client_id.to_string()),
            user_id: owner,
            created_from: from.map(next_micro),
            created_to: to,
            kind: Some(TokenKind::Access),
            ..TokenFilter::default()
        },
        sort: Sort {
            field: if sort_field == Some("dateUpdated") {
                TokenSortField::Updated
            } else {
                TokenSortField::Created
            },
            direction: if direction == Some("asc") {
                Direction::Asc
            } else {
                Direction::Desc
            },
        },
        page: PageRequest { size, start },
        include_total: true,
    };
    if beyond {
        let total = registry.count_tokens(&caller, &request.filter).await?;
        return Ok(Json(Listing {
            data: Vec::new(),
            cursor: None,
            page_size: 0,
            limit,
            total: Some(total),
            has_next_page: false,
        }));
    }
    let page = registry.list::<Token>(&caller, &request).await?;
    Ok(Json(Listing {
        page_size: page.items.len(),
        data: page.items.iter().map(item).collect(),
        has_next_page: page.next_page_token.is_some(),
        cursor: page.next_page_token,
        limit,
        total: page.total_size,
    }))
}
