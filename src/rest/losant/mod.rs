#![doc = include_str!("../../../docs/dialects/losant.md")]

mod body;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::OpenApi as _;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use body::{Created, Page, item};

use super::auth::{Authenticated, Refusal};
use super::openapi::dialects::{LosantCollection, LosantCreated, LosantError};
use super::params::{self, Params};
use super::route_errors::{RouteErrors, own};
use crate::domain::auth::Caller;
use crate::domain::model::{ChallengeMethod, Pkce, Token, TokenKind};
use crate::domain::oauth::RedirectUri;
use crate::domain::query::{
    Direction, MAX_OFFSET, PageRequest, PageSize, PageStart, Sort, TokenFilter, TokenSortField,
};
use crate::domain::secret::ExposeSecret;
use crate::domain::{Error, Timestamp, glob::NameGlob, validate};
use crate::service::{ListRequest, NewToken, Registry};

pub const DEFAULT_PER_PAGE: i64 = 100;
pub const MAX_PER_PAGE: i64 = 1000;
const ROLES: [&str; 5] = ["admin", "edit", "collaborate", "view", "none"];

pub fn routes() -> OpenApiRouter<Registry> {
    own::<Fail>(OpenApiRouter::with_openapi(Schemas::openapi()).routes(routes!(list, create)))
}

#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(dead_code, reason = "describes parameters read from the raw query")]
#[allow(non_snake_case)]
struct ListQuery {
    /// `name` (default), `status`, `id`, `creationDate` or `lastUpdated`.
    #[param(pattern = "^(name|status|id|creationDate|lastUpdated)?$")]
    sortField: Option<String>,
    /// `asc` (default) or `desc`.
    #[param(pattern = "^(asc|desc|ASC|DESC)?$")]
    sortDirection: Option<String>,
    /// 0-based page, default 0.
    #[param(minimum = 0)]
    page: Option<i64>,
    /// 1..=1000, default 100.
    #[param(minimum = 1, maximum = 1000)]
    perPage: Option<i64>,
    /// `name`: filter by `filter`.
    #[param(pattern = "^(name)?$")]
    filterField: Option<String>,
    /// A glob over the name: `*` any run, `?` one character.
    filter: Option<String>,
}

/// A Losant error: `{"type": ..., "message": ...}` with its status.
#[derive(Debug)]
struct Fail(StatusCode, &'static str, String);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"type": self.1, "message": self.2}))).into_response()
    }
}

fn validation(message: impl Into<String>) -> Fail {
    Fail(StatusCode::BAD_REQUEST, "Validation", message.into())
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        match e {
            Error::InvalidArgument(_) | Error::FailedPrecondition(_) | Error::AlreadyExists(_) => {
                validation(e.to_string())
            }
            Error::Unauthenticated(m) => Fail(StatusCode::UNAUTHORIZED, "Unauthorized", m),
            Error::PermissionDenied(m) => Fail(StatusCode::FORBIDDEN, "Forbidden", m),
            Error::NotFound { kind, .. } => Fail(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("{} was not found", capitalize(kind)),
            ),
            Error::ResourceExhausted(m) => {
                Fail(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", m)
            }
            Error::Draining(m) => Fail(StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", m),
            Error::Unavailable(_) => Fail(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the database is unavailable".into(),
            ),
            Error::Internal(m) => {
                tracing::error!(error = %m.chain(), "losant request failed");
                Fail(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "ServerError",
                    "internal error".into(),
                )
            }
        }
    }
}

impl RouteErrors for Fail {
    const PREFIXES: &'static [&'static str] = &["/me/"];

    fn route_error(status: StatusCode, message: &str, _: &str) -> Response {
        let kind = match status {
            StatusCode::NOT_FOUND => "NotFound",
            _ => "Validation",
        };
        Fail(status, kind, message.to_owned()).into_response()
    }
}

impl Refusal for Fail {}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The errors every Losant route may answer.
/// The error bodies `Failures` refers to, for the document's components.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(LosantError)))]
struct Schemas;

#[derive(utoipa::IntoResponses)]
#[expect(dead_code, reason = "describes the responses Fail builds")]
enum Failures {
    /// Validation: a bad parameter or body
    #[response(status = 400)]
    Validation(LosantError),
    /// Unauthorized: no or bad API key
    #[response(status = 401)]
    Unauthorized(LosantError),
    /// Forbidden: the key has no user, or lacks the scope
    #[response(status = 403)]
    Forbidden(LosantError),
}

/// The `/me` user, or 403.
fn me(caller: &Caller) -> Result<String, Fail> {
    caller.user_id.clone().ok_or_else(|| {
        Fail(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the API key is not bound to a user; /me needs one".into(),
        )
    })
}

/// The API key's user's OAuth tokens.
#[utoipa::path(
    get,
    path = "/me/oauth-tokens",
    tag = "losant",
    operation_id = "LosantListOAuthTokens",
    params(ListQuery),
    responses(
        (status = 200, body = LosantCollection),
        Failures,
    ),
    security(("bearer" = []))
)]
async fn list(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(registry): State<Registry>,
    query: RawQuery,
) -> Result<Response, Fail> {
    let user = me(&caller)?;
    let p = Params::new(query);
    let sort_field = p.non_blank("sortField").unwrap_or("name");
    let field = match sort_field {
        "name" => TokenSortField::Name,
        "status" => TokenSortField::Status,
        "id" => TokenSortField::Id,
        "creationDate" => TokenSortField::Created,
        "lastUpdated" => TokenSortField::Updated,
        other => {
            return Err(validation(format!(
                "sortField must be one of name, status, id, creationDate, lastUpdated; got {}",
                crate::domain::error::quote(other)
            )));
        }
    };
    let sort_direction = p.non_blank("sortDirection").unwrap_or("asc");
    let direction = match sort_direction {
        "asc" | "ASC" => Direction::Asc,
        "desc" | "DESC" => Direction::Desc,
        other => {
            return Err(validation(format!(
                "sortDirection must be asc or desc; got {}",
                crate::domain::error::quote(other)
            )));
        }
    };
    let number = |name: &str, default: i64| -> Result<i64, Fail> {
        p.non_blank(name)
            .map(|v| {
                v.parse::<i64>().map_err(|_| {
                    validation(format!(
                        "{name} must be an integer; got {}",
                        crate::domain::error::quote(v)
                    ))
                })
            })
            .unwrap_or(Ok(default))
    };
    let page = number("page", 0)?;
    let per_page = number("perPage", DEFAULT_PER_PAGE)?;
    if page < 0 {
        return Err(validation("page must be 0 or more"));
    }
    let size = PageSize::strict("perPage", per_page, 1, MAX_PER_PAGE as u32)?;
    // A page past any bound is past the end: empty (only the total is read).
    let offset = (page as u64).saturating_mul(per_page as u64);
    let beyond = offset > MAX_OFFSET;
    let start = if beyond {
        PageStart::First
    } else {
        PageStart::offset("page", offset)?
    };
    let filter_field = p.non_blank("filterField");
    let filter = p.non_blank("filter");
    let name = match (filter_field, filter) {
        (Some("name"), Some(f)) => Some(NameGlob::parse("filter", f)?),
        (Some("name") | None, _) => None,
        (Some(other), _) => {
            return Err(validation(format!(
                "filterField must be name; got {}",
                crate::domain::error::quote(other)
            )));
        }
    };
    let request = ListRequest {
        filter: TokenFilter {
            user_id: Some(user),
            name,
            ..TokenFilter::default()
        },
        sort: Sort { field, direction },
        page: PageRequest { size, start },
        include_total: true,
    };
    let (items, total) = if beyond {
        let total = registry.count_tokens(&caller, &request.filter).await?;
        (Vec::new(), total)
    } else {
        let result = registry.list::<Token>(&caller, &request).await?;
        (result.items, result.total_size.unwrap_or(0))
    };
    let now = Timestamp::now();
    let (filter_field, filter) = match (filter_field, filter) {
        (Some(ff), Some(f)) => (Some(ff), Some(f)),
        _ => (None, None),
    };
    let body = Page {
        count: items.len(),
        filter,
        filter_field,
        items: items.iter().map(|t| item(t, now)).collect(),
        page,
        per_page,
        sort_direction,
        sort_field,
        total_count: total,
    };
    Ok(Json(body).into_response())
}

/// The POST body; unknown keys are refused, as Losant's schema says.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = LosantCreateBody)]
struct Post {
    #[schema(min_length = 1, max_length = 255)]
    name: String,
    #[serde(default)]
    #[schema(max_length = 32767)]
    description: String,
    #[serde(default)]
    scope: Vec<String>,
    default_role: Option<String>,
    #[serde(default)]
    expiration_date: Option<String>,
    #[serde(default)]
    org_roles: Vec<Value>,
    oauth: OAuthPost,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = LosantOAuthBody)]
struct OAuthPost {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    code_challenge_method: String,
    #[serde(default)]
    resource: Vec<String>,
}

fn new_token(post: Post, user: String) -> Result<NewToken, Fail> {
    let bad = |e: Error| validation(e.to_string());
    if post.name.is_empty() || post.name.chars().count() > 255 {
        return Err(validation("name must be 1 to 255 characters"));
    }
    if post.description.chars().count() > 32767 {
        return Err(validation("description must be at most 32767 characters"));
    }
    if !post.org_roles.is_empty() {
        return Err(validation(
            "orgRoles are not supported by this service; send an empty list",
        ));
    }
    let role = post.default_role.unwrap_or_default();
    if !role.is_empty() && !ROLES.contains(&role.as_str()) {
        return Err(validation(
            "defaultRole must be one of admin, edit, collaborate, view, none",
        ));
    }
    let scopes = validate::scopes("scope", &post.scope).map_err(bad)?;
    if scopes.len() != post.scope.len() {
        return Err(validation("scope items must be unique"));
    }
    let o = post.oauth;
    if o.code_challenge_method != "S256" {
        return Err(validation("oauth.code_challenge_method must be S256"));
    }
    validate::pkce(
        "oauth.code_challenge",
        &o.code_challenge,
        ChallengeMethod::S256,
    )
    .map_err(bad)?;
    let redirect_uri = RedirectUri::parse("oauth.redirect_uri", &o.redirect_uri).map_err(bad)?;
    let client_id = validate::id("oauth.client_id", &o.client_id).map_err(bad)?;
    if o.resource.len() > 1 {
        return Err(validation(
            "oauth.resource: at most one audience is supported",
        ));
    }
    let audience = match o.resource.first() {
        Some(r) => RedirectUri::parse("oauth.resource[0]", r)
            .map_err(bad)?
            .into(),
        None => String::new(),
    };
    let expires_at = match post.expiration_date.as_deref() {
        None => None,
        Some(d) => Some(
            Timestamp::parse_rfc3339(d)
                .ok_or_else(|| validation("expirationDate must be an ISO 8601 date-time"))?,
        ),
    };
    Ok(NewToken {
        client_id: Some(client_id),
        user_id: user,
        audience,
        subject: None,
        scopes,
        name: post.name,
        description: post.description,
        default_role: role,
        kind: TokenKind::Access,
        pkce: Some(Pkce {
            challenge: o.code_challenge,
            method: ChallengeMethod::S256,
        }),
        redirect_uri: Some(redirect_uri),
        expires_at,
    })
}

/// Create an OAuth token for the API key's user through a client.
#[utoipa::path(
    post,
    path = "/me/oauth-tokens",
    tag = "losant",
    operation_id = "LosantCreateOAuthToken",
    request_body = Post,
    responses(
        (status = 201, body = LosantCreated),
        Failures,
        (status = 404, body = LosantError),
        (status = 413, body = LosantError),
    ),
    security(("bearer" = []))
)]
async fn create(
    Authenticated { caller, .. }: Authenticated<Fail>,
    State(registry): State<Registry>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, Fail> {
    let body = params::body(body).map_err(|e| Fail(e.status, "Validation", e.message))?;
    let user = me(&caller)?;
    let post: Post =
        serde_json::from_slice(&body).map_err(|e| validation(format!("invalid body: {e}")))?;
    let (token, secret) = registry
        .create_token(&caller, new_token(post, user)?)
        .await?;
    let body = Created {
        item: item(&token, Timestamp::now()),
        token: secret.expose_secret(),
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}
