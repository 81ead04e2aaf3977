import { Args, Flags } from '@oclif/core';
import { once } from 'node:events';
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { TwlCommand } from '../../src/cli/base.js';
import { exportIndex } from '../../src/docs/library.js';

interface Result {
  output: string;
  versions: number;
  pages: number;
}

export default class DocsExport extends TwlCommand<Result> {
  static override summary = 'Export the documentation index to a file (for an air-gapped machine).';
  static override description = 'Writes every indexed library version (or one library) as JSON Lines: libraries, pages, chunks (with their embeddings, when docs.embeddings.model made some). The file is written under a temporary name and renamed when complete; `twl docs import` reads it back on another machine.';
  static override examples = ['<%= config.bin %> <%= command.id %> docs-index.jsonl', '<%= config.bin %> <%= command.id %> zod.jsonl --library /npm/zod --json'];
  static override args = { file: Args.string({ description: 'The file to write.', required: true }) };
  static override flags = { library: Flags.string({ description: 'Only this library (all its versions).' }) };

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(DocsExport);
    const store = await (await this.runtime()).store();
    const partial = `${args.file}.partial`;
    const out = createWriteStream(partial);
    let versions = 0;
    let pages = 0;
    try {
      for await (const line of exportIndex(store, flags.library)) {
        if (line.kind === 'version') versions++;
        if (line.kind === 'page') pages++;
        if (!out.write(`${JSON.stringify(line)}\n`)) await once(out, 'drain');
      }
      out.end();
      await once(out, 'finish');
      renameSync(partial, args.file);
    } catch (err) {
      out.destroy();
      rmSync(partial, { force: true });
      throw err;
    }
    if (!this.jsonEnabled()) this.log(`exported ${versions} library versions (${pages} pages) to ${args.file}`);
    return { output: args.file, versions, pages };
  }
}
