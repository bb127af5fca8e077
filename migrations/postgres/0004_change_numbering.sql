-- Change versions assigned at COMMIT (PostgreSQL). A write inserts its
-- events with placeholder versions (negative, unique, from a sequence, in
-- insertion order) and no lock; this deferred trigger runs when the
-- transaction commits, takes the organization's `org_versions` row lock,
-- and renumbers the placeholders to the next versions. The lock is held
-- only for the rest of the commit, never across a client round trip, and
-- the next writer of the organization numbers its events after this one
-- has committed: versions still become visible in order
-- (docs/change-feed.md). It also notifies `oauth_registry_changes` with the
-- organization's id, so watchers on every replica wake at once.
CREATE SEQUENCE change_placeholders;

CREATE FUNCTION oauth_registry_number_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pending bigint;
    last bigint;
BEGIN
    -- The first firing of a transaction numbers all its events; the later
    -- ones (one per event) find nothing left.
    SELECT count(*) INTO pending FROM changes WHERE org_id = NEW.org_id AND version < 0;
    IF pending = 0 THEN
        RETURN NULL;
    END IF;
    INSERT INTO org_versions (org_id, version) VALUES (NEW.org_id, pending)
        ON CONFLICT (org_id) DO UPDATE SET version = org_versions.version + excluded.version
        RETURNING version INTO last;
    UPDATE changes c SET version = last - pending + p.n
        FROM (SELECT version AS placeholder,
                     row_number() OVER (ORDER BY version DESC) AS n
              FROM changes WHERE org_id = NEW.org_id AND version < 0) p
        WHERE c.org_id = NEW.org_id AND c.version = p.placeholder;
    -- Wakes the watchers of every replica (LISTEN oauth_registry_changes);
    -- delivered at COMMIT, never for a rolled-back write.
    PERFORM pg_notify('oauth_registry_changes', NEW.org_id);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER changes_number
    AFTER INSERT ON changes
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION oauth_registry_number_changes();
