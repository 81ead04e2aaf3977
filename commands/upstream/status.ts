import { Args } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { messageOf } from '../../src/runtime/errors.js';
import { redactText } from '../../src/runtime/redact.js';
import { configuredUpstreams, openSet, pick } from '../../src/tools/upstreams.js';
import type { UpstreamStatus } from '../../src/upstream/types.js';

interface Result {
  upstreams: Array<UpstreamStatus & { origin: 'config' | 'store'; tools: number | null; error: string | null }>;
}

export default class UpstreamStatusCommand extends TwlCommand<Result> {
  static override summary = 'Check every upstream (or one): start or reach it, and show its state, children, tools and breaker.';
  static override description =
    'Each upstream is started (stdio) or reached (HTTP) from this process and asked for its tools, all at once, then stopped: states are starting, ready, restarting, crash-loop and stopped, with the reason when it is not ready (secrets hidden). ' +
    'A running `twl serve --http` shows the live state of its own upstreams at /mcp/status.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> ev --json'];
  static override args = { name: Args.string({ description: 'Only this upstream.' }) };

  async run(): Promise<Result> {
    const { args } = await this.parse(UpstreamStatusCommand);
    const runtime = await this.runtime();
    let configured = await configuredUpstreams(runtime, (m) => this.note(m));
    if (args.name) configured = [pick(configured, args.name)];
    const set = await openSet(runtime, configured.map((u) => u.entry));
    try {
      const upstreams = await Promise.all(
        configured.map(async ({ entry, origin }) => {
          const upstream = set.get(entry.name)!;
          let tools: number | null = null;
          let error: string | null = null;
          try {
            tools = (await upstream.listTools()).length;
          } catch (err) {
            error = redactText(messageOf(err));
          }
          return { ...upstream.status(), origin, tools, error };
        }),
      );
      if (!this.jsonEnabled()) {
        if (!upstreams.length) this.log('No upstreams. Add one with `twl upstream add NAME -- COMMAND ARGS…`.');
        else this.log(table(['NAME', 'STATE', 'TRANSPORT', 'CHILDREN', 'TOOLS', 'BREAKER', 'REASON'], upstreams.map((u) => [u.name, u.state, u.transport, u.children.map((c) => c.pid ?? c.state).join(' ') || '—', u.tools ?? '—', u.breaker, u.error ?? u.reason ?? ''])));
      }
      return { upstreams };
    } finally {
      await set.close();
    }
  }
}
