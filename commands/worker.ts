import { Flags } from '@oclif/core';
import { TwlCommand } from '../src/cli/base.js';
import { durationHint, parseDuration } from '../src/runtime/duration.js';
import { TwlError } from '../src/runtime/errors.js';

interface Result {
  worker: string;
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
    'Once a minute it also looks after the store: it frees an agent left busy by a run whose process died and, taking turns with the other twl processes of the store, deletes what is past its retention, a batch at a time (change-feed events past store.eventRetention, the run history past store.runRetention, op calls, the audit trails only when store.auditRetention is set: see `twl db prune`).';
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --concurrency 8 --queues default --queues reports', '<%= config.bin %> <%= command.id %> --grace 1m --verbose'];
  static override flags = {
    concurrency: Flags.integer({ description: 'Runs at once, per queue.', default: 4, min: 1, max: 64 }),
    queues: Flags.string({ description: 'The task queues to take runs from (repeat).', multiple: true, default: ['default'] }),
    grace: Flags.string({ description: `On SIGTERM or Ctrl-C, how long running tasks get to finish (${durationHint}).`, default: '30s' }),
    name: Flags.string({ description: 'This worker\'s name on executions (default host:pid).' }),
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
    const runtime = await this.runtime();
    // `on`, not `once`: the lock library's exit hook re-sends a signal nobody else listens to,
    // and a `once` listener is gone by the time it looks, so the process would die mid-shutdown.
    const signals = new Promise<string>((resolve) => {
      process.on('SIGINT', () => resolve('interrupted'));
      process.on('SIGTERM', () => resolve('terminated'));
    });
    const { TaskWorker } = await import('../src/studio/worker.js');
    const worker = await TaskWorker.start(runtime, { concurrency: flags.concurrency, queues: flags.queues, name: flags.name, say: (line) => this.logToStderr(`twl worker: ${line}`) });
    this.logToStderr(`twl worker ${worker.name} takes runs from ${flags.queues.join(', ')} (${flags.concurrency} at once)`);
    const reason = await signals;
    runtime.logger.info({ reason }, 'task worker stopping');
    await worker.stop(graceMs);
    return { worker: worker.name, queues: flags.queues, concurrency: flags.concurrency, reason };
  }
}
