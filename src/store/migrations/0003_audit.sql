-- Every commander decision, allowed or refused, and what came of it. Append-only.
CREATE TABLE twl_audit (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor        text NOT NULL,
  program      text NOT NULL,
  args         jsonb NOT NULL,
  cwd          text,
  decision     text NOT NULL CHECK (decision IN ('allow', 'ask', 'deny')),
  approved     boolean,
  rule         text NOT NULL,
  outcome      text NOT NULL CHECK (outcome IN ('ran', 'refused', 'dry-run', 'failed', 'timeout', 'cancelled')),
  exit_code    int,
  duration_ms  real,
  output_sha256 text,
  ticket_id    bigint
);
CREATE INDEX twl_audit_at ON twl_audit (at);

CREATE FUNCTION twl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'twl_audit is append-only';
END
$$;
CREATE TRIGGER twl_audit_append_only BEFORE UPDATE OR DELETE ON twl_audit FOR EACH ROW EXECUTE FUNCTION twl_audit_append_only();
