#![doc = include_str!("../../docs/dialects/slashid.md")]

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth;
use super::openapi::dialects::{SlashIdErrors, SlashIdMeta};
use super::params::Params;
use crate::domain::Error;
use crate::domain::model::Client;
use crate::domain::query::{
    ClientFilter, ClientSortField, Direction, PageRequest, PageSize, PageStart, Sort,
};
use crate::service::{ListRequest, Registry};

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

pub fn routes() -> OpenApiRouter<Registry> {
    OpenApiRouter::new().routes(routes!(list))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read from the raw query")]
struct ListQuery {
    /// Page size: 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<i64>,
    /// Clients to skip, default 0.
    #[param(minimum = 0, maximum = 10_000_000)]
    offset: Option<i64>,
}

/// The success envelope.
#[derive(Serialize, ToSchema)]
#[schema(as = SlashIdClientList)]
struct ClientList {
    meta: SlashIdMeta,
    result: Vec<OAuthClient>,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SlashIdClient)]
struct OAuthClient {
    client_id: String,
    client_name: String,
    grant_types: Vec<String>,
    response_types: Vec<Vec<String>>,
    scopes: Vec<String>,
    access_token_duration: i64,
    refresh_token_duration: i64,
    public: bool,
    redirect_uris: Vec<String>,
    created_at: String,
    /// When a token was last issued through the client. Absent if never:
    /// SlashID's document types it as a date-time, never null.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used: Option<String>,
}

fn item(c: &Client) -> OAuthClient {
    OAuthClient {
        client_id: c.id.clone(),
        client_name: c.name.clone(),
        grant_types: c.grant_types.clone(),
        response_types: c
            .response_types
            .iter()
            .map(|r| r.split(' ').map(str::to_owned).collect())
            .collect(),
        scopes: c.scopes.clone(),
        access_token_duration: c.access_token_duration,
        refresh_token_duration: c.refresh_token_duration,
        public: c.public,
        redirect_uris: c.redirect_uris.clone(),
        created_at: c.created_at.to_rfc3339(),
        last_used: c.last_used.map(|t| t.to_rfc3339()),
    }
}

/// SlashID's error envelope; `pagination` echoes what was asked for.
fn error(status: StatusCode, message: &str, limit: i64, offset: i64) -> Response {
    let body = json!({
        "meta": {"pagination": {"limit": limit, "offset": offset, "total_count": 0}},
        "errors": [{"httpcode": status.as_u16(), "message": message}],
    });
    (status, Json(body)).into_response()
}

fn domain_error(e: Error, limit: i64, offset: i64) -> Response {
    let status = match &e {
        Error::InvalidArgument(_) | Error::FailedPrecondition(_) => StatusCode::BAD_REQUEST,
        Error::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
        Error::PermissionDenied(_) => StatusCode::FORBIDDEN,
        Error::NotFound { .. } => StatusCode::NOT_FOUND,
        Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        Error::ResourceExhausted(_) => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match &e {
        Error::Internal(_) => "internal error".to_owned(),
        other => other.to_string(),
    };
    error(status, &message, limit, offset)
}

/// An integer parameter, or a 400 naming it.
fn integer(p: &Params, name: &str, default: i64) -> Result<i64, String> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| format!("{name}: must be an integer")),
    }
}

/// List the organization's OAuth 2.0 clients, oldest first.
#[utoipa::path(
    get,
    path = "/oauth2/clients",
    tag = "slashid",
    operation_id = "SlashIdListOAuth2Clients",
    params(
        ("SlashID-OrgID" = String, Header, description = "The API key's organization (id or name)"),
        ListQuery
    ),
    responses(
        (status = 200, body = ClientList),
        (status = 400, body = SlashIdErrors),
        (status = 401, body = SlashIdErrors),
        (status = 403, body = SlashIdErrors),
        (status = 503, body = SlashIdErrors),
    ),
    security(("slashidKey" = []), ("bearer" = []))
)]
async fn list(State(registry): State<Registry>, headers: HeaderMap, query: RawQuery) -> Response {
    let p = Params::new(query);
    let (limit, offset) = match (
        integer(&p, "limit", DEFAULT_LIMIT),
        integer(&p, "offset", 0),
    ) {
        (Ok(l), Ok(o)) => (l, o),
        (Err(m), _) | (_, Err(m)) => return error(StatusCode::BAD_REQUEST, &m, 0, 0),
    };
    let caller = match auth::caller(&registry, &headers).await {
        Ok(c) => c,
        Err(e) => return domain_error(e, limit, offset),
    };
    match headers.get("slashid-orgid").and_then(|v| v.to_str().ok()) {
        None => {
            return error(
                StatusCode::BAD_REQUEST,
                "SlashID-OrgID header is required",
                limit,
                offset,
            );
        }
        Some(org) if org != caller.org_id => {
            // The organization's name is accepted too (as `admin` and `seed` print it).
            let same = registry
                .find_org(org)
                .await
                .is_ok_and(|o| o.id == caller.org_id);
            if !same {
                return error(
                    StatusCode::FORBIDDEN,
                    "SlashID-OrgID does not match the API key's organization",
                    limit,
                    offset,
                );
            }
        }
        Some(_) => {}
    }
    let size = match PageSize::strict("limit", limit, 1, MAX_LIMIT as u32) {
        Ok(s) => s,
        Err(e) => return domain_error(e, limit, offset),
    };
    if offset < 0 {
        return error(
            StatusCode::BAD_REQUEST,
            "offset: must not be negative",
            limit,
            offset,
        );
    }
    let start = match PageStart::offset("offset", offset as u64) {
        Ok(s) => s,
        Err(e) => return domain_error(e, limit, offset),
    };
    let request = ListRequest {
        filter: ClientFilter::default(),
        sort: Sort {
            field: ClientSortField::Created,
            direction: Direction::Asc,
        },
        page: PageRequest { size, start },
        include_total: true,
    };
    match registry.list_clients(&caller, &request).await {
        Ok(page) => Json(json!({
            "meta": {"pagination": {"limit": limit, "offset": offset, "total_count": page.total_size.unwrap_or(0)}},
            "result": page.items.iter().map(item).collect::<Vec<_>>(),
        }))
        .into_response(),
        Err(e) => domain_error(e, limit, offset),
    }
}
