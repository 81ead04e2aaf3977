-- The studio's change feed (issue #14): one row per event that live views follow (`twl dash`,
-- MCP resource subscriptions, `GET /api/events`, `twl task logs --follow`). Triggers on the
-- tables that change write the rows, so no writer can forget one; on PostgreSQL each row is
-- also announced with NOTIFY twl_events, and the embedded store's readers
-- poll by id (LISTEN is not delivered through its socket). The notification carries no id: one
-- per statement (PostgreSQL folds a transaction's identical notifications into one), and
-- listeners read what is newer than the last id they saw, so a busy queue does not serialise
-- on the notify queue once per row.
CREATE TABLE twl_events (
  id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at       timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- What changed: agent, task, execution (output lines), workflow (runs).
  topic    text NOT NULL CHECK (topic IN ('agent', 'task', 'execution', 'workflow')),
  -- Which one: an agent's name, a task's id, an execution's id, a workflow run's id.
  subject  text NOT NULL,
  -- status (a status change) or output (a line of output).
  kind     text NOT NULL CHECK (kind IN ('status', 'output')),
  payload  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX twl_events_subject ON twl_events (topic, subject, id);

CREATE FUNCTION twl_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('twl_events', '');
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_events_notify AFTER INSERT ON twl_events FOR EACH STATEMENT EXECUTE FUNCTION twl_events_notify();

CREATE FUNCTION twl_tasks_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO twl_events (topic, subject, kind, payload)
    VALUES ('task', NEW.id::text, 'status', jsonb_build_object('status', NEW.status, 'from', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END, 'reason', NEW.reason));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_tasks_event AFTER INSERT OR UPDATE ON twl_tasks FOR EACH ROW EXECUTE FUNCTION twl_tasks_event();

CREATE FUNCTION twl_task_executions_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO twl_events (topic, subject, kind, payload)
    VALUES ('execution', NEW.id::text, 'status', jsonb_build_object('status', NEW.status, 'task', NEW.task_id, 'attempt', NEW.attempt, 'worker', NEW.worker));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_task_executions_event AFTER INSERT OR UPDATE ON twl_task_executions FOR EACH ROW EXECUTE FUNCTION twl_task_executions_event();

CREATE FUNCTION twl_task_output_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO twl_events (topic, subject, kind, payload)
  VALUES ('execution', NEW.execution_id::text, 'output', jsonb_build_object('line', NEW.id, 'text', NEW.line));
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_task_output_event AFTER INSERT ON twl_task_output FOR EACH ROW EXECUTE FUNCTION twl_task_output_event();
