-- API keys for `twl serve --http`. Only a SHA-256 of each key is kept: the key itself is shown
-- once, at creation. Keys are 256 random bits, so a fast hash is as safe as a slow one (there is
-- nothing to brute-force) and lets a request find its key through a unique index.
CREATE TABLE twl_api_keys (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name         text,
  role         text NOT NULL CHECK (role IN ('viewer', 'operator', 'manager', 'admin')),
  prefix       text NOT NULL,
  hash         text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at   timestamptz
);
CREATE INDEX twl_api_keys_prefix ON twl_api_keys (prefix);
