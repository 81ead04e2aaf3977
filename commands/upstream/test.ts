import { Args } from '@oclif/core';
import { TwlCommand, coreOpsOnce } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import type { CatalogProblem } from '../../src/tools/catalog.js';
import type { CatalogTool } from '../../src/tools/types.js';
import { configuredUpstreams, openSet, pick } from '../../src/tools/upstreams.js';
import type { UpstreamStatus } from '../../src/upstream/types.js';

interface Result {
  name: string;
  ms: number;
  status: UpstreamStatus;
  tools: Array<Pick<CatalogTool, 'name' | 'title' | 'minRole' | 'needsApproval'> & { readOnly: boolean }>;
  leftOut: CatalogProblem[];
}

export default class UpstreamTest extends TwlCommand<Result> {
  static override summary = 'Connect to an upstream (start its server) and list its tools as the catalog names them.';
  static override description =
    'Starts the child (stdio) or connects (HTTP) as `twl serve` would, lists the tools after include/exclude, checks them as the catalog does (a hostile name or schema, or the name of one of twl\'s own tools, is left out, with the reason), then stops it. ' +
    'Fails (exit 6) when the server cannot be started or reached, with the reason and secrets hidden.';
  static override examples = ['<%= config.bin %> <%= command.id %> ev', '<%= config.bin %> <%= command.id %> ev --json'];
  static override args = { name: Args.string({ description: 'The upstream\'s name.', required: true }) };

  async run(): Promise<Result> {
    const { args } = await this.parse(UpstreamTest);
    const runtime = await this.runtime();
    const { entry } = pick(await configuredUpstreams(runtime, (m) => this.note(m)), args.name);
    const set = await openSet(runtime, [entry]);
    const { Catalog } = await import('../../src/tools/catalog.js');
    const catalog = new Catalog(runtime, { ops: coreOpsOnce, upstreams: async () => set });
    try {
      const upstream = set.get(entry.name)!;
      const started = performance.now();
      await upstream.listTools(); // the upstream's own error (unavailable, crash-loop, timeout) when it fails
      const ms = Math.round(performance.now() - started);
      const tools = (await catalog.list({ source: `upstream:${entry.name}` })).map((t) => ({ name: t.name, title: t.title, minRole: t.minRole, needsApproval: t.needsApproval, readOnly: t.annotations.readOnlyHint }));
      const leftOut = catalog.problems();
      for (const p of leftOut) this.note(`${p.tool ? `tool ${JSON.stringify(p.tool)}` : entry.name}: ${p.problem}`);
      const status = upstream.status();
      if (!this.jsonEnabled()) {
        this.log(`Upstream ${entry.name} answered in ${ms} ms (${status.state}${status.children[0]?.pid ? `, pid ${status.children[0].pid}` : ''}): ${tools.length} tool${tools.length === 1 ? '' : 's'}.`);
        if (tools.length) this.log(table(['NAME', 'READ-ONLY', 'ASKS', 'MIN ROLE', 'TITLE'], tools.map((t) => [t.name, t.readOnly ? 'yes' : 'no', t.needsApproval ? 'yes' : 'no', t.minRole, t.title])));
      }
      return { name: entry.name, ms, status, tools, leftOut };
    } finally {
      await set.close();
    }
  }
}
