-- The documentation index (twl docs, resolve-library-id, query-docs): libraries, their versions
-- side by side, the pages read (with what a refresh needs to skip unchanged ones) and the chunks.
CREATE TABLE twl_doc_libraries (
  id          text PRIMARY KEY,            -- /npm/zod, /local/guide, /web/docs.example.com, /twl/runbooks
  name        text NOT NULL,
  description text,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE twl_doc_versions (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  library_id text NOT NULL REFERENCES twl_doc_libraries (id) ON DELETE CASCADE,
  version    text NOT NULL,                -- 'latest' when the source has none
  source     text NOT NULL,                -- what `twl docs add` was given, for refresh
  options    jsonb NOT NULL DEFAULT '{}',  -- crawl depth, globs… for refresh
  pages      int NOT NULL DEFAULT 0,
  chunks     int NOT NULL DEFAULT 0,
  indexed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (library_id, version)
);

CREATE TABLE twl_doc_pages (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  version_id    bigint NOT NULL REFERENCES twl_doc_versions (id) ON DELETE CASCADE,
  location      text NOT NULL,             -- relative file path or URL
  url           text NOT NULL,
  title         text NOT NULL,
  hash          text NOT NULL,             -- sha-256 of the content read
  etag          text,
  last_modified text,
  links         jsonb NOT NULL DEFAULT '[]', -- followed again when the page answers 304
  UNIQUE (version_id, location)
);

CREATE TABLE twl_doc_chunks (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  page_id    bigint NOT NULL REFERENCES twl_doc_pages (id) ON DELETE CASCADE,
  version_id bigint NOT NULL REFERENCES twl_doc_versions (id) ON DELETE CASCADE,
  seq        int NOT NULL,
  headings   jsonb NOT NULL,               -- the heading path, outermost first
  content    text NOT NULL,                -- Markdown, code fences whole
  languages  jsonb NOT NULL DEFAULT '[]',
  tokens     int NOT NULL,
  -- Weights: A page title, B headings, C prose, D code; English and French stems both.
  tsv        tsvector NOT NULL
);
CREATE INDEX twl_doc_chunks_tsv ON twl_doc_chunks USING gin (tsv);
CREATE INDEX twl_doc_chunks_version ON twl_doc_chunks (version_id);
CREATE INDEX twl_doc_chunks_page ON twl_doc_chunks (page_id);

-- Typo-tolerant library names when pg_trgm is there (PostgreSQL contrib, PGlite's bundled
-- extension); without it twl matches names by edit distance instead, and says so.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'pg_trgm is not available: library names are matched by edit distance';
END
$$;
