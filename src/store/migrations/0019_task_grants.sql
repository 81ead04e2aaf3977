-- A task keeps the grant of the API key that created it (`twl keys create --namespaces`): the
-- catalog namespaces its runs may reach. A worker runs the task without that key, so it passes
-- these to every call the run makes (the task's tool, a workflow's steps, an agent's tools), as if
-- the key had made them itself. NULL: every namespace (a key without --namespaces, the command
-- line, and every task created before this migration, whose runs are unchanged). The role needs
-- no column: only a manager or admin creates tasks, and every run is held to the manager role.
ALTER TABLE twl_tasks ADD COLUMN namespaces text[];
