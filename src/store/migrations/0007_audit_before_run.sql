-- The commander writes its audit row before a program starts (outcome 'started': no row, no
-- run) and completes that same row once, when the program ends. The row records the file that
-- ran (resolved), not only the name asked for. Otherwise the table stays append-only.
ALTER TABLE twl_audit ADD COLUMN resolved text;
ALTER TABLE twl_audit DROP CONSTRAINT twl_audit_outcome_check;
ALTER TABLE twl_audit ADD CONSTRAINT twl_audit_outcome_check CHECK (outcome IN ('started', 'ran', 'refused', 'dry-run', 'failed', 'timeout', 'cancelled'));

CREATE OR REPLACE FUNCTION twl_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.outcome = 'started' AND NEW.outcome IN ('ran', 'failed', 'timeout', 'cancelled')
     AND NEW.id = OLD.id AND NEW.at = OLD.at AND NEW.actor = OLD.actor AND NEW.program = OLD.program AND NEW.args = OLD.args
     AND NEW.cwd IS NOT DISTINCT FROM OLD.cwd AND NEW.decision = OLD.decision AND NEW.approved IS NOT DISTINCT FROM OLD.approved
     AND NEW.rule = OLD.rule AND NEW.ticket_id IS NOT DISTINCT FROM OLD.ticket_id AND NEW.resolved IS NOT DISTINCT FROM OLD.resolved THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'twl_audit is append-only (a started command''s row is completed once)';
END
$$;
