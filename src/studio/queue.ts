import type { PgBoss, ConstructorOptions } from 'pg-boss';
import type { Runtime } from '../runtime/context.js';
import { TwlError, messageOf } from '../runtime/errors.js';
import { redactText } from '../runtime/redact.js';

/**
 * The job queue: pg-boss, in its own schema (tasks.schema) of twl's store, on both backends.
 *
 * PostgreSQL: pg-boss's own pool on database.url, with LISTEN/NOTIFY so a worker wakes when a
 * job is created. The embedded store: pg-boss connects with `pg` to the store host's socket in
 * the data directory, as every other twl process does (PGlite behind it is one session; the
 * host runs one client's request or transaction at a time). PGlite's notifications cannot be
 * routed to the right client through the host, so workers poll there (tasks.pollInterval).
 * An embedded store opened by this process alone (no host) has no socket to share: refused.
 */

/** The pg-boss queue that holds the runs of one twl task queue (`--queue`). */
export const jobQueue = (queue: string): string => `twl-tasks.${queue}`;
/** Where pg-boss moves a run that failed for good (retries spent, lease expired): the worker records why. */
export const DEAD_LETTER_QUEUE = 'twl-tasks-dead';

export interface QueueRole {
  /** A worker supervises (expired leases, heartbeats), fires cron schedules and registers itself. */
  worker: boolean;
  /** Connections in pg-boss's pool. */
  max?: number;
  /** pg-boss supervises on its own timer (default: when a worker); false: the caller runs `boss.supervise()`. */
  supervise?: boolean;
  /** Errors of pg-boss's background loops (fetch, heartbeat, cron); default: logged as warnings. */
  onError?: (err: Error) => void;
}

/** pg-boss's connection: PostgreSQL's URL, or the embedded store host's socket. */
async function connection(runtime: Runtime): Promise<Pick<ConstructorOptions, 'connectionString' | 'host' | 'port' | 'user' | 'database'> & { notify: boolean }> {
  const url = runtime.config.database.url;
  if (url) return { connectionString: url, notify: true };
  const store = await runtime.store();
  if (store.backend !== 'embedded-host') {
    throw new TwlError('TWL_STORE_UNAVAILABLE', 'Tasks need the embedded store shared through its host, and this process opened it alone (store.autoHost is off and no host runs).', {
      actions: ['Start `twl worker` or `twl serve` (they host the store), or `twl db host`, then run this again.', 'Or set store.autoHost (default 2m) so commands start a background host.'],
    });
  }
  const { embeddedPaths } = await import('../store/embedded.js');
  return { host: embeddedPaths(runtime.loaded.home).runDir, port: 5432, user: 'postgres', database: 'postgres', notify: false };
}

/** Opens (creating or migrating its schema) the job queue for this process. */
export async function openQueue(runtime: Runtime, role: QueueRole): Promise<PgBoss> {
  const { PgBoss } = await import('pg-boss');
  const { notify, ...conn } = await connection(runtime);
  const cfg = runtime.config.tasks;
  const boss = new PgBoss({
    ...conn,
    schema: cfg.schema,
    max: role.max ?? 4,
    application_name: role.worker ? 'twl worker' : 'twl',
    supervise: role.supervise ?? role.worker,
    schedule: role.worker,
    registerInstance: role.worker,
    instanceName: role.worker ? 'twl worker' : undefined,
    useListenNotify: role.worker && notify,
    superviseIntervalSeconds: Math.max(1, Math.round(cfg.superviseInterval / 1000)),
    monitorIntervalSeconds: Math.max(1, Math.round(cfg.superviseInterval / 1000)),
    // Cron: a pass every few seconds, so an occurrence is enqueued soon after its minute starts.
    cronMonitorIntervalSeconds: 5,
    cronWorkerIntervalSeconds: 5,
    persistWarnings: false,
  });
  boss.on('error', role.onError ?? ((err: Error) => runtime.logger.warn({ err: redactText(messageOf(err)) }, 'job queue error')));
  boss.on('warning', (w: { message: string }) => runtime.logger.debug({ warning: redactText(w.message) }, 'job queue warning'));
  try {
    await boss.start();
    await ensureQueues(boss, runtime, ['default']);
  } catch (err) {
    await boss.stop({ graceful: false, close: true }).catch(() => undefined);
    if (err instanceof TwlError) throw err;
    throw new TwlError('TWL_STORE_UNAVAILABLE', `The job queue (pg-boss, schema ${cfg.schema}) could not start: ${redactText(messageOf(err))}`, { cause: err });
  }
  return boss;
}

const ensured = new WeakMap<PgBoss, Set<string>>();

/** Creates the pg-boss queues of these twl queues (and the dead-letter queue) once per process. */
export async function ensureQueues(boss: PgBoss, runtime: Runtime, queues: string[]): Promise<void> {
  let done = ensured.get(boss);
  if (!done) ensured.set(boss, (done = new Set()));
  const cfg = runtime.config.tasks;
  for (const name of [DEAD_LETTER_QUEUE, ...queues.map(jobQueue)]) {
    if (done.has(name)) continue;
    if (!(await boss.getQueue(name))) {
      const dead = name === DEAD_LETTER_QUEUE;
      await boss
        .createQueue(name, {
          // The lease: a run whose worker stops sending heartbeats is retried by another worker.
          heartbeatSeconds: Math.round(cfg.heartbeat / 1000),
          retryBackoff: true,
          ...(dead ? { retryLimit: 5 } : { deadLetter: DEAD_LETTER_QUEUE }),
        })
        .catch(async (err: unknown) => {
          // Another process created it at the same moment.
          if (!(await boss.getQueue(name))) throw err;
        });
    }
    done.add(name);
  }
}
