-- oauth-registry schema (SQLite). Times are integer microseconds since the
-- Unix epoch (UTC); list columns hold JSON arrays of strings.
CREATE TABLE orgs (
    id         TEXT    NOT NULL PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    org_id       TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    user_id      TEXT,
    scopes       TEXT    NOT NULL,
    superuser    INTEGER NOT NULL,
    prefix       TEXT    NOT NULL UNIQUE,
    hash         BLOB    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
) STRICT;

CREATE TABLE clients (
    id                     TEXT    NOT NULL PRIMARY KEY,
    org_id                 TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    name                   TEXT    NOT NULL,
    grant_types            TEXT    NOT NULL,
    response_types         TEXT    NOT NULL,
    scopes                 TEXT    NOT NULL,
    redirect_uris          TEXT    NOT NULL,
    public                 INTEGER NOT NULL,
    access_token_duration  INTEGER NOT NULL,
    refresh_token_duration INTEGER NOT NULL,
    secret_prefix          TEXT,
    secret_hash            BLOB,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL,
    last_used              INTEGER,
    UNIQUE (org_id, id)
) STRICT;
CREATE INDEX clients_org_created ON clients (org_id, created_at, id);
CREATE INDEX clients_org_updated ON clients (org_id, updated_at, id);
CREATE INDEX clients_org_name    ON clients (org_id, name, id);

CREATE TABLE tokens (
    id                    TEXT    NOT NULL PRIMARY KEY,
    org_id                TEXT    NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    client_id             TEXT,
    user_id               TEXT    NOT NULL,
    audience              TEXT    NOT NULL,
    subject               TEXT    NOT NULL,
    scopes                TEXT    NOT NULL,
    name                  TEXT    NOT NULL,
    description           TEXT    NOT NULL,
    default_role          TEXT    NOT NULL,
    code_challenge        TEXT,
    code_challenge_method TEXT,
    redirect_uri          TEXT,
    kind                  TEXT    NOT NULL,
    secret_prefix         TEXT    NOT NULL,
    secret_hash           BLOB    NOT NULL,
    expires_at            INTEGER NOT NULL,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    revoked_at            INTEGER,
    -- The composite key keeps a token's client inside the token's organization.
    FOREIGN KEY (org_id, client_id) REFERENCES clients (org_id, id)
) STRICT;
-- One index per sort key, each ending in id (the tie-breaker), so every sort
-- and every keyset page is an index range seek.
CREATE INDEX tokens_org_id      ON tokens (org_id, id);
CREATE INDEX tokens_org_created ON tokens (org_id, created_at, id);
CREATE INDEX tokens_org_updated ON tokens (org_id, updated_at, id);
CREATE INDEX tokens_org_name    ON tokens (org_id, name, id);
CREATE INDEX tokens_org_expires ON tokens (org_id, expires_at, id);
-- The common filtered listings: by owner, and by client (+ owner, Siro).
CREATE INDEX tokens_org_user_created   ON tokens (org_id, user_id, created_at, id);
CREATE INDEX tokens_org_client_created ON tokens (org_id, client_id, user_id, created_at, id);

CREATE TABLE server_keys (
    name  TEXT NOT NULL PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

-- Sorting by status walks live (not revoked) and revoked tokens as id-ordered
-- runs; these partial indexes serve each run.
CREATE INDEX tokens_org_live    ON tokens (org_id, id) WHERE revoked_at IS NULL;
CREATE INDEX tokens_org_revoked ON tokens (org_id, id) WHERE revoked_at IS NOT NULL;
