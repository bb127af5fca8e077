//! `oauth-registry admin ...`: organizations and API keys. A key's secret is
//! printed once, on stdout; only its hash is stored.

use clap::Subcommand;

use crate::domain::Timestamp;
use crate::domain::auth::Permission;
use crate::domain::ids::KeyId;
use crate::domain::secret::ExposeSecret;
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
    /// List organizations: id, name, creation time, and how many API keys,
    /// clients and tokens each holds.
    ListOrgs,
    /// List an organization's API keys (ids, prefixes, scopes, user,
    /// expiry, revocation; never secrets), oldest first.
    ListKeys {
        /// Organization id or name.
        #[arg(long)]
        org: String,
    },
    /// Revoke (or with --delete, delete) every token a filter matches, in
    /// short batches; with --dry-run only count them and show a sample.
    /// Recorded in the audit trail (key `cli`).
    RevokeTokens(super::incident::RevokeTokensArgs),
    /// Print an organization's audit trail, newest first.
    Audit(super::incident::AuditArgs),
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
    let result = command(&registry, cmd).await;
    // Writes' change notifications go out after their commits: send them
    // before the process ends, so remote watchers wake now.
    registry.store().settle().await;
    result
}

/// One admin command on an opened registry.
async fn command(registry: &crate::service::Registry, cmd: &AdminCommand) -> anyhow::Result<()> {
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
            let scopes = Permission::parse_list("--scopes", scopes)?;
            anyhow::ensure!(
                !scopes.is_empty(),
                "--scopes: a key needs at least one of tokens:read, tokens:write, clients:read, clients:write, admin"
            );
            let expires_at = match expires_at {
                None => None,
                Some(s) => Some(Timestamp::parse_rfc3339(s).ok_or_else(|| {
                    anyhow::anyhow!(
                        "--expires-at: not an RFC 3339 time (e.g. 2027-01-31T00:00:00Z)"
                    )
                })?),
            };
            if let Some(at) = expires_at {
                anyhow::ensure!(
                    at > Timestamp::now(),
                    "--expires-at {}: that time has passed; the key would be refused on its first call",
                    at.to_rfc3339()
                );
            }
            let user = user.clone().filter(|u| !u.is_empty());
            let created = registry
                .create_api_key(&org.id, user, scopes, *superuser, expires_at)
                .await?;
            eprintln!(
                "API key {} for organization {} (shown once; store it now):",
                created.key.id, org.name
            );
            println!("{}", created.secret.expose_secret());
        }
        AdminCommand::ListOrgs => {
            let orgs = registry.store().list_orgs().await?;
            let mut rows = vec![row(&["ID", "NAME", "CREATED", "KEYS", "CLIENTS", "TOKENS"])];
            rows.extend(orgs.iter().map(|o| {
                row(&[
                    &o.org.id,
                    &o.org.name,
                    &o.org.created_at.to_rfc3339(),
                    &o.api_keys.to_string(),
                    &o.clients.to_string(),
                    &o.tokens.to_string(),
                ])
            }));
            print_table(&rows);
        }
        AdminCommand::ListKeys { org } => {
            let org = registry.find_org(org).await?;
            let keys = registry.store().list_api_keys(&org.id).await?;
            let mut rows = vec![row(&[
                "ID",
                "PREFIX",
                "SCOPES",
                "USER",
                "SUPERUSER",
                "CREATED",
                "LAST USED",
                "EXPIRES",
                "REVOKED",
            ])];
            let time = |t: Option<Timestamp>| t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339());
            rows.extend(keys.iter().map(|k| {
                let scopes: Vec<&str> = k.scopes.iter().map(|s| s.as_str()).collect();
                row(&[
                    &k.id,
                    &k.prefix,
                    &scopes.join(","),
                    k.user_id.as_deref().unwrap_or("-"),
                    if k.superuser { "yes" } else { "no" },
                    &k.created_at.to_rfc3339(),
                    &time(k.last_used_at),
                    &time(k.expires_at),
                    &time(k.revoked_at),
                ])
            }));
            print_table(&rows);
        }
        AdminCommand::RevokeTokens(args) => super::incident::revoke_tokens(registry, args).await?,
        AdminCommand::Audit(args) => super::incident::audit(registry, args).await?,
        AdminCommand::RevokeKey { org, id } => {
            let org = registry.find_org(org).await?;
            registry
                .revoke_api_key(&org.id, &KeyId::parse("id", id)?)
                .await?;
            eprintln!("API key {id} of organization {} revoked", org.name);
        }
    }
    Ok(())
}

pub(super) fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| (*c).to_owned()).collect()
}

/// Prints rows as left-aligned columns, two spaces apart.
pub(super) fn print_table(rows: &[Vec<String>]) {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
