-- A task records when its creator's grant ends: the `exp` of the OAuth access token that created
-- it (`twl serve --http` with http.oauth). A worker runs the task without that token, and twl
-- cannot ask the issuer later whether the caller still has access, so it holds the task to the
-- token's life: a run after that time fails closed with TWL_GRANT_EXPIRED (a cron task loses its
-- schedule), as a revoked key's task does with TWL_KEY_REVOKED (0020). NULL: a grant that does
-- not end by itself (the command line, stdio, an API key, `http.auth: none`).
ALTER TABLE twl_tasks ADD COLUMN grant_expires_at timestamptz;
-- Tasks an OAuth caller created before this migration: created_by names the token's subject as
-- the HTTP faces recorded it (`rest:jwt:<sub> (name)`, `mcp:jwt:<sub>`), but not its expiry. The
-- token was known valid when the task was created and no later: that is when their grant ends,
-- so their next run is refused (fail closed) rather than run on a grant nobody can check.
UPDATE twl_tasks SET grant_expires_at = created_at
  WHERE created_by ~ '^(rest|mcp):jwt:';
