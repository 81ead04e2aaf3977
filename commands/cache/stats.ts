import { OpCommand } from '../../src/cli/base.js';
import { bytes } from '../../src/cli/render.js';
import op from '../../src/ops/cache/stats.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class CacheStats extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Show hits, misses, keys and memory of the cache.';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(CacheStats);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`backend   ${r.backend} (${r.location})`);
    this.log(`keys      ${r.keys}`);
    this.log(`hits      ${r.hits}${r.scope === 'server' ? ' (whole server)' : ''}`);
    this.log(`misses    ${r.misses}`);
    this.log(`hit rate  ${r.hitRate === null ? '—' : `${(r.hitRate * 100).toFixed(1)}%`}`);
    this.log(`memory    ${bytes(r.memoryBytes)}`);
  }
}
