import { OpCommand } from '../../src/cli/base.js';
import { bytes } from '../../src/cli/render.js';
import op from '../../src/ops/monitoring/cache-stats.js';
import type { OutputOf } from '../../src/ops/op.js';

export default class MonitoringCacheStats extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Cache statistics (as `twl cache stats`).';
  static override description = op.description;
  static override examples = ['<%= config.bin %> <%= command.id %> --json'];

  protected async input() {
    await this.parse(MonitoringCacheStats);
    return {};
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(`${r.backend} (${r.location}): ${r.keys} keys, ${r.hits} hits, ${r.misses} misses, hit rate ${r.hitRate === null ? '—' : `${(r.hitRate * 100).toFixed(1)}%`}, ${bytes(r.memoryBytes)}`);
  }
}
