-- Tasks of the agent studio (issue #14): a tool to call (later an agent prompt or a workflow),
-- when (now, at a time, on a cron schedule), and its status. The job queue itself (pg-boss) lives
-- in its own schema, created and migrated by pg-boss; these tables are twl's record of the work.

-- The one table of allowed status changes. Every status write goes through it: the trigger below
-- refuses anything else, whoever writes the row, and twl reads it to say what would be allowed.
CREATE TABLE twl_task_transitions (
  from_status text NOT NULL,
  to_status   text NOT NULL,
  PRIMARY KEY (from_status, to_status)
);
INSERT INTO twl_task_transitions (from_status, to_status) VALUES
  ('draft', 'pending'), ('draft', 'cancelled'),
  ('pending', 'waiting_approval'), ('pending', 'scheduled'), ('pending', 'queued'), ('pending', 'cancelled'),
  ('waiting_approval', 'pending'), ('waiting_approval', 'cancelled'),
  ('scheduled', 'queued'), ('scheduled', 'running'), ('scheduled', 'paused'), ('scheduled', 'cancelled'),
  ('queued', 'running'), ('queued', 'paused'), ('queued', 'cancelled'), ('queued', 'dead_letter'),
  ('running', 'completed'), ('running', 'failed'), ('running', 'queued'), ('running', 'scheduled'),
  ('running', 'dead_letter'), ('running', 'cancelled'),
  ('paused', 'scheduled'), ('paused', 'queued'), ('paused', 'cancelled'),
  ('completed', 'queued'), ('failed', 'queued'), ('dead_letter', 'queued');

CREATE TABLE twl_tasks (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name          text,
  kind          text NOT NULL CHECK (kind IN ('tool', 'agent', 'workflow')),
  tool          text,
  input         jsonb NOT NULL DEFAULT '{}',
  queue         text NOT NULL DEFAULT 'default',
  trigger       text NOT NULL CHECK (trigger IN ('now', 'at', 'cron')),
  run_at        timestamptz,
  cron          text,
  tz            text,
  status        text NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'pending', 'waiting_approval', 'scheduled', 'queued', 'running', 'paused', 'completed', 'failed', 'cancelled', 'dead_letter')),
  -- Why it is in its status, when that needs saying: the error, the dead-letter reason, who cancelled.
  reason        text,
  retries       int NOT NULL CHECK (retries BETWEEN 0 AND 100),
  timeout_ms    int NOT NULL CHECK (timeout_ms > 0),
  needs_approval boolean NOT NULL DEFAULT false,
  approved_by   text,
  approved_at   timestamptz,
  -- The pg-boss job of the one-off run waiting in the queue, to cancel it.
  job_id        text,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((trigger = 'at') = (run_at IS NOT NULL)),
  CHECK ((trigger = 'cron') = (cron IS NOT NULL))
);
CREATE INDEX twl_tasks_status ON twl_tasks (status, id);

CREATE FUNCTION twl_tasks_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status
     AND NOT EXISTS (SELECT 1 FROM twl_task_transitions WHERE from_status = OLD.status AND to_status = NEW.status) THEN
    RAISE EXCEPTION 'task % cannot go from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER twl_tasks_transition BEFORE UPDATE ON twl_tasks FOR EACH ROW EXECUTE FUNCTION twl_tasks_check_transition();

-- One row per attempt: a retry is a new execution, and an attempt whose worker died stays as `lost`.
CREATE TABLE twl_task_executions (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id     bigint NOT NULL REFERENCES twl_tasks (id),
  job_id      text NOT NULL,
  attempt     int NOT NULL,
  worker      text NOT NULL,
  status      text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'lost', 'cancelled')),
  started_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at    timestamptz,
  error       text,
  output      jsonb,
  tool_calls  jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX twl_task_executions_task ON twl_task_executions (task_id, id);

-- Output lines of an execution, written as they are produced (`twl task logs --follow` reads them).
CREATE TABLE twl_task_output (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  execution_id bigint NOT NULL REFERENCES twl_task_executions (id),
  at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  line         text NOT NULL
);
CREATE INDEX twl_task_output_execution ON twl_task_output (execution_id, id);
