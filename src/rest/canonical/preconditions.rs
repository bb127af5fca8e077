//! Which canonical paths carry validators (`rest::conditional`): the token
//! and client listings, CountTokens and one token or client (`If-Match` on
//! its PATCH and DELETE). Token answers show each token's status, which
//! the clock moves; client answers do not. Watch streams and actions have
//! none.

use axum::http::StatusCode;
use axum::response::Response;
use tonic::Status;

use super::Fail;
use super::transcode::error_response;
use crate::domain::auth::Permission;
use crate::rest::conditional::{Conditional, Resource};

impl Conditional for Fail {
    fn resource(path: &str) -> Option<Resource> {
        // Listings and counts are read at a version the core notes; one
        // resource's GET is not.
        let tokens = |write, listing| Resource {
            read: Permission::TokensRead,
            write,
            clock: true,
            listing,
            // A listing's `nextPageToken` holds the instant its walk began.
            reusable: false,
        };
        let clients = |write, listing| Resource {
            read: Permission::ClientsRead,
            write,
            clock: false,
            listing,
            reusable: false,
        };
        let one = |id: &str| !id.is_empty() && !id.contains(['/', ':']);
        match path {
            "/v1/tokens" | "/v1/tokens:count" => Some(tokens(None, true)),
            "/v1/clients" => Some(clients(None, true)),
            _ => match (
                path.strip_prefix("/v1/tokens/"),
                path.strip_prefix("/v1/clients/"),
            ) {
                (Some(id), _) if one(id) => Some(tokens(Some(Permission::TokensWrite), false)),
                (_, Some(id)) if one(id) => Some(clients(Some(Permission::ClientsWrite), false)),
                _ => None,
            },
        }
    }

    /// FAILED_PRECONDITION's body, with HTTP's own status for it.
    fn precondition_failed(path: &str) -> Response {
        let mut resp = error_response(&Status::failed_precondition(format!(
            "If-Match: {} changed since that ETag (or it is not an ETag of this resource); GET it again",
            crate::domain::error::clip(path)
        )));
        *resp.status_mut() = StatusCode::PRECONDITION_FAILED;
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_counts_and_resources_have_validators() {
        for path in ["/v1/tokens", "/v1/tokens:count", "/v1/clients"] {
            let r = Fail::resource(path).expect(path);
            assert!(r.write.is_none(), "{path}");
        }
        let token = Fail::resource("/v1/tokens/t1").expect("token");
        assert!(token.clock && token.write == Some(Permission::TokensWrite));
        let client = Fail::resource("/v1/clients/c1").expect("client");
        assert!(!client.clock && client.write == Some(Permission::ClientsWrite));
        for path in [
            "/v1/tokens:watch",
            "/v1/clients:watch",
            "/v1/tokens/t1:revoke",
            "/v1/tokens/",
            "/v1/clients/c1/tokens:revoke",
            "/v1/tokens:lookup",
        ] {
            assert!(Fail::resource(path).is_none(), "{path}");
        }
    }
}
