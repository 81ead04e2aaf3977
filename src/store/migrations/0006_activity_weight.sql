-- Under load, a process keeps at most a few calls per tool, outcome and second (a uniform
-- sample) and writes each with the number of calls it stands for, so the table grows with
-- time, not with the call rate. Rows written before this have one call each.
ALTER TABLE twl_op_calls ADD COLUMN weight integer NOT NULL DEFAULT 1;
