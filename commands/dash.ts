import { Flags } from '@oclif/core';
import path from 'node:path';
import { TwlCommand } from '../src/cli/base.js';
import { loadConfig } from '../src/runtime/config.js';
import { Runtime, type RuntimeOptions } from '../src/runtime/context.js';
import { TwlError } from '../src/runtime/errors.js';
import type { DashSnapshot } from '../src/ui/snapshot.js';

export default class Dash extends TwlCommand<DashSnapshot | void> {
  static override summary = 'The live dashboard: tickets, activity, health, agents and events.';
  static override description =
    'On a terminal, a live full-screen view: open tickets by priority then age (colour by status and sentiment), the selected ticket and its timeline, ' +
    'op calls per minute, p95 latency and error rate per tool group over the last 15 minutes from every twl process, services health, agents, and an event log. ' +
    'Changes made by other processes show within a second (LISTEN on PostgreSQL, a light poll on the embedded store, shared with other twl commands through the background store host).\n\n' +
    'Keys: arrows or j/k move, Enter opens, Esc goes back, Tab changes panel, / filters, a shows every ticket, r resolves the selected ticket (after asking), c creates one, ? helps, q quits. ' +
    'NO_COLOR turns colours off. Logs go to <data dir>/logs/dash.log while it runs.\n\n' +
    'When stdout is not a terminal (cron, pipes) or with --json, prints one snapshot and exits.\n\n' +
    'With --url and --key (or TWL_DASH_KEY), shows a remote twl serve --http through its REST tools instead, with the key\'s role: a viewer key shows everything, ' +
    'creating and resolving need an operator key; changes show within a second (a light poll).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --interval 10s',
    '<%= config.bin %> <%= command.id %> --json --limit 50 > snapshot.json',
    '<%= config.bin %> <%= command.id %> | mail -s "twl morning report" oncall@example.com',
    'TWL_DASH_KEY=twl_… <%= config.bin %> <%= command.id %> --url http://127.0.0.1:30080',
  ];
  static override flags = {
    limit: Flags.integer({ description: 'Tickets in a snapshot (not on a terminal, or with --json).', default: 20, min: 1, max: 1000 }),
    interval: Flags.string({ description: 'How often the activity metrics refresh on the terminal (e.g. 5s); tickets refresh as they change.', default: '5s' }),
    url: Flags.string({ description: 'Show a remote twl serve --http instead of the local store (e.g. http://127.0.0.1:30080); needs --key.', helpValue: 'URL' }),
    key: Flags.string({ description: 'The API key for --url (twl keys create --role viewer on the server; operator to create and resolve tickets).', env: 'TWL_DASH_KEY', helpValue: 'KEY' }),
  };

  private interactive = false;
  private ownRuntime?: Promise<Runtime>;

  protected override runtimeOptions(): RuntimeOptions {
    // The dashboard is a client of the shared store host (started in the background if none runs),
    // keeping its connection so the host stays up: PGlite's memory stays out of the dashboard.
    return { ...super.runtimeOptions(), role: 'twl dash', keepAlive: this.interactive, actor: `dash:${process.env.USER ?? process.env.USERNAME ?? 'user'}` };
  }

  /** On the terminal, logs go to a file: a line on stderr would tear the screen. */
  protected override runtime(): Promise<Runtime> {
    if (!this.interactive) return super.runtime();
    this.ownRuntime ??= (async () => {
      const loaded = await loadConfig();
      const { default: pino } = await import('pino');
      const level = this.argv.includes('--verbose') ? 'debug' : this.argv.includes('--quiet') ? 'error' : loaded.config.log.level;
      const logger = pino(
        { level, base: { pid: process.pid }, redact: { paths: ['*.password', '*.url', 'url', 'password', '*.authorization'], censor: '[redacted]' } },
        pino.destination({ dest: path.join(loaded.home, 'logs', 'dash.log'), mkdir: true, sync: true }),
      );
      return new Runtime(loaded, logger, this.runtimeOptions());
    })();
    return this.ownRuntime;
  }

  async run(): Promise<DashSnapshot | void> {
    const { flags } = await this.parse(Dash);
    // TWL_DASH_KEY alone is ignored without --url (it may stay exported); a --key given on the line is not.
    if (flags.url === undefined && this.argv.some((a) => a === '--key' || a.startsWith('--key='))) {
      throw new TwlError('TWL_INPUT_INVALID', '--key goes with --url (the remote twl serve --http it opens).');
    }
    if (flags.url !== undefined && !flags.key) {
      throw new TwlError('TWL_AUTH_REQUIRED', '--url needs an API key: --key KEY, or TWL_DASH_KEY in the environment.', {
        actions: ['On the server, create one with `twl keys create --role viewer` (operator to create and resolve tickets from the dashboard).'],
      });
    }
    const { parseDuration, durationHint } = await import('../src/runtime/duration.js');
    const metricsMs = parseDuration(flags.interval);
    if (metricsMs === undefined || metricsMs < 1000) throw new TwlError('TWL_INPUT_INVALID', `--interval: expected ${durationHint} of at least 1s, got "${flags.interval}".`);

    this.interactive = Boolean(process.stdout.isTTY && process.stdin.isTTY) && !this.jsonEnabled();
    if (flags.url !== undefined) return this.remote(flags.url, flags.key!, flags.limit, metricsMs);
    const runtime = await this.runtime();
    const { StoreSource } = await import('../src/ui/store-source.js');
    // The agents panel needs only the tool names: from the manifest oclif has loaded already, not from every op module.
    const tools = this.config.commands.flatMap((c) => (c as { op?: { mcpName?: unknown } }).op?.mcpName ?? []).filter((t): t is string => typeof t === 'string');
    if (!this.interactive) {
      const { takeSnapshot, snapshotText } = await import('../src/ui/snapshot.js');
      const source = await StoreSource.open(runtime, { tools });
      const snapshot = await takeSnapshot(source, { limit: flags.limit });
      if (!this.jsonEnabled()) process.stdout.write(snapshotText(snapshot));
      return snapshot;
    }
    try {
      const source = await StoreSource.open(runtime, { tools });
      // React and Ink are loaded here only: `twl --help` and the snapshot never pay for them.
      const [{ runDashboard }, { colorEnabled }] = await Promise.all([import('../src/ui/run.js'), import('../src/ui/format.js')]);
      await runDashboard(source, { color: colorEnabled(), intervals: { metricsMs } });
      await source.close();
    } finally {
      await runtime.close();
    }
  }

  /** A remote twl serve --http: no configuration, store or runtime here, only its REST tools. */
  private async remote(url: string, key: string, limit: number, metricsMs: number): Promise<DashSnapshot | void> {
    const { HttpSource } = await import('../src/ui/http-source.js');
    const source = new HttpSource(url, key);
    try {
      // The address and the key are checked before anything else: a clear error, not a screen of failed panels.
      await source.check();
      if (!this.interactive) {
        const { takeSnapshot, snapshotText } = await import('../src/ui/snapshot.js');
        const snapshot = await takeSnapshot(source, { limit });
        if (!this.jsonEnabled()) process.stdout.write(snapshotText(snapshot));
        return snapshot;
      }
      const [{ runDashboard }, { colorEnabled }] = await Promise.all([import('../src/ui/run.js'), import('../src/ui/format.js')]);
      await runDashboard(source, { color: colorEnabled(), intervals: { metricsMs } });
    } finally {
      await source.close();
    }
  }
}
