//! `oauth-registry admin ...`: organizations and API keys. A key's secret is
//! printed once, on stdout; only its hash is stored.

use clap::Subcommand;

use crate::domain::Timestamp;
use crate::domain::auth::Scope;
use crate::store::StoreOptions;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization; prints its id.
    CreateOrg {
        /// Unique organization name.
        name: String,
    },
    /// Create an API key for an organization; prints the secret once.
    CreateKey {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        /// User the key acts as (needed by `/me` routes and ownership rules).
        #[arg(long)]
        user: Option<String>,
        /// Comma-separated: tokens:read, tokens:write, clients:read, clients:write, admin.
        #[arg(
            long,
            default_value = "tokens:read,tokens:write,clients:read,clients:write"
        )]
        scopes: String,
        /// May see every user's tokens (Review Board superuser).
        #[arg(long)]
        superuser: bool,
        /// Expiry, RFC 3339 (default: never).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// Revoke an API key at once: its next call is refused.
    RevokeKey {
        /// Organization id or name.
        #[arg(long)]
        org: String,
        /// The key's id (printed by `create-key`).
        id: String,
    },
}

pub async fn run(
    database_url: &str,
    opts: &StoreOptions,
    cmd: &AdminCommand,
) -> anyhow::Result<()> {
    let registry = super::open(database_url, opts).await?;
    match cmd {
        AdminCommand::CreateOrg { name } => {
            let org = registry.create_org(name).await?;
            println!("{}", org.id);
        }
        AdminCommand::CreateKey {
            org,
            user,
            scopes,
            superuser,
            expires_at,
        } => {
            let org = registry.find_org(org).await?;
            let scopes = Scope::parse_list("--scopes", scopes)?;
            let expires_at = match expires_at {
                None => None,
                Some(s) => Some(
                    Timestamp::parse_rfc3339(s)
                        .ok_or_else(|| anyhow::anyhow!("--expires-at: not an RFC 3339 time"))?,
                ),
            };
            let user = user.clone().filter(|u| !u.is_empty());
            let created = registry
                .create_api_key(&org.id, user, scopes, *superuser, expires_at)
                .await?;
            eprintln!(
                "API key {} for organization {} (shown once; store it now):",
                created.key.id, org.name
            );
            println!("{}", created.secret);
        }
        AdminCommand::RevokeKey { org, id } => {
            let org = registry.find_org(org).await?;
            registry.revoke_api_key(&org.id, id).await?;
            eprintln!("API key {id} of organization {} revoked", org.name);
        }
    }
    Ok(())
}
