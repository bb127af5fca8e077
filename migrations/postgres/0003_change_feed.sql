-- The change feed (WatchTokens/WatchClients). Every write of a token or
-- client appends its events here in the same transaction, numbered by the
-- organization's counter in org_versions. The writing transaction updates
-- the counter row last, just before COMMIT, and holds its row lock until
-- then, so one organization's versions commit in order: a reader that sees
-- version n sees every version below it. docs/change-feed.md explains.
CREATE TABLE org_versions (
    org_id  TEXT   NOT NULL PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    -- The last version handed out.
    version BIGINT NOT NULL,
    -- Events at or below it are gone (retention, bulk loads): a watch from
    -- before it must re-list.
    floor   BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE changes (
    org_id      TEXT   NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    -- 'token' or 'client'
    resource    TEXT   NOT NULL,
    -- 'created', 'updated', 'revoked' or 'deleted'
    kind        TEXT   NOT NULL,
    resource_id TEXT   NOT NULL,
    -- The row before and after the change, as JSON (never a secret's hash):
    -- a watch's filter matches an event if either matches.
    before      TEXT,
    after       TEXT,
    changed_at  BIGINT NOT NULL,
    PRIMARY KEY (org_id, version)
);

-- Retention by age.
CREATE INDEX changes_changed_at ON changes (changed_at);
