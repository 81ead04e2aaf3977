-- Workflow runs (issue #13): one row per run of a workflow, one per step run (nested steps point at
-- their parent step), recorded like a ticket's timeline: what went in, what came out, what was
-- decided (a gate, a route, a parallel step's branches), how it ended, and how long it took.
CREATE TABLE twl_workflow_runs (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workflow    text NOT NULL,
  status      text NOT NULL DEFAULT 'running'
              CHECK (status IN ('running', 'completed', 'failed', 'stopped', 'cancelled', 'waiting_approval')),
  input       jsonb NOT NULL DEFAULT '{}',
  output      jsonb,
  -- {code, message} when it failed, was cancelled or waits: the message says how to go on.
  error       jsonb,
  -- The step (id path) that was running when it ended other than completed (or the gate that stopped it).
  step        text,
  actor       text NOT NULL,
  face        text NOT NULL,
  started_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  duration_ms real
);
CREATE INDEX twl_workflow_runs_workflow ON twl_workflow_runs (workflow, id DESC);

CREATE TABLE twl_workflow_steps (
  run_id      bigint NOT NULL REFERENCES twl_workflow_runs (id) ON DELETE CASCADE,
  -- The order the steps started in, within the run.
  seq         int NOT NULL,
  -- The seq of the step this one ran inside (a chain's, a branch's), null at the top.
  parent_seq  int,
  -- The id path, `/`-separated: fan/health.
  path        text NOT NULL,
  step_id     text NOT NULL,
  kind        text NOT NULL,
  status      text NOT NULL
              CHECK (status IN ('running', 'completed', 'failed', 'skipped', 'stopped', 'cancelled', 'waiting_approval')),
  input       jsonb,
  output      jsonb,
  decision    jsonb,
  error       jsonb,
  started_at  timestamptz NOT NULL,
  duration_ms real,
  PRIMARY KEY (run_id, seq)
);

-- The change feed (0013): a run's status changes, for live views.
CREATE FUNCTION twl_workflow_runs_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO twl_events (topic, subject, kind, payload)
    VALUES ('workflow', NEW.id::text, 'status', jsonb_build_object('status', NEW.status, 'workflow', NEW.workflow, 'step', NEW.step));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_workflow_runs_event AFTER INSERT OR UPDATE ON twl_workflow_runs FOR EACH ROW EXECUTE FUNCTION twl_workflow_runs_event();
