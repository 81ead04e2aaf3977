-- Op calls by every twl process (CLI, serve, worker), for the dashboard's metrics, kept compact:
-- one narrow row per call, pruned after store.activityRetention by the processes that write them.
CREATE TABLE twl_op_calls (
  at          timestamptz NOT NULL DEFAULT now(),
  tool        text NOT NULL,
  caller      text NOT NULL,
  duration_ms real NOT NULL,
  ok          boolean NOT NULL
);
CREATE INDEX twl_op_calls_at ON twl_op_calls (at);

-- Ticket changes are announced once per statement (a bulk import is one notification, not
-- 100,000), so live views (twl dash) see them at once where LISTEN works.
CREATE FUNCTION twl_tickets_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('twl_tickets', (SELECT json_build_object('op', TG_OP, 'count', count(*), 'maxId', max(id))::text FROM changed));
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_tickets_notify_insert AFTER INSERT ON twl_tickets REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION twl_tickets_notify();
CREATE TRIGGER twl_tickets_notify_update AFTER UPDATE ON twl_tickets REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION twl_tickets_notify();
