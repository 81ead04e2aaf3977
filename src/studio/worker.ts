import type { JobResult, JobWithMetadata, PgBoss } from 'pg-boss';
import type { Runtime } from '../runtime/context.js';
import { workerSeries, type WorkerSeries } from '../runtime/metrics.js';
import { processName } from '../runtime/process-name.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { isTwlError, messageOf, namespaceRefusalOf } from '../runtime/errors.js';
import { redactText } from '../runtime/redact.js';
import { isConnectionError } from '../store/postgres.js';
import type { Store } from '../store/types.js';
import { TASK_ROLE, callTool } from './call.js';
import { DEAD_LETTER_QUEUE, ensureQueues, jobQueue, openQueue } from './queue.js';
import { isPermanent, type RunData } from './service.js';
import { appendOutput, claimRun, expiredGrantOf, finishRun, getTask, loseRunning, revokedKeyOf, transition, type Task, type Execution, type TaskStatus, type ToolCall } from './tasks.js';

export interface WorkerOptions {
  /** Task runs at once, per queue. */
  concurrency: number;
  /** The twl task queues to take runs from. */
  queues: string[];
  /** Recorded on each execution: who ran it. */
  name?: string;
  /** Where the worker says what the operator should know (the store went away, came back): stderr. */
  say?: (line: string) => void;
}

/** Jobs fetched per round: a busy queue is drained without waiting for a poll between runs. */
const BATCH = 4;
/** How often a running task's status is read, to stop it when someone cancels it. */
const CANCEL_CHECK_MS = 1000;
/** Output lines are written in small batches, at most this long after they are produced. */
const OUTPUT_FLUSH_MS = 100;
/** How often a worker deletes what the store keeps no longer (at its supervision passes). */
const MAINTAIN_MS = 60_000;
/** pg-boss's name of a twl task queue, less the queue's own name. */
const QUEUE_PREFIX = jobQueue('');
/** A queue loop that has not polled for this many poll intervals (and runs nothing) is stalled. */
const STALL_POLLS = 3;
/** …and at least this long, however short the poll interval. */
const STALL_MIN_MS = 15_000;
/** How often pg-boss polls a queue it also hears of by LISTEN/NOTIFY (PostgreSQL): its backstop. */
const NOTIFY_POLL_MS = 30_000;

/** One queue loop of a worker as pg-boss reports it (WipData). */
export interface LoopState {
  queue: string;
  /** Jobs it holds now: a busy loop does not poll until its batch is done. */
  count: number;
  createdOn: number;
  lastFetchedOn: number | null;
}

/** What a worker's /healthz and /readyz say. */
export interface WorkerHealth {
  status: 'ok' | 'starting' | 'stopping' | 'stalled' | 'store_unreachable';
  /** Why it is not ok, in a line (no addresses, no secrets). */
  reason?: string;
  worker: string;
  queues: Array<{ queue: string; lastPoll: string | null; busy: boolean }>;
  runsInFlight: number;
}

/**
 * A worker's health from its loops and its store: stalled when an idle loop has not polled for
 * stallMs (its timer or its fetch hangs), store_unreachable while the store does not answer.
 */
export function judgeHealth(s: { loops: LoopState[]; now: number; stallMs: number; storeDownSince?: number; stopping: boolean; backend: string }): Pick<WorkerHealth, 'status' | 'reason'> {
  if (s.stopping) return { status: 'stopping', reason: 'the worker is stopping: it takes no new runs and finishes those in flight' };
  if (s.storeDownSince !== undefined) {
    const what = s.backend === 'postgres' ? 'PostgreSQL' : 'the store';
    return { status: 'store_unreachable', reason: `${what} has been unreachable for ${Math.round((s.now - s.storeDownSince) / 1000)} s: the worker waits for it (runs in flight keep their results)` };
  }
  if (!s.loops.length) return { status: 'stalled', reason: 'no queue loop is running' };
  for (const l of s.loops) {
    const since = s.now - (l.lastFetchedOn ?? l.createdOn);
    if (l.count === 0 && since > s.stallMs) return { status: 'stalled', reason: `the loop of queue ${l.queue} has not polled for ${Math.round(since / 1000)} s (more than ${Math.round(s.stallMs / 1000)} s)` };
  }
  return { status: 'ok' };
}

/** The one-line form of an output value, bounded. */
const brief = (value: unknown): string => {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 500 ? `${text.slice(0, 500)}… (${text.length} characters)` : text;
};

/** Output lines of one execution: written as produced, a few at a time. */
class OutputWriter {
  private pending: string[] = [];
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly executionId: number,
  ) {}

  line(text: string): void {
    this.pending.push(redactText(text).slice(0, 4000));
    this.timer ??= setTimeout(() => void this.flush(), OUTPUT_FLUSH_MS);
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      const lines = this.pending;
      this.pending = [];
      if (!lines.length) return;
      // Store unreachable: the lines wait for the next write (the run's last one at the latest).
      await appendOutput(this.store, this.executionId, lines).catch(() => this.pending.unshift(...lines));
    });
    return this.writing;
  }

  /** No more lines: those not written yet, for the statement that ends the run. */
  async close(): Promise<string[]> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.writing;
    const lines = this.pending;
    this.pending = [];
    return lines;
  }
}

/** True when an error says the store could not be reached, not that a statement failed. */
const isStoreDown = (err: unknown): boolean => (isTwlError(err) ? err.code === 'TWL_STORE_UNAVAILABLE' : isConnectionError(err));

/**
 * What the worker knows of its store's reachability. It says once that the store went away and
 * once that it came back; between the two, runs in flight wait for it with their results
 * (never lost, never run twice), and nothing new is taken.
 */
class StoreWatch {
  /** When the store stopped answering, while it does not. */
  downSince?: number;
  private lastFailure = 0;
  private probe?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly say: (line: string) => void,
  ) {}

  private get what(): string {
    return this.store.backend === 'postgres' ? `PostgreSQL (${this.store.location})` : `the store (${this.store.location})`;
  }

  failed(err: unknown): void {
    this.lastFailure = Date.now();
    if (this.downSince !== undefined) return;
    this.downSince = Date.now();
    this.say(`${this.what} is unreachable (${redactText(messageOf(err)).slice(0, 300)}): waiting for it to come back. Runs in flight keep their results until then; no run is lost or run twice.`);
    // Without a run in flight nothing else would notice it is back.
    this.probe = setInterval(() => void this.store.query('SELECT 1').then(() => this.up(), (e: unknown) => (isStoreDown(e) ? (this.lastFailure = Date.now()) : undefined)), 1000);
    this.probe.unref();
  }

  up(): void {
    if (this.downSince === undefined) return;
    clearInterval(this.probe);
    this.say(`${this.what} is reachable again after ${Math.round((Date.now() - this.downSince) / 1000)} s: resuming.`);
    this.downSince = undefined;
  }

  get down(): boolean {
    return this.downSince !== undefined;
  }

  /** Time since the store last failed: runs' leases are only judged once their workers had time to renew them. */
  get sinceFailure(): number {
    return Date.now() - this.lastFailure;
  }

  close(): void {
    clearInterval(this.probe);
  }
}

/**
 * A task worker: takes runs from the job queue, calls each task's tool, and records every
 * attempt as an execution with its output lines. Any number of workers, in any number of
 * processes and machines, share one queue; a run whose worker dies is retried by another once
 * its lease (tasks.heartbeat) expires.
 *
 * When the store goes away (PostgreSQL stopped, restarted, cut off), the worker says so and
 * waits: a run in flight keeps its result and records it once the store is back, and leases are
 * judged again only after two heartbeats of a reachable store (the worker runs pg-boss's
 * supervision itself for that), so a run whose worker merely waited is not retried beside it.
 */
export class TaskWorker {
  private readonly watch: StoreWatch;
  private supervisor?: NodeJS.Timeout;
  private supervising = false;
  /** When the store's upkeep last ran (maintain). */
  private maintained = 0;
  /** This worker as the holder of a retention pass. */
  private holder?: string;
  /** The upkeep in progress, if any. */
  private maintenance?: Promise<void>;
  /** Aborted when the worker stops: upkeep in progress stops between two batches. */
  private readonly stopping = new AbortController();
  /** Set once stopping has spent its grace: a run waiting for the store gives up (it is retried elsewhere). */
  private givingUp = false;
  /** The Prometheus series of this process's worker (runtime/metrics.ts). */
  private readonly series: WorkerSeries;
  /** Runs being run now, per twl queue. */
  private inFlight = 0;

  private constructor(
    private readonly runtime: Runtime,
    private readonly boss: PgBoss,
    private readonly store: Store,
    readonly name: string,
    say: (line: string) => void,
    queueNames: string[],
  ) {
    this.watch = new StoreWatch(store, say);
    const queues = new Set(queueNames);
    this.loops = () =>
      boss
        .getWipData()
        .filter((w) => w.name.startsWith(QUEUE_PREFIX) && queues.has(w.name.slice(QUEUE_PREFIX.length)))
        .map((w) => ({ queue: w.name.slice(QUEUE_PREFIX.length), count: w.count, createdOn: w.createdOn, lastFetchedOn: w.lastFetchedOn }));
    const poll = runtime.config.tasks.pollInterval;
    // On PostgreSQL an idle queue is polled at pg-boss's NOTIFY backstop only (a notification wakes it sooner).
    this.stallMs = Math.max(STALL_POLLS * (store.backend === 'postgres' ? Math.max(NOTIFY_POLL_MS, poll) : poll), STALL_MIN_MS);
    this.series = workerSeries(() => {
      const health = this.health();
      return { lastPolls: this.lastPolls(), storeReachable: !this.watch.down, healthy: health.status === 'ok' };
    });
    this.series.info.set({ worker: name, queue_backend: store.backend }, 1);
    // Every queue's series from 0, so a rate over the first run is right.
    for (const queue of queueNames) {
      this.series.claimed.inc({ queue }, 0);
      this.series.inFlight.inc({ queue }, 0);
      for (const outcome of ['completed', 'retried', 'failed', 'cancelled']) this.series.finished.inc({ queue, outcome }, 0);
    }
  }

  private readonly loops: () => LoopState[];
  /** How long an idle queue loop may go without polling before the worker counts as stalled. */
  readonly stallMs: number;

  /** Each queue's last poll (of its loops, the latest), Unix milliseconds. */
  private lastPolls(): Array<{ queue: string; at: number | null }> {
    const by = new Map<string, number | null>();
    for (const l of this.loops()) by.set(l.queue, Math.max(by.get(l.queue) ?? 0, l.lastFetchedOn ?? 0) || null);
    return [...by].map(([queue, at]) => ({ queue, at }));
  }

  /** Whether the worker polls its queues and its store answers (GET /healthz of `twl worker --metrics`). */
  health(): WorkerHealth {
    const judged = judgeHealth({ loops: this.loops(), now: Date.now(), stallMs: this.stallMs, storeDownSince: this.watch.downSince, stopping: this.stopping.signal.aborted, backend: this.store.backend });
    return { ...judged, worker: this.name, queues: this.lastPolls().map((p) => ({ queue: p.queue, lastPoll: p.at === null ? null : new Date(p.at).toISOString(), busy: this.loops().some((l) => l.queue === p.queue && l.count > 0) })), runsInFlight: this.inFlight };
  }

  static async start(runtime: Runtime, options: WorkerOptions): Promise<TaskWorker> {
    const store = await runtime.store();
    // pg-boss reports errors from its start on; the worker that classifies them exists after it.
    const ref: { worker?: TaskWorker } = {};
    const boss = await openQueue(runtime, {
      worker: true,
      supervise: false,
      max: Math.min(20, options.concurrency + 3),
      onError: (err) => (ref.worker && isStoreDown(err) ? ref.worker.watch.failed(err) : runtime.logger.warn({ err: redactText(messageOf(err)) }, 'job queue error')),
    });
    const worker = (ref.worker = new TaskWorker(runtime, boss, store, options.name ?? processName(':'), options.say ?? ((line) => runtime.logger.warn(line)), options.queues));
    try {
      await ensureQueues(boss, runtime, options.queues);
      const polling = { pollingIntervalSeconds: runtime.config.tasks.pollInterval / 1000, includeMetadata: true as const, perJobResults: true as const };
      for (const queue of options.queues) {
        await boss.work<RunData>(jobQueue(queue), { ...polling, localConcurrency: options.concurrency, batchSize: BATCH, burstWhenBatchFull: true }, (jobs) => worker.runBatch(jobs as JobWithMetadata<RunData>[]));
      }
      await boss.work<RunData>(DEAD_LETTER_QUEUE, { ...polling, pollingIntervalSeconds: Math.max(2, polling.pollingIntervalSeconds) }, (jobs) => worker.deadBatch(jobs as JobWithMetadata<RunData>[]));
    } catch (err) {
      await boss.stop({ graceful: false, close: true }).catch(() => undefined);
      throw err;
    }
    worker.supervisor = setInterval(() => void worker.supervise(), runtime.config.tasks.superviseInterval);
    runtime.logger.info({ worker: worker.name, queues: options.queues, concurrency: options.concurrency }, 'task worker ready');
    return worker;
  }

  /**
   * pg-boss's supervision pass (leases expired, retention, cron bookkeeping), then twl's own upkeep
   * of the store (maintain), skipped until the store has been reachable for two heartbeats: right
   * after an outage every lease looks expired, and the workers that were only waiting need a
   * heartbeat to say they are alive.
   */
  private async supervise(): Promise<void> {
    if (this.supervising || this.watch.down || this.watch.sinceFailure < 2 * this.runtime.config.tasks.heartbeat) return;
    this.supervising = true;
    try {
      await this.boss.supervise();
      // Beside, not in, the supervision: a long backlog to delete never delays the lease checks.
      this.maintenance ??= this.maintain().finally(() => (this.maintenance = undefined));
    } catch (err) {
      if (isStoreDown(err)) this.watch.failed(err);
      else this.runtime.logger.warn({ err: redactText(messageOf(err)) }, 'job queue supervision failed');
    } finally {
      this.supervising = false;
    }
  }

  /**
   * The store's upkeep, at most once per MAINTAIN_MS (the first supervision pass included): frees
   * the agents held by a run whose process died (as a lost lease frees a task run), and, when a
   * retention pass is due (which first marks failed the workflow runs whose lease ran out) and no other process (another worker, serve, the store host) holds it,
   * deletes what is past its retention (store/retention.ts: change-feed events, op calls, the run
   * history, the audit trails when store.auditRetention is set), a batch per statement, a bounded
   * number of batches per pass (a large backlog takes several passes), until the worker stops.
   */
  private async maintain(): Promise<void> {
    if (Date.now() - this.maintained < MAINTAIN_MS) return;
    this.maintained = Date.now();
    try {
      const { releaseLostAgents } = await import('./agents-run.js');
      for (const { agent, run } of await releaseLostAgents(this.store)) this.runtime.logger.warn({ agent, run }, `freed agent ${agent}: its run #${run} stopped answering while it held it`);
      const { PASS_BATCHES, holderName, logLost, prunePass } = await import('../store/retention.js');
      this.holder ??= holderName(`twl worker ${this.name}`);
      const pass = await prunePass(this.store, this.runtime.config.store, { holder: this.holder, maxBatches: PASS_BATCHES, signal: this.stopping.signal });
      logLost(this.runtime.logger, pass?.lost);
      if (pass && Object.values(pass.deleted).some(Boolean)) this.runtime.logger.info({ deleted: pass.deleted }, 'deleted rows past their retention');
    } catch (err) {
      if (isStoreDown(err)) this.watch.failed(err);
      else this.runtime.logger.warn({ err: redactText(messageOf(err)) }, 'the store\'s upkeep failed');
    }
  }

  /** Stops taking runs, lets the runs in flight finish within graceMs (the rest are retried elsewhere). */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.supervisor);
    this.stopping.abort();
    const giveUp = setTimeout(() => (this.givingUp = true), graceMs);
    try {
      await this.boss.stop({ graceful: true, close: true, timeout: graceMs });
    } finally {
      clearTimeout(giveUp);
      this.watch.close();
      // It stops after the batch in progress.
      await this.maintenance;
    }
  }

  /** Runs a store statement until the store answers: while it is unreachable, waits (and says so once). */
  private async durably<T>(fn: () => Promise<T>): Promise<T> {
    for (let wait = 250; ; wait = Math.min(2 * wait, 2000)) {
      try {
        const result = await fn();
        this.watch.up();
        return result;
      } catch (err) {
        if (!isStoreDown(err) || this.givingUp) throw err;
        this.watch.failed(err);
        await sleep(wait);
      }
    }
  }

  private async runBatch(jobs: JobWithMetadata<RunData>[]): Promise<JobResult[]> {
    const results: JobResult[] = [];
    // One after another: --concurrency loops each run one task at a time.
    for (const job of jobs) results.push(await this.runJob(job));
    return results;
  }

  private async runJob(job: JobWithMetadata<RunData>): Promise<JobResult> {
    const done = (output?: object): JobResult => ({ id: job.id, status: 'completed', output });
    const attempt = job.retryCount + 1;
    // Claim the run and open its execution in one statement (asked again if the store went away meanwhile).
    const claim = await this.durably(() => claimRun(this.store, { taskId: job.data.taskId, jobId: job.id, attempt, worker: this.name }));
    if ('skipped' in claim) {
      if (claim.task) this.runtime.logger.info({ task: claim.task.id, status: claim.task.status, why: claim.skipped }, 'task run skipped');
      return done({ skipped: claim.skipped });
    }
    const { task, execution, takeover } = claim;
    // Counted from the claim to the run's last record: its outcome, once that is written.
    const queue = job.name.slice(QUEUE_PREFIX.length);
    this.series.claimed.inc({ queue });
    this.series.inFlight.inc({ queue });
    this.inFlight++;
    const started = performance.now();
    let outcome: 'completed' | 'retried' | 'failed' | 'cancelled' | undefined;
    try {
      return await this.runClaimed(job, task, execution, takeover, attempt, (o) => (outcome = o));
    } finally {
      this.inFlight--;
      this.series.inFlight.dec({ queue });
      if (outcome) {
        this.series.finished.inc({ queue, outcome });
        this.series.duration.observe({ queue, outcome }, (performance.now() - started) / 1000);
      }
    }
  }

  /** A claimed run: its tool or agent called, its attempt recorded; `ended` says how it ended. */
  private async runClaimed(
    job: JobWithMetadata<RunData>,
    task: Task,
    execution: Execution,
    takeover: boolean,
    attempt: number,
    ended: (outcome: 'completed' | 'retried' | 'failed' | 'cancelled') => void,
  ): Promise<JobResult> {
    const done = (output?: object): JobResult => ({ id: job.id, status: 'completed', output });
    const out = new OutputWriter(this.store, execution.id);
    out.line(`attempt ${attempt} of ${task.retries + 1} on ${this.name}${takeover ? ' (the previous attempt lost its worker)' : ''}: ${task.kind === 'agent' ? `running agent ${String(task.input.agent)}` : `calling ${task.tool}`}`);
    // The run acts for the key that created it: once that key is revoked (or gone), it fails closed;
    // and for the OAuth caller that created it only while that caller's token was valid (its `exp`).
    const revoked = await this.durably(() => revokedKeyOf(this.store, task));
    const expired = revoked ? undefined : expiredGrantOf(task);
    if (revoked || expired) {
      const refused = await this.refuseClosed(job, task, execution, out, revoked ? { code: 'TWL_KEY_REVOKED', why: revoked } : { code: 'TWL_GRANT_EXPIRED', why: expired! });
      ended('failed');
      return refused;
    }

    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(new DOMException(`the task did not finish within ${task.timeoutMs} ms`, 'TimeoutError')), task.timeoutMs);
    let cancelled = false;
    const watch = setInterval(() => {
      void getTask(this.store, task.id)
        .then((t) => {
          if (t.status === 'cancelled' && !controller.signal.aborted) {
            cancelled = true;
            controller.abort(new DOMException('the task was cancelled', 'AbortError'));
          }
        })
        .catch(() => undefined);
    }, CANCEL_CHECK_MS);
    const started = performance.now();
    const call: ToolCall = { tool: task.tool ?? `agent:${String(task.input.agent)}`, ok: false, ms: 0 };
    // An agent task's tool calls are its agents' (every run of the delegation tree), recorded as they end.
    let agentCalls: ToolCall[] | undefined;
    /** The attempt's end, its last lines and the task's next status in one statement, waiting for the store if it must. */
    const finish = async (f: { status: 'completed' | 'failed' | 'cancelled'; output?: unknown; error?: string; next?: TaskStatus; reason?: string | null }) => {
      const lines = await out.close();
      if (task.kind === 'agent' && f.status !== 'completed') agentCalls = await this.agentCallsOf(execution.id);
      await this.durably(() => finishRun(this.store, { taskId: task.id, executionId: execution.id, lines, toolCalls: agentCalls ?? [call], ...f }));
    };
    let output: unknown;
    let failure: { err: unknown } | undefined;
    try {
      if (task.kind === 'agent') {
        const [{ runAgent }, { reviveForTask }] = await Promise.all([import('./agents-run.js'), import('./agents-service.js')]);
        const revived = await reviveForTask(this.runtime, String(task.input.agent), task.id, task.namespaces ?? undefined);
        if (revived) out.line(revived);
        const { run, steps } = await runAgent(this.runtime, String(task.input.agent), String(task.input.prompt), {
          actor: `task:${task.id}`,
          role: TASK_ROLE,
          // The grant of the key that created the task: the agent's tools are cut to it.
          ...(task.namespaces ? { namespaces: task.namespaces } : {}),
          signal: controller.signal,
          ask: () => Promise.resolve(undefined),
          line: (text) => out.line(text),
          executionId: execution.id,
        });
        agentCalls = steps.filter((s) => s.kind !== 'model').map((s) => ({ tool: s.kind === 'delegate' ? `delegate:${s.name}` : (s.name ?? s.kind), ok: s.ok, ms: s.ms, ...(s.error ? { error: s.error } : {}) }));
        output = { run: run.id, agent: run.agent, mode: run.mode, output: run.output, steps: steps.length };
      } else {
        output = await callTool(this.runtime, task.tool!, task.input, {
          signal: controller.signal,
          line: (text) => out.line(text),
          actor: `task:${task.id}`,
          // The grant of the key that created the task: the tool, and a workflow's steps, are checked against it.
          ...(task.namespaces ? { namespaces: task.namespaces } : {}),
          approved: !task.needsApproval || task.approvedBy !== null,
        });
      }
    } catch (err) {
      failure = { err };
    } finally {
      clearTimeout(timeout);
      clearInterval(watch);
    }
    call.ms = Math.round(performance.now() - started);
    if (!failure) {
      call.ok = true;
      out.line(`completed in ${call.ms} ms: ${brief(output)}`);
      await finish({ status: 'completed', output, next: task.cron ? 'scheduled' : 'completed', reason: null });
      ended('completed');
      return done();
    }
    // Refused by the creator's grant: said with its code, in the error and the output, so the operator sees why at once.
    const refusal = cancelled || controller.signal.aborted ? undefined : namespaceRefusalOf(failure.err);
    const message = redactText(cancelled ? 'cancelled while it ran' : controller.signal.aborted ? messageOf(controller.signal.reason) : refusal ? `${refusal.code}: ${refusal.message}` : messageOf(failure.err));
    call.error = message;
    out.line(`failed after ${call.ms} ms: ${message}`);
    if (cancelled) {
      await finish({ status: 'cancelled', error: message });
      ended('cancelled');
      return done({ cancelled: true });
    }
    if (isPermanent(failure.err)) {
      // It would fail the same way again: no retry.
      await finish({ status: 'failed', error: message, ...(refusal ? { output: { error: { code: refusal.code, message: redactText(refusal.message) } } } : {}), next: task.cron ? 'scheduled' : 'failed', reason: `${task.cron ? 'last run failed: ' : ''}${message}` });
      ended('failed');
      return done({ failed: message });
    }
    if (job.retryCount < job.retryLimit) {
      await finish({ status: 'failed', error: message, next: 'queued', reason: `attempt ${attempt} failed: ${message}; retrying` });
      ended('retried');
    } else {
      const reason = `dead-lettered after ${attempt} attempt${attempt > 1 ? 's' : ''}; the last failed with: ${message}`;
      await finish({ status: 'failed', error: message, next: task.cron ? 'scheduled' : 'dead_letter', reason });
      ended('failed');
    }
    return { id: job.id, status: 'failed', output: { error: message } };
  }

  /**
   * A run of a task whose creator's grant is gone: its creating key was revoked (TWL_KEY_REVOKED), or
   * the OAuth access token that created it expired (TWL_GRANT_EXPIRED). The execution fails before
   * anything is called, with an audit row of the refusal, and is not retried. The task goes failed
   * (a cron task too: its schedule is removed, rather than paused, since resuming it could only fail
   * again; it is created again under a live key, or from the command line).
   */
  private async refuseClosed(job: JobWithMetadata<RunData>, task: Task, execution: Execution, out: OutputWriter, refusal: { code: 'TWL_KEY_REVOKED' | 'TWL_GRANT_EXPIRED'; why: string }): Promise<JobResult> {
    const { code, why } = refusal;
    const whose = code === 'TWL_KEY_REVOKED' ? 'a revoked key\'s task' : 'a task whose OAuth grant expired';
    // The schedule goes before the task is failed, so whoever sees it failed finds no schedule left.
    const unscheduled = task.cron
      ? await this.boss.unschedule(jobQueue(task.queue), String(task.id)).then(
          () => true,
          (err: unknown) => {
            this.runtime.logger.warn({ task: task.id, err: redactText(messageOf(err)) }, `could not remove the schedule of ${whose} (its runs are refused: it is failed)`);
            return false;
          },
        )
      : false;
    const message = `${code}: ${why}${unscheduled ? ' Its schedule was removed.' : task.cron ? ' Its schedule could not be removed: its next runs are refused the same way.' : ''}`;
    const tool = task.tool ?? `agent:${String(task.input.agent)}`;
    out.line(`refused: ${message}`);
    await this.runtime.tools
      .refused?.(tool, task.input, { face: this.runtime.face, actor: `task:${task.id}`, role: TASK_ROLE, via: 'task', ...(task.namespaces ? { namespaces: task.namespaces } : {}), ...(task.createdByKey !== null ? { keyId: task.createdByKey } : {}) }, code)
      .catch((err: unknown) => this.runtime.logger.warn({ task: task.id, err: redactText(messageOf(err)) }, `could not record the refusal of ${whose}`));
    const lines = await out.close();
    await this.durably(() =>
      finishRun(this.store, { taskId: task.id, executionId: execution.id, lines, status: 'failed', error: message, output: { error: { code, message: why } }, toolCalls: [{ tool, ok: false, ms: 0, error: message }], next: 'failed', reason: message }),
    );
    this.runtime.logger.warn({ task: task.id, ...(code === 'TWL_KEY_REVOKED' ? { key: task.createdByKey } : { grantExpiresAt: task.grantExpiresAt }) }, message);
    return { id: job.id, status: 'completed', output: { failed: message } };
  }

  /**
   * Runs pg-boss gave up on. Those a handler failed are recorded already; these are the ones
   * whose every attempt lost its worker (leases expired), which no handler saw end.
   */
  private async deadBatch(jobs: JobWithMetadata<RunData>[]): Promise<JobResult[]> {
    for (const job of jobs) {
      const task = await this.durably(() => getTask(this.store, job.data.taskId)).catch(() => undefined);
      if (!task || (task.status !== 'running' && task.status !== 'queued')) continue;
      const why = 'the worker stopped answering (killed or cut off) and no retry was left';
      await this.durably(() => loseRunning(this.store, task.id, why));
      await this.durably(() => transition(this.store, task.id, task.cron ? 'scheduled' : 'dead_letter', { from: ['running', 'queued'], reason: `dead-lettered: ${why}` })).catch((e: unknown) => this.ignoreState(e));
    }
    return jobs.map((j) => ({ id: j.id, status: 'completed' }));
  }

  /** The tool calls of the agent runs of a failed execution, from their record. */
  private async agentCallsOf(executionId: number): Promise<ToolCall[]> {
    const { rows } = await this.store
      .query<{ kind: string; name: string | null; ok: boolean; ms: number; error: string | null }>(
        "SELECT s.kind, s.name, s.ok, s.ms, s.error FROM twl_agent_steps s JOIN twl_agent_runs r ON r.id = s.run_id WHERE r.execution_id = $1 AND s.kind <> 'model' ORDER BY s.id",
        [executionId],
      )
      .catch(() => ({ rows: [] }));
    return rows.map((s) => ({ tool: s.kind === 'delegate' ? `delegate:${s.name}` : (s.name ?? s.kind), ok: Boolean(s.ok), ms: Number(s.ms), ...(s.error ? { error: s.error } : {}) }));
  }

  /** A status change refused because someone else changed the task meanwhile (cancelled it): theirs stands. */
  private ignoreState(err: unknown): void {
    if (isTwlError(err) && err.code === 'TWL_TASK_STATE') return;
    throw err;
  }
}
