-- Docs vector search (#15, src/docs/vectors.ts): one embedding per chunk, with the model that
-- made it and its size. Only where the `vector` extension can be had: always on the embedded
-- store (its engine loads PGlite's pgvector), on PostgreSQL when pgvector is installed on the
-- server; elsewhere nothing is created and docs search stays full-text (twl says so). When
-- pgvector appears later, twl runs this script again at run time (every statement is IF NOT EXISTS).
-- The HNSW indexes are partial, per vector size, on an expression, so that models of different
-- sizes share the table: the usual sizes of Ollama's embedding models (all-minilm 384, nomic-embed-text
-- 768, mxbai-embed-large and bge-m3 1024, 512); other sizes are searched by exact scan. They are
-- made here, not at run time, so that a backup's copy (built by these migrations) has them too.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector') THEN
    RETURN;
  END IF;
  BEGIN
    CREATE EXTENSION IF NOT EXISTS vector;
    CREATE TABLE IF NOT EXISTS twl_doc_embeddings (
      chunk_id   bigint PRIMARY KEY REFERENCES twl_doc_chunks (id) ON DELETE CASCADE,
      version_id bigint NOT NULL REFERENCES twl_doc_versions (id) ON DELETE CASCADE,
      model      text NOT NULL,
      dims       int NOT NULL,
      embedding  vector NOT NULL
    );
    CREATE INDEX IF NOT EXISTS twl_doc_embeddings_version ON twl_doc_embeddings (version_id, model);
    CREATE INDEX IF NOT EXISTS twl_doc_embeddings_hnsw_384 ON twl_doc_embeddings USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE dims = 384;
    CREATE INDEX IF NOT EXISTS twl_doc_embeddings_hnsw_512 ON twl_doc_embeddings USING hnsw ((embedding::vector(512)) vector_cosine_ops) WHERE dims = 512;
    CREATE INDEX IF NOT EXISTS twl_doc_embeddings_hnsw_768 ON twl_doc_embeddings USING hnsw ((embedding::vector(768)) vector_cosine_ops) WHERE dims = 768;
    CREATE INDEX IF NOT EXISTS twl_doc_embeddings_hnsw_1024 ON twl_doc_embeddings USING hnsw ((embedding::vector(1024)) vector_cosine_ops) WHERE dims = 1024;
  EXCEPTION WHEN OTHERS THEN
    -- Not allowed here (CREATE EXTENSION needs a superuser unless pgvector is trusted): full-text only.
    RAISE NOTICE 'twl: docs vector search not set up: %', SQLERRM;
  END;
END
$$;
