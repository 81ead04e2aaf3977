import { Flags } from '@oclif/core';
import { TwlCommand } from '../src/cli/base.js';
import { durationHint, parseDuration } from '../src/runtime/duration.js';
import { TwlError } from '../src/runtime/errors.js';

interface Result {
  worker: string;
  /** Where --metrics listened, if it did. */
  metrics?: string;
  queues: string[];
  concurrency: number;
  reason: string;
}

export default class Worker extends TwlCommand<Result> {
  static override summary = 'Run tasks from the job queue until stopped.';
  static override description =
    'Takes runs of tasks (`twl task create`) from the job queue (pg-boss, in the tasks.schema schema of twl\'s store) and runs them, up to --concurrency at once per queue. ' +
    'Start as many workers as you like, on as many machines as share one PostgreSQL (database.url): each run goes to one of them, and each cron tick fires once whatever their number. ' +
    'A worker that dies mid-run (killed, machine lost) loses nothing: once its lease expires (tasks.heartbeat) another worker retries the run, and the task\'s executions show both attempts. ' +
    'When its store goes away (PostgreSQL stopped or restarted), it says so on stderr and waits: runs in flight keep their results and record them once the store is back, and none is lost or run twice. ' +
    'On the embedded store it hosts the store (or shares the host already running). SIGTERM or Ctrl-C stops taking runs and lets the running ones finish within --grace; what is left is retried by another worker. ' +
    'Once a minute it also looks after the store: it frees an agent left busy by a run whose process died and, taking turns with the other twl processes of the store, deletes what is past its retention, a batch at a time (change-feed events past store.eventRetention, the run history past store.runRetention, op calls, the audit trails only when store.auditRetention is set: see `twl db prune`). ' +
    'With --metrics [host:]port it also listens there (127.0.0.1 unless an address is given) for GET /metrics (Prometheus: its runs claimed, ended and in flight by queue and outcome, their durations, its last poll of each queue, the ops its runs called, the process), /healthz (200 while its queue loops poll and its store answers; 503 with the reason as JSON when a loop stalled or the store is unreachable), /livez (503 only when a loop stalled: for a liveness probe, which should not restart a worker waiting for its store) and /readyz (as /healthz, and 503 while it starts or stops). No key is asked and no secret is shown; bind another address than loopback only on a private network.';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --concurrency 8 --queues default --queues reports', '<%= config.bin %> <%= command.id %> --grace 1m --verbose', '<%= config.bin %> <%= command.id %> --metrics 9464', '<%= config.bin %> <%= command.id %> --metrics 0.0.0.0:9464 --name worker-1'];
  static override flags = {
    concurrency: Flags.integer({ description: 'Runs at once, per queue.', default: 4, min: 1, max: 64 }),
    queues: Flags.string({ description: 'The task queues to take runs from (repeat).', multiple: true, default: ['default'] }),
    grace: Flags.string({ description: `On SIGTERM or Ctrl-C, how long running tasks get to finish (${durationHint}).`, default: '30s' }),
    name: Flags.string({ description: 'This worker\'s name on executions (default host:pid).' }),
    metrics: Flags.string({ description: 'Serve GET /metrics, /healthz, /livez and /readyz on [host:]port (host 127.0.0.1 unless given; port 0: any free one, said on stderr). Off unless set.', helpValue: '[HOST:]PORT' }),
  };

  protected override runtimeOptions() {
    return { ...super.runtimeOptions(), role: 'twl worker', host: true, actor: 'worker' };
  }

  async run(): Promise<Result> {
    const { flags } = await this.parse(Worker);
    const graceMs = parseDuration(flags.grace);
    if (graceMs === undefined) throw new TwlError('TWL_INPUT_INVALID', `--grace "${flags.grace}" is not a duration: expected ${durationHint}.`);
    const bad = flags.queues.find((q) => !/^[a-z0-9][a-z0-9_-]{0,31}$/.test(q));
    if (bad !== undefined) throw new TwlError('TWL_INPUT_INVALID', `--queues "${bad.slice(0, 40)}" is not a queue name: lowercase letters, digits, - and _ (up to 32).`);
    const { parseListenAddress, isLoopback } = await import('../src/http/worker-endpoint.js');
    const address = flags.metrics === undefined ? undefined : parseListenAddress(flags.metrics);
    const runtime = await this.runtime();
    // `on`, not `once`: the lock library's exit hook re-sends a signal nobody else listens to,
    // and a `once` listener is gone by the time it looks, so the process would die mid-shutdown.
    const signals = new Promise<string>((resolve) => {
      process.on('SIGINT', () => resolve('interrupted'));
      process.on('SIGTERM', () => resolve('terminated'));
    });
    const { TaskWorker } = await import('../src/studio/worker.js');
    // Listening before the worker takes a run: an address that cannot be bound stops it with nothing taken.
    let worker: Awaited<ReturnType<typeof TaskWorker.start>> | undefined;
    const endpoint = address && (await (await import('../src/http/worker-endpoint.js')).startWorkerEndpoint({ ...address, health: () => worker?.health(), logger: runtime.logger }));
    try {
      worker = await TaskWorker.start(runtime, { concurrency: flags.concurrency, queues: flags.queues, name: flags.name, say: (line) => this.logToStderr(`twl worker: ${line}`) });
    } catch (err) {
      await endpoint?.close();
      throw err;
    }
    if (endpoint) {
      this.logToStderr(`twl worker: metrics at ${endpoint.url}/metrics, health at ${endpoint.url}/healthz, /livez and /readyz`);
      if (!isLoopback(address!.host)) this.logToStderr(`twl worker: ${endpoint.url} answers whoever reaches it, without a key (counts, timings and this worker's name; no secrets): keep it on a private network.`);
    }
    this.logToStderr(`twl worker ${worker.name} takes runs from ${flags.queues.join(', ')} (${flags.concurrency} at once)`);
    const reason = await signals;
    runtime.logger.info({ reason }, 'task worker stopping');
    try {
      // /healthz stays 200 (alive, finishing its runs) and /readyz turns 503 until the runs end.
      await worker.stop(graceMs);
    } finally {
      await endpoint?.close();
    }
    return { worker: worker.name, queues: flags.queues, concurrency: flags.concurrency, ...(endpoint ? { metrics: `${endpoint.url}/metrics` } : {}), reason };
  }
}
