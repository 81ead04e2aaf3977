import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { configuredUpstreams, publicView } from '../../src/tools/upstreams.js';

interface Result {
  upstreams: Array<Record<string, unknown> & { name: string; origin: 'config' | 'store' }>;
}

export default class UpstreamList extends TwlCommand<Result> {
  static override summary = 'List the upstream MCP servers: from the configuration file and from `twl upstream add`.';
  static override description =
    'Shows each entry with its settings and where it comes from (config: the `upstreams:` key of the file; store: `twl upstream add`). ' +
    'Secrets are never shown: each env and header value appears as how it is held ([encrypted], [env-reference] or, in the file, [plain]), and passwords in URLs are hidden. It connects to nothing; `twl upstream status` does.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<Result> {
    await this.parse(UpstreamList);
    const runtime = await this.runtime();
    const configured = await configuredUpstreams(runtime, (m) => this.note(m));
    const upstreams = configured.map((u) => ({ ...(publicView(u.entry) as Record<string, unknown> & { name: string }), origin: u.origin }));
    if (!this.jsonEnabled()) {
      if (!upstreams.length) this.log('No upstreams. Add one with `twl upstream add NAME -- COMMAND ARGS…` or `twl upstream add NAME --url URL`.');
      else
        this.log(
          table(
            ['NAME', 'ORIGIN', 'TRANSPORT', 'SERVER', 'SHARING', 'APPROVAL', 'SECRETS'],
            configured.map((u, i) => {
              const view = upstreams[i] as Record<string, unknown>;
              const server = u.entry.transport === 'http' ? String(view.url) : [u.entry.command, ...((view.args as string[]) ?? [])].join(' ');
              const secrets = [...Object.entries(view.env as Record<string, string>), ...Object.entries(view.headers as Record<string, string>)].map(([k, kind]) => `${k} ${kind}`).join(', ');
              return [u.entry.name, u.origin, u.entry.transport, server, u.entry.sharing, u.entry.approval, secrets || '—'];
            }),
          ),
        );
    }
    return { upstreams };
  }
}
