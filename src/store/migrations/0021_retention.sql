-- Retention of the run history and, opt-in, of the audit trails (store/retention.ts).

-- Who prunes, and when next: one row per upkeep job. Every long-running twl process (worker,
-- serve, the store host) and now and then any command may prune; a process claims the row
-- (holder, held_until) for its pass and, when done, sets when the next pass is due, so processes
-- sharing a store take turns instead of deleting the same rows at once. A session advisory lock
-- would not do: the embedded store's host runs every client in one session. A holder that dies
-- loses its claim at held_until. events_through: the newest change-feed event deleted so far, so
-- a client resuming after an older id learns that it missed events (GET /api/events).
CREATE TABLE twl_upkeep (
  job            text PRIMARY KEY,
  holder         text,
  held_until     timestamptz,
  due_at         timestamptz NOT NULL DEFAULT now(),
  done_at        timestamptz,
  deleted        jsonb,
  events_through bigint NOT NULL DEFAULT 0
);

-- Finding a run's delegates and an execution's agent runs: a run is deleted only once none refers to it.
CREATE INDEX twl_agent_runs_parent ON twl_agent_runs (parent_run) WHERE parent_run IS NOT NULL;
CREATE INDEX twl_agent_runs_execution ON twl_agent_runs (execution_id) WHERE execution_id IS NOT NULL;

-- The audit trails stay append-only for every writer; store.auditRetention (off by default) lets
-- the retention pass, and only it, delete rows past their retention: it sets twl.retention in its
-- own transaction (set_config(…, true)), which nothing else does.
CREATE OR REPLACE FUNCTION twl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('twl.retention', true) = 'audit' AND OLD.outcome <> 'started' THEN
    RETURN OLD;
  END IF;
  IF TG_OP = 'UPDATE' AND OLD.outcome = 'started' AND NEW.outcome IN ('ran', 'failed', 'timeout', 'cancelled')
     AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.program = OLD.program AND NEW.args = OLD.args
     AND NEW.cwd IS NOT DISTINCT FROM OLD.cwd AND NEW.decision = OLD.decision AND NEW.approved IS NOT DISTINCT FROM OLD.approved
     AND NEW.rule = OLD.rule AND NEW.ticket_id IS NOT DISTINCT FROM OLD.ticket_id AND NEW.resolved IS NOT DISTINCT FROM OLD.resolved THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'twl_audit is append-only (a started command''s row is completed once)';
END
$$;

CREATE OR REPLACE FUNCTION twl_tool_calls_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('twl.retention', true) = 'audit' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'twl_tool_calls is append-only';
END
$$;
