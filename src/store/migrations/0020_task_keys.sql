-- A task records the API key that created it (twl_api_keys.id), beside the grant it copied from
-- that key (0019): a worker runs the task without the key, so it checks at each run that the key
-- is still live, and a run of a task whose key was revoked (or deleted) fails with TWL_KEY_REVOKED.
-- NULL: created without a key (the command line, stdio, an OAuth token, `http.auth: none`), and
-- those tasks are unaffected. No foreign key: a deleted key must not turn its tasks into keyless
-- ones (ON DELETE SET NULL) nor be kept by them (RESTRICT); the worker treats a missing key as revoked.
ALTER TABLE twl_tasks ADD COLUMN created_by_key bigint;
-- Tasks created before this migration: created_by names the key as the HTTP faces recorded it
-- (`rest:key:<id> (name)`, `mcp:key:<id>`). Only ids of keys that exist are taken.
UPDATE twl_tasks t SET created_by_key = k.id
  FROM twl_api_keys k
  WHERE t.created_by ~ '^(rest|mcp):key:[0-9]{1,18}( |$)'
    AND k.id = substring(t.created_by FROM '^(?:rest|mcp):key:([0-9]{1,18})')::bigint;
CREATE INDEX twl_tasks_created_by_key ON twl_tasks (created_by_key) WHERE created_by_key IS NOT NULL;
