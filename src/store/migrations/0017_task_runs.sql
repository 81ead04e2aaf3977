-- Workers under a store outage (issue #14): one execution per attempt of a job, whatever the
-- retries of a statement whose answer the outage swallowed. A worker that cannot tell whether
-- its claim reached the store before the connection died asks again; this index makes the row
-- it may have written findable by (job, attempt), and a second one for the same attempt
-- impossible. It also lets a claim see that a job's run completed already (a job retried
-- because its worker's completion was lost with the connection) and skip it.
CREATE UNIQUE INDEX twl_task_executions_job_attempt ON twl_task_executions (job_id, attempt);
