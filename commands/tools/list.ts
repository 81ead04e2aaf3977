import { Flags } from '@oclif/core';
import { CatalogCommand } from '../../src/cli/catalog-command.js';
import { table } from '../../src/cli/render.js';
import type { CatalogTool } from '../../src/tools/types.js';

interface Result {
  tools: CatalogTool[];
}

export default class ToolsList extends CatalogCommand<Result> {
  static override summary = 'List every tool twl can call: its own ops and the configured upstreams\' tools.';
  static override description =
    'One catalog backs every face: `twl serve` (MCP and REST), `twl tools call` and Maestro\'s plans and runbooks list and call tools through it. ' +
    'Each tool has a source (twl, or upstream:NAME for the tools of an `upstreams:` entry, named NAME_TOOL), a minimum role for HTTP callers, and whether it asks for approval first. ' +
    'Listing an upstream starts it (or connects to it); a tool an upstream declares with a hostile name or schema, or with the name of one of twl\'s own tools, is left out with a warning. ' +
    'With --json each tool comes with its input and output JSON Schemas.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --source upstream',
    '<%= config.bin %> <%= command.id %> --source upstream:ev --json',
  ];
  static override flags = {
    source: Flags.string({ description: 'Only the tools of this source: twl, upstream (every upstream), or upstream:NAME.' }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(ToolsList);
    const catalog = await this.catalog();
    const tools = await catalog.list({ source: flags.source });
    for (const p of catalog.problems()) this.note(`upstream ${p.upstream}${p.tool ? `, tool ${JSON.stringify(p.tool)}` : ''}: ${p.problem}`);
    if (!this.jsonEnabled()) {
      if (!tools.length) this.log(`No tools${flags.source ? ` from ${flags.source}` : ''}.`);
      else this.log(table(['NAME', 'SOURCE', 'MIN ROLE', 'READ-ONLY', 'ASKS', 'TITLE'], tools.map((t) => [t.name, t.source, t.minRole, t.annotations.readOnlyHint ? 'yes' : 'no', t.needsApproval ? 'yes' : 'no', t.title])));
    }
    return { tools };
  }
}
