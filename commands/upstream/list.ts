import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { configuredUpstreams, publicView } from '../../src/tools/upstreams.js';
import { describeChange, pinStates, type PinState } from '../../src/tools/pins.js';
import { namespaceOf } from '../../src/upstream/config.js';

interface Result {
  upstreams: Array<Record<string, unknown> & { name: string; origin: 'config' | 'store'; namespace: string; pinned: Omit<PinState, 'name' | 'quarantine'> | null; quarantine: PinState['quarantine'] | null }>;
}

export default class UpstreamList extends TwlCommand<Result> {
  static override summary = 'List the upstream MCP servers: from the configuration file and from `twl upstream add`.';
  static override description =
    'Shows each entry with its settings, its namespace, its tool pin (QUARANTINED with the tools added, removed and changed when its definitions changed: `twl upstream accept NAME`) and where it comes from (config: the `upstreams:` key of the file; store: `twl upstream add`). ' +
    'Secrets are never shown: each env and header value appears as how it is held ([encrypted], [env-reference] or, in the file, [plain]), and passwords in URLs are hidden. It connects to nothing; `twl upstream status` does.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json'];

  async run(): Promise<Result> {
    await this.parse(UpstreamList);
    const runtime = await this.runtime();
    const configured = await configuredUpstreams(runtime, (m) => this.note(m));
    const pins = await pinStates(await runtime.store()).catch(() => new Map<string, PinState>());
    const upstreams = configured.map((u) => {
      const { name: _, quarantine, ...pinned } = pins.get(u.entry.name) ?? { name: '' };
      return { ...(publicView(u.entry) as Record<string, unknown> & { name: string }), origin: u.origin, namespace: namespaceOf(u.entry), pinned: 'pinnedAt' in pinned ? (pinned as Omit<PinState, 'name' | 'quarantine'>) : null, quarantine: quarantine ?? null };
    });
    if (!this.jsonEnabled()) {
      if (!upstreams.length) this.log('No upstreams. Add one with `twl upstream add NAME -- COMMAND ARGS…` or `twl upstream add NAME --url URL`.');
      else
        this.log(
          table(
            ['NAME', 'NAMESPACE', 'ORIGIN', 'TRANSPORT', 'SERVER', 'SHARING', 'APPROVAL', 'SECRETS', 'PIN'],
            configured.map((u, i) => {
              const view = upstreams[i] as Record<string, unknown>;
              const server = u.entry.transport === 'http' ? String(view.url) : [u.entry.command, ...((view.args as string[]) ?? [])].join(' ');
              const secrets = [...Object.entries(view.env as Record<string, string>), ...Object.entries(view.headers as Record<string, string>)].map(([k, kind]) => `${k} ${kind}`).join(', ');
              const pin = upstreams[i]!.quarantine ? `QUARANTINED (${describeChange(upstreams[i]!.quarantine!)})` : upstreams[i]!.pinned ? `pinned (${upstreams[i]!.pinned!.tools} tools)` : u.entry.pin ? 'not seen yet' : 'off';
              return [u.entry.name, namespaceOf(u.entry), u.origin, u.entry.transport, server, u.entry.sharing, u.entry.approval, secrets || '—', pin];
            }),
          ),
        );
    }
    return { upstreams };
  }
}
