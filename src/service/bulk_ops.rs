//! Bulk revoke and delete by filter, with a dry run first (see
//! `domain::bulk` for the confirmation token and why a run is a resumable
//! job). Batches of `BATCH` tokens, each one short transaction with its
//! change events, with a pause between them so other writers get the
//! database: readers and writers keep going during a large run.

use std::time::Duration;

use super::Registry;
use crate::domain::auth::{Caller, Permission};
use crate::domain::bulk::{BulkAction, BulkSelection, confirm, confirmation_token};
use crate::domain::ids::ClientId;
use crate::domain::model::Token;
use crate::domain::query::TokenFilter;
use crate::domain::{Error, Result, Timestamp};

/// Tokens acted on per transaction.
const BATCH: u32 = 500;
/// Tokens a dry run shows.
const SAMPLE: u32 = 10;
/// Pause between batches.
const PAUSE: Duration = Duration::from_millis(2);

/// A bulk request in canonical form.
#[derive(Debug, Clone)]
pub struct BulkRequest {
    pub action: BulkAction,
    pub filter: TokenFilter,
    /// Allows an empty filter (every token of the organization).
    pub all: bool,
    pub dry_run: bool,
    /// Refuse when more than this many tokens match.
    pub max_matches: Option<u64>,
    /// A dry run's token; required by a real run.
    pub confirmation_token: String,
}

/// What a bulk request did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct BulkOutcome {
    pub matched: u64,
    /// The first few matching tokens (dry run only).
    pub sample: Vec<Token>,
    /// Pass it to the real run (dry run only).
    pub confirmation_token: Option<String>,
    /// Tokens revoked or deleted by this run so far (a resumed run counts
    /// what it did before it was interrupted too).
    pub done: u64,
    pub remaining: u64,
    pub finished: bool,
}

fn guard(matched: u64, max: Option<u64>) -> Result<()> {
    match max {
        Some(max) if matched > max => Err(Error::FailedPrecondition(format!(
            "the filter matches {matched} tokens, more than max_matches ({max})"
        ))),
        _ => Ok(()),
    }
}

impl Registry {
    /// Revokes every token of a client (its secret leaked): a bulk revoke
    /// whose filter is the client.
    pub async fn revoke_client_tokens(
        &self,
        caller: &Caller,
        client_id: &ClientId,
        mut req: BulkRequest,
    ) -> Result<BulkOutcome> {
        caller.require(Permission::TokensWrite)?;
        self.client(caller, client_id).await?;
        req.action = BulkAction::Revoke;
        req.filter = TokenFilter {
            client_id: Some(client_id.to_string()),
            ..TokenFilter::default()
        };
        self.bulk_tokens(caller, req).await
    }

    /// A dry run (count, sample, confirmation token) or a confirmed run.
    pub async fn bulk_tokens(&self, caller: &Caller, req: BulkRequest) -> Result<BulkOutcome> {
        caller.require(Permission::TokensWrite)?;
        if req.filter == TokenFilter::default() && !req.all {
            return Err(Error::invalid(
                "filter",
                "is required; set `all` to act on every token of the organization",
            ));
        }
        let canonical = req.filter.canonical();
        let org = &caller.org_id;
        if req.dry_run {
            let sel = BulkSelection {
                org_id: org.clone(),
                filter: req.filter,
                as_of: Timestamp::now(),
                action: req.action,
            };
            let matched = self.store.count_bulk(&sel).await?;
            if let Some(call) = crate::audit::current() {
                call.read_only();
                call.rows(Some(crate::domain::audit::filter_hash(&canonical)), matched);
            }
            guard(matched, req.max_matches)?;
            let sample = self.store.sample_bulk(&sel, SAMPLE).await?;
            let token = confirmation_token(
                &self.cursors,
                org,
                req.action,
                &canonical,
                matched,
                sel.as_of,
            );
            return Ok(BulkOutcome {
                matched,
                sample,
                confirmation_token: Some(token),
                done: 0,
                remaining: matched,
                finished: false,
            });
        }
        if req.confirmation_token.is_empty() {
            return Err(Error::FailedPrecondition(
                "a real run needs the confirmation_token of a dry run (dry_run: true) of the same request"
                    .into(),
            ));
        }
        // One audit event for the whole run (its batches are many
        // transactions), recorded when it ends.
        let mut audit = crate::audit::Deferred::start(&self.audit, Some(&canonical));
        let outcome = self.bulk_run(org, req, &canonical).await;
        if let Ok(o) = &outcome {
            audit.rows(o.done);
        }
        audit.outcome(outcome.as_ref().map_or_else(Error::code_name, |_| "OK"));
        outcome
    }

    async fn bulk_run(
        &self,
        org: &crate::domain::ids::OrgId,
        req: BulkRequest,
        canonical: &str,
    ) -> Result<BulkOutcome> {
        let c = confirm(
            &self.cursors,
            &req.confirmation_token,
            org,
            req.action,
            canonical,
        )?;
        let sel = BulkSelection {
            org_id: org.clone(),
            filter: req.filter,
            as_of: c.as_of,
            action: req.action,
        };
        let job = match self.store.find_bulk_job(org, &c.job_id).await? {
            Some(job) => job,
            None => {
                let now = self.store.count_bulk(&sel).await?;
                if now != c.matched {
                    return Err(Error::FailedPrecondition(format!(
                        "the confirmation token is stale: the filter matched {} tokens at the dry run and matches {now} now; run the dry run again",
                        c.matched
                    )));
                }
                guard(now, req.max_matches)?;
                self.store
                    .start_bulk_job(&sel, &c.job_id, now, Timestamp::now())
                    .await?
            }
        };
        if !job.finished {
            while self
                .store
                .bulk_batch(&sel, &c.job_id, job.acted_at, BATCH)
                .await?
                .is_some()
            {
                tokio::time::sleep(PAUSE).await;
            }
        }
        let job = self
            .store
            .find_bulk_job(org, &c.job_id)
            .await?
            .unwrap_or(job);
        Ok(BulkOutcome {
            matched: job.matched,
            sample: Vec::new(),
            confirmation_token: None,
            done: job.done,
            remaining: 0,
            finished: true,
        })
    }
}
