#![doc = include_str!("../../docs/dialects/slashid.md")]

use axum::extract::{RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::OpenApi as _;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::{Authenticated, Refusal};
use super::openapi::dialects::{SlashIdErrors, SlashIdMeta};
use super::params::Params;
use super::route_errors::{RouteErrors, own};
use crate::domain::Error;
use crate::domain::auth::Caller;
use crate::domain::model::Client;
use crate::domain::oauth::strings;
use crate::domain::query::{
    ClientFilter, ClientSortField, Direction, PageRequest, PageSize, PageStart, Sort,
};
use crate::service::{ListRequest, Registry};

/// SlashID's one route, with its routing errors.
pub fn routes() -> OpenApiRouter<Registry> {
    own::<Fail>(OpenApiRouter::with_openapi(Schemas::openapi()).routes(routes!(list)))
}

/// `limit` when absent, and its ceiling.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

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

/// Fields in byte order, the order the former `serde_json::Value` body had
/// (its map sorts keys), so responses stay byte for byte the same.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SlashIdClient)]
struct OAuthClient {
    access_token_duration: i64,
    client_id: String,
    client_name: String,
    created_at: String,
    grant_types: Vec<String>,
    /// When a token was last issued through the client. Absent if never:
    /// SlashID's document types it as a date-time, never null.
    #[serde(skip_serializing_if = "Option::is_none")]
    last_used: Option<String>,
    public: bool,
    redirect_uris: Vec<String>,
    refresh_token_duration: i64,
    response_types: Vec<Vec<String>>,
    scopes: Vec<String>,
}

fn item(c: &Client) -> OAuthClient {
    OAuthClient {
        access_token_duration: c.access_token_duration,
        client_id: c.id.to_string(),
        client_name: c.name.clone(),
        created_at: c.created_at.to_rfc3339(),
        grant_types: strings(&c.grant_types),
        last_used: c.last_used.map(|t| t.to_rfc3339()),
        public: c.public,
        redirect_uris: strings(&c.redirect_uris),
        refresh_token_duration: c.refresh_token_duration,
        response_types: c
            .response_types
            .iter()
            .map(|r| r.split(' ').map(str::to_owned).collect())
            .collect(),
        scopes: strings(&c.scopes),
    }
}

/// SlashID's error envelope, whose `pagination` echoes what was asked for.
struct Fail {
    status: StatusCode,
    message: String,
    page: (i64, i64),
}

impl Fail {
    fn new(status: StatusCode, message: impl Into<String>) -> Fail {
        Fail {
            status,
            message: message.into(),
            page: (0, 0),
        }
    }

    /// Echoes the request's `limit` and `offset`.
    fn at(mut self, (limit, offset): (i64, i64)) -> Fail {
        self.page = (limit, offset);
        self
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        let status = super::http_status(&e);
        let message = match &e {
            Error::Internal(_) => "internal error".to_owned(),
            other => other.to_string(),
        };
        Fail::new(status, message)
    }
}

impl Refusal for Fail {
    /// Echoes the pagination asked for, when it parses.
    fn refusal(e: Error, request: &Parts) -> Fail {
        let p = Params::new(RawQuery(request.uri.query().map(str::to_owned)));
        Fail::from(e).at(page(&p).unwrap_or((0, 0)))
    }
}

impl RouteErrors for Fail {
    const PREFIXES: &'static [&'static str] = &["/oauth2/"];

    fn route_error(status: StatusCode, message: &str, _: &str) -> Response {
        Fail::new(status, message).into_response()
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let (limit, offset) = self.page;
        let body = json!({
            "meta": {"pagination": {"limit": limit, "offset": offset, "total_count": 0}},
            "errors": [{"httpcode": self.status.as_u16(), "message": self.message}],
        });
        (self.status, Json(body)).into_response()
    }
}

/// The errors SlashID's route may answer.
/// The error bodies `Failures` refers to, for the document's components.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(SlashIdErrors)))]
struct Schemas;

#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes the responses Fail builds")]
enum Failures {
    /// A bad parameter or no SlashID-OrgID
    #[response(status = 400)]
    BadRequest(SlashIdErrors),
    /// No or bad API key
    #[response(status = 401)]
    Unauthorized(SlashIdErrors),
    /// Another organization, or a key without clients:read
    #[response(status = 403)]
    Forbidden(SlashIdErrors),
    /// The database is unavailable
    #[response(status = 503)]
    Unavailable(SlashIdErrors),
}

/// An integer parameter, or a 400 naming it.
fn integer(p: &Params, name: &str, default: i64) -> Result<i64, Fail> {
    match p.get(name) {
        None => Ok(default),
        Some(v) => v.parse::<i64>().map_err(|_| {
            Fail::new(
                StatusCode::BAD_REQUEST,
                format!("{name}: must be an integer"),
            )
        }),
    }
}

/// `limit` and `offset`, with their defaults.
fn page(p: &Params) -> Result<(i64, i64), Fail> {
    Ok((
        integer(p, "limit", DEFAULT_LIMIT)?,
        integer(p, "offset", 0)?,
    ))
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
        Failures,
    ),
    security(("slashidKey" = []), ("bearer" = []))
)]
async fn list(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(registry): State<Registry>,
    headers: HeaderMap,
    query: RawQuery,
) -> Result<Json<ClientList>, Fail> {
    let (limit, offset) = page(&Params::new(query))?;
    list_page(&registry, &caller, &headers, limit, offset)
        .await
        .map_err(|f| f.at((limit, offset)))
}

async fn list_page(
    registry: &Registry,
    caller: &Caller,
    headers: &HeaderMap,
    limit: i64,
    offset: i64,
) -> Result<Json<ClientList>, Fail> {
    match headers.get("slashid-orgid").and_then(|v| v.to_str().ok()) {
        None => {
            return Err(Fail::new(
                StatusCode::BAD_REQUEST,
                "SlashID-OrgID header is required",
            ));
        }
        Some(org) if caller.org_id != org => {
            // The organization's name is accepted too (as `admin` and `seed` print it).
            let same = registry
                .find_org(org)
                .await
                .is_ok_and(|o| o.id == caller.org_id);
            if !same {
                return Err(Fail::new(
                    StatusCode::FORBIDDEN,
                    "SlashID-OrgID does not match the API key's organization",
                ));
            }
        }
        Some(_) => {}
    }
    let size = PageSize::strict("limit", limit, 1, MAX_LIMIT as u32)?;
    if offset < 0 {
        return Err(Fail::new(
            StatusCode::BAD_REQUEST,
            "offset: must not be negative",
        ));
    }
    let start = PageStart::offset("offset", offset as u64)?;
    let request = ListRequest {
        filter: ClientFilter::default(),
        sort: Sort {
            field: ClientSortField::Created,
            direction: Direction::Asc,
        },
        page: PageRequest { size, start },
        include_total: true,
    };
    let page = registry.list::<Client>(caller, &request).await?;
    Ok(Json(ClientList {
        meta: SlashIdMeta::new(limit, offset, page.total_size.unwrap_or(0)),
        result: page.items.iter().map(item).collect(),
    }))
}
