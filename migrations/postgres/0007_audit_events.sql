-- The audit trail: one row per call that read or changed tokens or
-- clients (never a secret). Reads are written in batches off the request
-- path; a write's row is written in the write's own transaction.
CREATE TABLE audit_events (
    org_id      TEXT   NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
    -- UUIDv7: time-ordered, so (org_id, at, id) pages like the rest.
    id          TEXT   NOT NULL,
    at          BIGINT NOT NULL,
    key_id      TEXT   NOT NULL,
    user_id     TEXT,
    -- 'read' or 'write'
    kind        TEXT   NOT NULL,
    -- The RPC (oauth_registry.v1.TokenService/ListTokens) or the REST route
    -- template (GET /v1/tokens), and the face: grpc, canonical, siro,
    -- slashid, reviewboard, losant.
    method      TEXT   NOT NULL,
    dialect     TEXT   NOT NULL,
    -- SHA-256 (hex, 16 bytes) of the canonical filter; '' without one.
    filter_hash TEXT   NOT NULL,
    -- Rows returned or changed.
    rows        BIGINT NOT NULL,
    -- gRPC status code name (OK, NOT_FOUND, ...); the HTTP status for REST.
    outcome     TEXT   NOT NULL,
    http_status INTEGER,
    request_id  TEXT   NOT NULL,
    trace_id    TEXT   NOT NULL,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX audit_events_org_at ON audit_events (org_id, at, id);
CREATE INDEX audit_events_at ON audit_events (at);
