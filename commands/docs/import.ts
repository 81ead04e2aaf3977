import { Args } from '@oclif/core';
import { access } from 'node:fs/promises';
import { TwlCommand } from '../../src/cli/base.js';
import { bumpGenerationOf } from '../../src/docs/cached.js';
import { importIndex } from '../../src/docs/library.js';
import { embedPending } from '../../src/docs/vectors.js';
import { TwlError, messageOf } from '../../src/runtime/errors.js';

interface Result {
  file: string;
  versions: string[];
  pages: number;
  chunks: number;
  /** Embeddings read from the file and kept (dropped: this store cannot hold vectors). */
  embeddings: number;
  embeddingsDropped: number;
  /** Chunks embedded here with docs.embeddings.model (those the file had none for, from that model). */
  embedded?: number;
}

export default class DocsImport extends TwlCommand<Result> {
  static override summary = 'Import a documentation index written by twl docs export.';
  static override description = 'Reads the file in one transaction: each library version in it replaces the one of the same id and version; a bad file changes nothing. Embeddings in the file are kept where the store can hold vectors; with docs.embeddings.model set, chunks without one from that model are embedded after the import (Ollama at llm.host).';
  static override examples = ['<%= config.bin %> <%= command.id %> docs-index.jsonl', '<%= config.bin %> <%= command.id %> zod.jsonl --json'];
  static override args = { file: Args.string({ description: 'The export file.', required: true }) };

  async run(): Promise<Result> {
    const { args } = await this.parse(DocsImport);
    try {
      await access(args.file);
    } catch (err) {
      throw new TwlError('TWL_PATH_NOT_FOUND', `Cannot read ${args.file}: ${messageOf(err)}`, { actions: ['Give the file written by `twl docs export`.'] });
    }
    const runtime = await this.runtime();
    const store = await runtime.store();
    const { versionIds, ...result } = await importIndex(store, args.file);
    const embedded = await embedPending({ config: runtime.config, warn: (m) => this.note(m), progress: () => undefined }, store, versionIds);
    await bumpGenerationOf(await runtime.cache().catch(() => undefined));
    if (result.embeddingsDropped) this.note(`${result.embeddingsDropped} embeddings in the file were not kept: this store has no vector extension (pgvector on PostgreSQL).`);
    if (!this.jsonEnabled()) this.log(`imported ${result.versions.join(', ')}: ${result.pages} pages, ${result.chunks} chunks${result.embeddings ? `, ${result.embeddings} embeddings` : ''}${embedded?.embedded ? `, ${embedded.embedded} chunks embedded with ${embedded.model}` : ''}`);
    return { file: args.file, ...result, ...(embedded ? { embedded: embedded.embedded } : {}) };
  }
}
