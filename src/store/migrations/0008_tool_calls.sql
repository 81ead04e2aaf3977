-- Every call through the tool catalog (MCP, REST, `twl tools call`, Maestro's steps), allowed or
-- refused: who, through which face, which tool from which source, a digest of the input (never the
-- input: it may hold secrets), the decision, the outcome, how long it took, the error code.
-- A read-only call that succeeded shares its row with the same caller's identical successful
-- calls of that second (`calls` counts them, input_sha256 is then null): a busy server writes
-- rows at a bounded rate. Refused calls, errors and calls of tools that write get a row each.
-- Append-only, like twl_audit.
CREATE TABLE twl_tool_calls (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor        text NOT NULL,
  face         text NOT NULL CHECK (face IN ('cli', 'mcp', 'rest')),
  via          text,
  role         text,
  tool         text NOT NULL,
  source       text NOT NULL,
  input_sha256 text,
  decision     text NOT NULL CHECK (decision IN ('allowed', 'refused', 'approval')),
  outcome      text NOT NULL CHECK (outcome IN ('ok', 'error', 'refused', 'timeout', 'cancelled')),
  duration_ms  real,
  error_code   text,
  calls        integer NOT NULL DEFAULT 1 CHECK (calls >= 1)
);
CREATE INDEX twl_tool_calls_at ON twl_tool_calls (at);

CREATE FUNCTION twl_tool_calls_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'twl_tool_calls is append-only';
END
$$;
CREATE TRIGGER twl_tool_calls_append_only BEFORE UPDATE OR DELETE ON twl_tool_calls FOR EACH ROW EXECUTE FUNCTION twl_tool_calls_append_only();
