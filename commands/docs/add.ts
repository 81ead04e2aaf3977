import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import op from '../../src/ops/docs/add.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class DocsAdd extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Index documentation: a folder or file, an installed npm package, a git repository at a ref, or a site.';
  static override description = `${op.description}\nProgress goes to stderr; skipped files and dead links are listed with the reason.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> ./docs --name handbook',
    '<%= config.bin %> <%= command.id %> npm:zod',
    '<%= config.bin %> <%= command.id %> git:../billing@v2.1.0 --name billing',
    '<%= config.bin %> <%= command.id %> https://docs.example.com/guide/ --depth 2 --include "/guide/**" --exclude "/guide/old/**"',
    '<%= config.bin %> <%= command.id %> ./api.rst --name api --version 2.1 --json',
  ];
  static override args = { source: Args.string({ description: 'A folder or file, npm:PACKAGE, git:PATH@REF, or an http(s):// URL.', required: true }) };
  static override flags = {
    name: Flags.string({ description: 'Library name (default: the package, host or folder name).' }),
    version: Flags.string({ description: 'Version label (default: the package\'s version, else "latest").' }),
    depth: Flags.integer({ description: 'Sites: links followed from the start page (default docs.crawl.depth).', min: 0, max: 20 }),
    include: Flags.string({ description: 'Sites: only URL paths matching this glob (repeat).', multiple: true }),
    exclude: Flags.string({ description: 'Sites: never URL paths matching this glob (repeat).', multiple: true }),
    'max-pages': Flags.integer({ description: 'Sites: stop after this many pages.', min: 1 }),
  };

  protected async input() {
    const { args, flags } = await this.parse(DocsAdd);
    return { source: args.source, name: flags.name, version: flags.version, depth: flags.depth, include: flags.include, exclude: flags.exclude, maxPages: flags['max-pages'] };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.libraryId}@${r.version}: ${r.chunks} chunks from ${r.pages} pages (${r.changed} read, ${r.unchanged} unchanged, ${r.removed} removed)`);
    for (const s of r.skipped) this.log(`  skipped ${s.location}: ${s.reason}`);
  }
}
