-- The change feed's NOTIFY moves out of the writing transaction: the
-- service sends it after the commit, for every organization written since
-- its last send, in one statement of its own (src/store/pg_notify.rs).
-- PostgreSQL serializes the commits of all transactions that notified,
-- database-wide, from before the commit until after its WAL flush, so the
-- trigger of 0004 made concurrent writers commit one at a time.
DROP TRIGGER org_versions_notify ON org_versions;
DROP FUNCTION oauth_registry_notify_change();
