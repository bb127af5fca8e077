//! `oauth-registry admin revoke-tokens` and `admin audit`: incident
//! response for operators without a gRPC client. Both go through the same
//! use cases as the API, as the organization's operator (`Caller::operator`),
//! inside an audit record of their own (dialect `cli`).

use clap::Args;

use crate::audit::Call;
use crate::domain::Timestamp;
use crate::domain::audit::{AuditKind, AuditQuery};
use crate::domain::auth::Caller;
use crate::domain::bulk::BulkAction;
use crate::domain::filter_expr;
use crate::service::{BulkRequest, Registry};

#[derive(Debug, Args)]
pub struct RevokeTokensArgs {
    /// Organization id or name.
    #[arg(long)]
    org: String,
    /// The tokens, in ListTokens' filter language, e.g. `user_id = "mallory"`.
    #[arg(long, default_value = "")]
    filter: String,
    /// Allow an empty filter: every token of the organization.
    #[arg(long)]
    all: bool,
    /// Only count the tokens and show a sample; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Delete the tokens instead of revoking them.
    #[arg(long)]
    delete: bool,
    /// Refuse when more tokens than this match.
    #[arg(long)]
    max_matches: Option<u64>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Organization id or name.
    #[arg(long)]
    org: String,
    /// Events at or after this: RFC 3339, or an age such as `30m`, `24h`, `7d`.
    #[arg(long, default_value = "24h")]
    since: String,
    /// Only this API key's calls.
    #[arg(long)]
    key: Option<String>,
    /// Only calls by keys of this user.
    #[arg(long)]
    user: Option<String>,
    /// `read` or `write`.
    #[arg(long)]
    kind: Option<String>,
    /// At most this many events.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// `s` as a time: RFC 3339, or now minus an age (`90s`, `30m`, `24h`, `7d`).
fn since(s: &str) -> anyhow::Result<Timestamp> {
    if let Some(t) = Timestamp::parse_rfc3339(s) {
        return Ok(t);
    }
    let bad = || anyhow::anyhow!("--since {s:?}: not an RFC 3339 time or an age like 24h or 7d");
    let (digits, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = digits.parse().map_err(|_| bad())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(bad()),
    };
    Ok(Timestamp::from_micros(
        Timestamp::now()
            .micros()
            .saturating_sub(secs.saturating_mul(1_000_000)),
    ))
}

pub async fn revoke_tokens(registry: &Registry, a: &RevokeTokensArgs) -> anyhow::Result<()> {
    let org = registry.find_org(&a.org).await?;
    let caller = Caller::operator(org.id.clone());
    let action = if a.delete {
        BulkAction::Delete
    } else {
        BulkAction::Revoke
    };
    let request = BulkRequest {
        action,
        filter: filter_expr::token_filter(&a.filter)?,
        all: a.all,
        dry_run: true,
        max_matches: a.max_matches,
        confirmation_token: String::new(),
    };
    let call = Call::new(
        format!("admin {}-tokens", action.as_str()),
        "cli",
        AuditKind::Write,
        String::new(),
        String::new(),
    );
    call.set_caller(&caller);
    let dry = call
        .clone()
        .scope(registry.bulk_tokens(&caller, request.clone()))
        .await?;
    println!("matched: {}", dry.matched);
    for t in &dry.sample {
        println!("  {}  {}  {}", t.id, t.user_id, t.name);
    }
    if a.dry_run {
        return Ok(());
    }
    let confirmed = BulkRequest {
        dry_run: false,
        confirmation_token: dry.confirmation_token.unwrap_or_default(),
        ..request
    };
    let run = call
        .clone()
        .scope(registry.bulk_tokens(&caller, confirmed))
        .await?;
    println!(
        "{}: {}",
        if a.delete { "deleted" } else { "revoked" },
        run.done
    );
    // The run's event went to the audit queue: let it reach the database.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    Ok(())
}

pub async fn audit(registry: &Registry, a: &AuditArgs) -> anyhow::Result<()> {
    let org = registry.find_org(&a.org).await?;
    let caller = Caller::operator(org.id);
    let kind = match a.kind.as_deref() {
        None => None,
        Some(k) => Some(
            AuditKind::parse(k).ok_or_else(|| anyhow::anyhow!("--kind {k:?}: read or write"))?,
        ),
    };
    let q = AuditQuery {
        key_id: a.key.clone(),
        user_id: a.user.clone(),
        kind,
        from: Some(since(&a.since)?),
        to: None,
        before: None,
        limit: a.limit.clamp(1, 10_000),
    };
    let (events, _) = registry.list_audit_events(&caller, q, "").await?;
    let mut rows = vec![super::admin::row(&[
        "TIME", "KEY", "USER", "KIND", "METHOD", "DIALECT", "ROWS", "OUTCOME", "REQUEST",
    ])];
    rows.extend(events.iter().map(|e| {
        super::admin::row(&[
            &e.at.to_rfc3339(),
            &e.key_id,
            e.user_id.as_deref().unwrap_or("-"),
            e.kind.as_str(),
            &e.method,
            &e.dialect,
            &e.rows.to_string(),
            &e.outcome,
            &e.request_id,
        ])
    }));
    super::admin::print_table(&rows);
    Ok(())
}
