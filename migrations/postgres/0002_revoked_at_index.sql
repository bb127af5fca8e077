-- A walk ordered by status evaluates it at the walk's instant: a token revoked
-- after it still counts as active or expired. This index finds those few
-- (revoked_at > instant) without walking every revoked token.
CREATE INDEX tokens_org_revoked_at ON tokens (org_id, revoked_at) WHERE revoked_at IS NOT NULL;
