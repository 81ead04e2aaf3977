-- A workflow run's owner and lease (src/workflows/engine.ts, records.ts): the process running a
-- run renews lease_until while it runs; the store's upkeep (store/retention.ts: twl worker, serve,
-- the store host, twl db prune, now and then any command) marks a run still `running` whose lease
-- ran out as failed (TWL_WORKFLOW_LOST), its running steps with it: its process was killed or its
-- machine lost, and nothing else would ever end it (retention keeps what runs, and views show it live).
-- A run that ended (waiting_approval included: its process ended it and is gone by design) keeps its owner, for the record, and has no lease.
ALTER TABLE twl_workflow_runs ADD COLUMN owner text;
ALTER TABLE twl_workflow_runs ADD COLUMN lease_until timestamptz;
-- Runs started before this migration never renew a lease: an hour for any still going, then they are lost.
UPDATE twl_workflow_runs SET lease_until = now() + interval '1 hour' WHERE status = 'running';
CREATE INDEX twl_workflow_runs_lease ON twl_workflow_runs (lease_until) WHERE status = 'running';
