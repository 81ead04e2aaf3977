-- Agents of the studio (issue #14): a hierarchy (master → supervisor → worker), each with its
-- instructions, the tools it may call (globs over the catalog), its model, its policy and the
-- steps it runs without an LLM; their lifecycle status, and the record of every run.

-- The one table of allowed status changes, like twl_task_transitions: the trigger below refuses
-- anything else, whoever writes the row, and twl reads it to say what would be allowed.
CREATE TABLE twl_agent_transitions (
  from_status text NOT NULL,
  to_status   text NOT NULL,
  PRIMARY KEY (from_status, to_status)
);
INSERT INTO twl_agent_transitions (from_status, to_status) VALUES
  ('pending_validation', 'active'), ('pending_validation', 'inactive'), ('pending_validation', 'error'),
  ('active', 'busy'), ('active', 'inactive'), ('active', 'pending_validation'), ('active', 'error'),
  ('busy', 'active'), ('busy', 'error'),
  ('inactive', 'active'), ('inactive', 'pending_validation'), ('inactive', 'error'),
  ('error', 'active'), ('error', 'inactive'), ('error', 'pending_validation');

CREATE TABLE twl_agents (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_-]{0,47}$'),
  kind          text NOT NULL CHECK (kind IN ('master', 'supervisor', 'worker')),
  -- Children keep their parent: it cannot be deleted while they exist.
  parent        text REFERENCES twl_agents (name) ON DELETE RESTRICT CHECK (parent IS DISTINCT FROM name),
  instructions  text NOT NULL DEFAULT '',
  tools         text[] NOT NULL DEFAULT '{}',
  model         text,
  -- {preapprove: [globs]}: tools that change things and run without asking.
  policy        jsonb NOT NULL DEFAULT '{}',
  -- What it runs without an LLM: {workflow: NAME} or {tools: [{tool, input}]}; null: nothing.
  steps         jsonb,
  status        text NOT NULL DEFAULT 'pending_validation'
                CHECK (status IN ('pending_validation', 'active', 'busy', 'inactive', 'error')),
  reason        text,
  -- The run that holds it while busy (one run at a time per agent).
  run_id        bigint,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'master') = (parent IS NULL))
);
CREATE INDEX twl_agents_parent ON twl_agents (parent);

CREATE FUNCTION twl_agents_check_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status IS DISTINCT FROM OLD.status
     AND NOT EXISTS (SELECT 1 FROM twl_agent_transitions WHERE from_status = OLD.status AND to_status = NEW.status) THEN
    RAISE EXCEPTION 'agent % cannot go from % to %', OLD.name, OLD.status, NEW.status USING ERRCODE = 'check_violation';
  END IF;
  NEW.updated_at := now();
  RETURN NEW;
END
$$;
CREATE TRIGGER twl_agents_transition BEFORE UPDATE ON twl_agents FOR EACH ROW EXECUTE FUNCTION twl_agents_check_transition();

-- The change feed (0013): every status an agent takes, with where it came from and why.
CREATE FUNCTION twl_agents_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status THEN
    INSERT INTO twl_events (topic, subject, kind, payload)
    VALUES ('agent', NEW.name, 'status', jsonb_build_object('status', NEW.status, 'from', CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE OLD.status END, 'reason', NEW.reason));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER twl_agents_event AFTER INSERT OR UPDATE ON twl_agents FOR EACH ROW EXECUTE FUNCTION twl_agents_event();

-- One row per run of an agent (`twl agent run`, an agent task, a delegation from its parent).
-- No foreign key to the agent: the record outlives a deleted agent.
CREATE TABLE twl_agent_runs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  agent         text NOT NULL,
  -- The run that delegated to this one.
  parent_run    bigint REFERENCES twl_agent_runs (id),
  -- The task execution this run belongs to, when a task runs it.
  execution_id  bigint REFERENCES twl_task_executions (id),
  prompt        text NOT NULL,
  -- waiting (for the agent, busy with another run), running, then one of the last three.
  status        text NOT NULL DEFAULT 'waiting' CHECK (status IN ('waiting', 'running', 'completed', 'failed', 'lost')),
  -- llm (a tool-calling loop) or steps (declared steps, without an LLM).
  mode          text CHECK (mode IN ('llm', 'steps')),
  actor         text NOT NULL,
  started_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
  -- Written while it waits or runs: a run whose process died stops holding its place.
  heartbeat_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  ended_at      timestamptz,
  output        text,
  error         text
);
CREATE INDEX twl_agent_runs_agent ON twl_agent_runs (agent, status, id);

-- Every step of a run, in order: a model turn, a tool call, a delegation, a refusal, a declared step.
CREATE TABLE twl_agent_steps (
  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id    bigint NOT NULL REFERENCES twl_agent_runs (id),
  at        timestamptz NOT NULL DEFAULT clock_timestamp(),
  kind      text NOT NULL CHECK (kind IN ('model', 'tool', 'delegate', 'refused', 'step')),
  name      text,
  input     jsonb,
  output    jsonb,
  ok        boolean NOT NULL,
  error     text,
  ms        real NOT NULL DEFAULT 0
);
CREATE INDEX twl_agent_steps_run ON twl_agent_steps (run_id, id);
