-- Push for the change feed: every commit that moves an organization's
-- version notifies the channel `oauth_registry_changes` with the
-- organization's id, so watchers on every replica wake at once instead of
-- polling. NOTIFY is delivered at COMMIT (never for a rolled-back write) and
-- costs the writer no extra round trip as a trigger. Raising the floor
-- (retention) does not notify: it changes no version.
CREATE FUNCTION oauth_registry_notify_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('oauth_registry_changes', NEW.org_id);
    RETURN NULL;
END
$$;

CREATE TRIGGER org_versions_notify
    AFTER INSERT OR UPDATE OF version ON org_versions
    FOR EACH ROW EXECUTE FUNCTION oauth_registry_notify_change();
