-- The hub face of `twl serve` (issue 13).
-- A key may be limited to namespaces of the catalog (`twl keys create --namespaces a,b`):
-- NULL is every namespace; twl's own tools are namespace `twl`, workflows `workflow`, an
-- upstream's tools its `namespace` (default its name).
ALTER TABLE twl_api_keys ADD COLUMN namespaces text[];

-- Each upstream's tool definitions as first seen (pinned), and what it declares now when that
-- differs (quarantined until `twl upstream accept NAME`). `tools` maps each tool's name to the
-- SHA-256 of its definition (name, title, description, schemas, annotations), so the change can
-- be shown as tools added, removed and changed.
CREATE TABLE twl_upstream_pins (
  name          text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,31}$'),
  hash          text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  tools         jsonb NOT NULL,
  pinned_at     timestamptz NOT NULL DEFAULT now(),
  pinned_by     text NOT NULL,
  pending_hash  text CHECK (pending_hash ~ '^[0-9a-f]{64}$'),
  pending_tools jsonb,
  seen_at       timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now()
);
