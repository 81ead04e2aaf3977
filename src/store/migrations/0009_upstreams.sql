-- Upstream MCP servers added with `twl upstream add` (those in the configuration file stay
-- there): the entry as the `upstreams:` schema takes it, with every env and header value either
-- a ${env:NAME} reference or an encrypted envelope (twl:enc:v1:<key id>:…), never plain text.
CREATE TABLE twl_upstreams (
  name        text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,31}$'),
  entry       jsonb NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  created_by  text NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
