import { Args } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { messageOf } from '../../src/runtime/errors.js';
import { redactText } from '../../src/runtime/redact.js';
import { configuredUpstreams, openSet, pick } from '../../src/tools/upstreams.js';
import { checkPin, describeChange, toolDefinitions, type PinChange } from '../../src/tools/pins.js';
import type { UpstreamStatus } from '../../src/upstream/types.js';

interface Result {
  upstreams: Array<UpstreamStatus & { origin: 'config' | 'store'; tools: number | null; error: string | null; quarantine: PinChange | null }>;
}

export default class UpstreamStatusCommand extends TwlCommand<Result> {
  static override summary = 'Check every upstream (or one): start or reach it, and show its state, children, tools and breaker.';
  static override description =
    'Each upstream is started (stdio) or reached (HTTP) from this process and asked for its tools, all at once, then stopped: states are starting, ready, restarting, crash-loop and stopped, with the reason when it is not ready (secrets hidden). ' +
    'An upstream whose tool definitions differ from the ones pinned when first seen is shown quarantined, with the tools added, removed and changed; `twl upstream accept NAME` accepts the change. ' +
    'A running `twl serve --http` shows the live state of its own upstreams at /mcp/status.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> ev --json'];
  static override args = { name: Args.string({ description: 'Only this upstream.' }) };

  async run(): Promise<Result> {
    const { args } = await this.parse(UpstreamStatusCommand);
    const runtime = await this.runtime();
    let configured = await configuredUpstreams(runtime, (m) => this.note(m));
    if (args.name) configured = [pick(configured, args.name)];
    const set = await openSet(runtime, configured.map((u) => u.entry));
    const store = await runtime.store();
    try {
      const upstreams = await Promise.all(
        configured.map(async ({ entry, origin }) => {
          const upstream = set.get(entry.name)!;
          let tools: number | null = null;
          let error: string | null = null;
          let quarantine: PinChange | null = null;
          try {
            const listed = await upstream.listTools();
            tools = listed.length;
            // Checked against the pin as `twl serve` does (pinned now if it never was).
            quarantine = (await checkPin(store, entry.name, toolDefinitions(listed), { pin: entry.pin, actor: runtime.actor ?? 'cli' })) ?? null;
          } catch (err) {
            error = redactText(messageOf(err));
          }
          return { ...upstream.status(), origin, tools, error, quarantine };
        }),
      );
      if (!this.jsonEnabled()) {
        if (!upstreams.length) this.log('No upstreams. Add one with `twl upstream add NAME -- COMMAND ARGS…`.');
        else this.log(table(['NAME', 'STATE', 'TRANSPORT', 'CHILDREN', 'TOOLS', 'BREAKER', 'REASON'], upstreams.map((u) => [u.name, u.quarantine ? 'quarantined' : u.state, u.transport, u.children.map((c) => c.pid ?? c.state).join(' ') || '—', u.tools ?? '—', u.breaker, u.quarantine ? `tool definitions changed (${describeChange(u.quarantine)}): \`twl upstream accept ${u.name}\`` : (u.error ?? u.reason ?? '')])));
      }
      return { upstreams };
    } finally {
      await set.close();
    }
  }
}
