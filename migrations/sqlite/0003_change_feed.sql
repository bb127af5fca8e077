-- The change feed (WatchTokens/WatchClients). Every write of a token or
-- client appends its events here in the same transaction, numbered by the
-- organization's counter in org_versions. The counter row is updated by the
-- writing transaction itself, so (SQLite: every write holds the database's
-- write lock anyway) versions commit in order: a reader that sees version n
-- sees every version below it. docs/change-feed.md explains.
CREATE TABLE org_versions (
    org_id  TEXT    NOT NULL PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    -- The last version handed out.
    version INTEGER NOT NULL,
    -- Events at or below it are gone (retention, bulk loads): a watch from
    -- before it must re-list.
    floor   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE changes (
    org_id      TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    version     INTEGER NOT NULL,
    -- 'token' or 'client'
    resource    TEXT    NOT NULL,
    -- 'created', 'updated', 'revoked' or 'deleted'
    kind        TEXT    NOT NULL,
    resource_id TEXT    NOT NULL,
    -- The row before and after the change, as JSON (never a secret's hash):
    -- a watch's filter matches an event if either matches.
    before      TEXT,
    after       TEXT,
    changed_at  INTEGER NOT NULL,
    PRIMARY KEY (org_id, version)
) STRICT;

-- Retention by age.
CREATE INDEX changes_changed_at ON changes (changed_at);
