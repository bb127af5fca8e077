-- Bulk revoke/delete runs (RevokeTokens, DeleteTokens, RevokeClientTokens).
-- A run confirmed by a dry run's token becomes a job keyed by a hash of
-- that token; its batches update `done` in their own transactions, so the
-- same token resumes an interrupted run (after a crash or a dropped call)
-- where it stopped, and every token is acted on exactly once.
CREATE TABLE bulk_jobs (
    org_id      TEXT   NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    id          TEXT   NOT NULL,
    -- 'revoke' or 'delete'
    action      TEXT   NOT NULL,
    matched     BIGINT NOT NULL,
    done        BIGINT NOT NULL DEFAULT 0,
    -- The revoke time of every batch (µs), so a resumed run looks like one.
    acted_at    BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (org_id, id)
);
