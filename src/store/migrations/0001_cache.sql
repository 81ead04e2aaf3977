-- The embedded cache: values with an optional expiry, and hit/miss counters.
CREATE TABLE twl_cache (
  key        text PRIMARY KEY,
  value      text NOT NULL,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX twl_cache_expires_at ON twl_cache (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE twl_cache_stats (
  id     int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  hits   bigint NOT NULL DEFAULT 0,
  misses bigint NOT NULL DEFAULT 0
);
INSERT INTO twl_cache_stats DEFAULT VALUES;
