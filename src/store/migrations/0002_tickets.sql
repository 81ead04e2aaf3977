-- Tickets and their append-only timeline.
CREATE TABLE twl_tickets (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  title             text NOT NULL,
  text              text NOT NULL,
  requester         text,
  source            text NOT NULL DEFAULT 'cli',
  status            text NOT NULL DEFAULT 'new'
                    CHECK (status IN ('new', 'triaged', 'in_progress', 'waiting_approval', 'resolved', 'closed', 'escalated', 'reopened')),
  category          text CHECK (category IN ('application', 'server', 'network', 'database', 'security', 'access', 'hardware', 'email', 'storage', 'other')),
  priority          text CHECK (priority IN ('urgent', 'high', 'medium', 'low')),
  sentiment         text CHECK (sentiment IN ('positive', 'neutral', 'negative')),
  urgency           text CHECK (urgency IN ('high', 'medium', 'low')),
  confidence        real,
  needs_human       boolean NOT NULL DEFAULT false,
  assigned_agent    text,
  resolution        text,
  escalation_reason text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  resolved_at       timestamptz,
  closed_at         timestamptz
);
CREATE INDEX twl_tickets_status ON twl_tickets (status, priority, created_at);
CREATE INDEX twl_tickets_created ON twl_tickets (created_at);

CREATE TABLE twl_ticket_events (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  ticket_id   bigint NOT NULL REFERENCES twl_tickets (id),
  at          timestamptz NOT NULL DEFAULT clock_timestamp(),
  actor       text NOT NULL,
  kind        text NOT NULL,
  step        text,
  status      text NOT NULL DEFAULT 'ok' CHECK (status IN ('ok', 'failed', 'skipped', 'cancelled', 'waiting')),
  input       jsonb,
  output      jsonb,
  decision    text,
  duration_ms real
);
CREATE INDEX twl_ticket_events_ticket ON twl_ticket_events (ticket_id, id);

-- The timeline is a record: nothing rewrites or removes it.
CREATE FUNCTION twl_ticket_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'twl_ticket_events is append-only';
END
$$;
CREATE TRIGGER twl_ticket_events_append_only BEFORE UPDATE OR DELETE ON twl_ticket_events
  FOR EACH ROW EXECUTE FUNCTION twl_ticket_events_append_only();
