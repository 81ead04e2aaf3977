import { Flags } from '@oclif/core';
import { TwlCommand } from '../../src/cli/base.js';
import { durationHint, parseDuration } from '../../src/runtime/duration.js';
import { TwlError } from '../../src/runtime/errors.js';

interface Result {
  socket: string;
  reason: string;
}

export default class DbHost extends TwlCommand<Result> {
  static override summary = 'Host the embedded store on a Unix socket for other twl processes.';
  static override description =
    'Opens the embedded store and serves it on <data dir>/run/.s.PGSQL.5432; other twl commands connect to it with pg instead of opening the store themselves (much faster, and safe to run at once). ' +
    'CLI commands start one in the background by themselves (store.autoHost); run it in the foreground to keep it up, or to watch its log. ' +
    'Once a minute it deletes what is past its retention (store.eventRetention, store.runRetention, store.auditRetention: see `twl db prune`), taking turns with the other twl processes of the store. ' +
    'It exits after --idle without connections, when its data directory is removed, or on Ctrl-C. ' +
    'A statement whose client goes away (a command past its --timeout, or killed) is stopped: PGlite cannot cancel it, so the host starts a new engine on the same files. With database.url set there is nothing to host.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --idle 10m --verbose'];
  static override flags = {
    idle: Flags.string({ description: `Exit after this long without connections (${durationHint}); 0: never.`, default: '0' }),
    // Set by CLI commands that start it (store.autoHost): such a host hands the store over to a
    // long-running process (serve, a foreground db host) or a restore that asks, on SIGTERM.
    background: Flags.boolean({ hidden: true }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(DbHost);
    const idleMs = parseDuration(flags.idle);
    if (idleMs === undefined) throw new TwlError('TWL_INPUT_INVALID', `--idle "${flags.idle}" is not a duration: expected ${durationHint}.`);
    const runtime = await this.runtime();
    if (runtime.config.database.url) throw new TwlError('TWL_INPUT_INVALID', 'database.url is set: twl uses that PostgreSQL server, and there is no embedded store to host.');
    const { HANDOVER_MS, hostStore } = await import('../../src/store/open.js');
    const { BACKGROUND_HOST_ROLE, embeddedPaths } = await import('../../src/store/embedded.js');
    const socket = embeddedPaths(runtime.loaded.home).socketPath;
    const { store, ended, hosting, drain } = await hostStore(runtime.loaded, runtime.logger, flags.background ? BACKGROUND_HOST_ROLE : 'twl db host', { idleMs: idleMs || undefined });
    if (!hosting) {
      await store.close();
      throw new TwlError('TWL_STORE_BUSY', 'Another twl process hosts the embedded store already.');
    }
    const signals = new Promise<string>((resolve) => {
      // `on`, not `once`: the lock library's exit hook re-sends a signal nobody else listens to,
      // and a `once` listener is gone by the time it looks, so the process would die mid-shutdown.
      process.on('SIGINT', () => resolve('interrupted'));
      process.on('SIGTERM', () => resolve('terminated'));
    });
    // The store's retention: in an embedded single-user set-up, no worker may ever run to prune it.
    const { keepPruning } = await import('../../src/store/retention.js');
    const stopPruning = keepPruning(store, runtime.config.store, runtime.logger, flags.background ? 'twl db host, in the background' : 'twl db host');
    this.logToStderr(`hosting ${store.location} on ${socket}${idleMs ? `, until idle for ${flags.idle}` : ''}`);
    runtime.logger.info({ socket, idleMs }, 'store host ready');
    const reason = await Promise.race([ended, signals]);
    runtime.logger.info({ reason }, 'store host stopping');
    await stopPruning();
    // Handing over (a long-running process or a restore asked): the connected commands finish first.
    if (reason === 'terminated') await drain(HANDOVER_MS);
    await store.close();
    return { socket, reason };
  }
}
