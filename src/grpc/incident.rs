//! The incident-response RPCs of TokenService: LookupToken and
//! RevokeTokenBySecret. The secret goes straight into a redacting
//! `SecretString`; the request message is never logged.

use tonic::{Request, Response, Status};

use super::auth::caller;
use super::{convert, pb};
use crate::domain::Timestamp;
use crate::domain::secret::SecretString;
use crate::service::Registry;

pub async fn lookup_token(
    registry: &Registry,
    mut req: Request<pb::LookupTokenRequest>,
) -> Result<Response<pb::Token>, Status> {
    let caller = caller(&req)?;
    let secret = SecretString::from(std::mem::take(&mut req.get_mut().secret));
    let t = registry.lookup_token(&caller, &secret).await?;
    Ok(Response::new(convert::token(t, Timestamp::now())))
}

pub async fn revoke_token_by_secret(
    registry: &Registry,
    mut req: Request<pb::RevokeTokenBySecretRequest>,
) -> Result<Response<pb::Token>, Status> {
    let caller = caller(&req)?;
    let secret = SecretString::from(std::mem::take(&mut req.get_mut().secret));
    let t = registry.revoke_token_by_secret(&caller, &secret).await?;
    Ok(Response::new(convert::token(t, Timestamp::now())))
}
