import os from 'node:os';
import type { JobResult, JobWithMetadata, PgBoss } from 'pg-boss';
import type { Runtime } from '../runtime/context.js';
import { isTwlError, messageOf } from '../runtime/errors.js';
import { redactText } from '../runtime/redact.js';
import type { Store } from '../store/types.js';
import { TASK_ROLE, callTool } from './call.js';
import { DEAD_LETTER_QUEUE, ensureQueues, jobQueue, openQueue } from './queue.js';
import { isPermanent, type RunData } from './service.js';
import { appendOutput, finishExecution, getTask, loseRunning, startExecution, transition, type Task, type ToolCall } from './tasks.js';

export interface WorkerOptions {
  /** Task runs at once, per queue. */
  concurrency: number;
  /** The twl task queues to take runs from. */
  queues: string[];
  /** Recorded on each execution: who ran it. */
  name?: string;
}

/** Jobs fetched per round: a busy queue is drained without waiting for a poll between runs. */
const BATCH = 4;
/** How often a running task's status is read, to stop it when someone cancels it. */
const CANCEL_CHECK_MS = 1000;
/** Output lines are written in small batches, at most this long after they are produced. */
const OUTPUT_FLUSH_MS = 100;

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

  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const lines = this.pending;
    this.pending = [];
    this.writing = this.writing.then(() => appendOutput(this.store, this.executionId, lines)).catch(() => undefined);
    return this.writing;
  }
}

/**
 * A task worker: takes runs from the job queue, calls each task's tool, and records every
 * attempt as an execution with its output lines. Any number of workers, in any number of
 * processes and machines, share one queue; a run whose worker dies is retried by another once
 * its lease (tasks.heartbeat) expires.
 */
export class TaskWorker {
  private constructor(
    private readonly runtime: Runtime,
    private readonly boss: PgBoss,
    private readonly store: Store,
    readonly name: string,
  ) {}

  static async start(runtime: Runtime, options: WorkerOptions): Promise<TaskWorker> {
    const store = await runtime.store();
    const boss = await openQueue(runtime, { worker: true, max: Math.min(20, options.concurrency + 3) });
    const worker = new TaskWorker(runtime, boss, store, options.name ?? `${os.hostname()}:${process.pid}`);
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
    runtime.logger.info({ worker: worker.name, queues: options.queues, concurrency: options.concurrency }, 'task worker ready');
    return worker;
  }

  /** Stops taking runs, lets the runs in flight finish within graceMs (the rest are retried elsewhere). */
  async stop(graceMs: number): Promise<void> {
    await this.boss.stop({ graceful: true, close: true, timeout: graceMs });
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
    // Claim the run in one statement; only when that is refused, read why.
    let task: Task;
    let takeover = false;
    try {
      task = await transition(this.store, job.data.taskId, 'running', { from: ['queued', 'scheduled'] });
    } catch (err) {
      if (!isTwlError(err) || !['TWL_TASK_STATE', 'TWL_TASK_NOT_FOUND'].includes(err.code)) throw err;
      if (err.code === 'TWL_TASK_NOT_FOUND') return done({ skipped: 'the task no longer exists' });
      task = await getTask(this.store, job.data.taskId);
      // The attempt before this one lost its worker (lease expired): the task is still running, and this takes it over.
      takeover = task.status === 'running' && job.retryCount > 0;
      if (!takeover) {
        // Cancelled, paused, or a cron tick while the previous run still runs: skipped, never two runs of one task at once.
        this.runtime.logger.info({ task: task.id, status: task.status }, 'task run skipped: the task is not waiting to run');
        return done({ skipped: `the task was ${task.status}` });
      }
    }
    const execution = await startExecution(this.store, { taskId: task.id, jobId: job.id, attempt, worker: this.name });
    const out = new OutputWriter(this.store, execution.id);
    out.line(`attempt ${attempt} of ${task.retries + 1} on ${this.name}${takeover ? ' (the previous attempt lost its worker)' : ''}: ${task.kind === 'agent' ? `running agent ${String(task.input.agent)}` : `calling ${task.tool}`}`);

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
    const next = task.cron ? 'scheduled' : 'completed';
    // An agent task's tool calls are its agents' (every run of the delegation tree), recorded as they end.
    let agentCalls: ToolCall[] = [];
    try {
      let output: unknown;
      if (task.kind === 'agent') {
        const { runAgent } = await import('./agents-run.js');
        const { run, steps } = await runAgent(this.runtime, String(task.input.agent), String(task.input.prompt), {
          actor: `task:${task.id}`,
          role: TASK_ROLE,
          signal: controller.signal,
          ask: () => Promise.resolve(undefined),
          line: (text) => out.line(text),
          executionId: execution.id,
        });
        agentCalls = steps.filter((s) => s.kind !== 'model').map((s) => ({ tool: s.kind === 'delegate' ? `delegate:${s.name}` : s.name ?? s.kind, ok: s.ok, ms: s.ms, ...(s.error ? { error: s.error } : {}) }));
        output = { run: run.id, agent: run.agent, mode: run.mode, output: run.output, steps: steps.length };
      } else {
        output = await callTool(this.runtime, task.tool!, task.input, {
          signal: controller.signal,
          line: (text) => out.line(text),
          actor: `task:${task.id}`,
          approved: !task.needsApproval || task.approvedBy !== null,
        });
      }
      call.ok = true;
      call.ms = Math.round(performance.now() - started);
      out.line(`completed in ${call.ms} ms: ${brief(output)}`);
      await out.flush();
      await finishExecution(this.store, execution.id, { status: 'completed', output, toolCalls: task.kind === 'agent' ? agentCalls : [call] });
      await transition(this.store, task.id, next, { from: ['running'], reason: null }).catch((err: unknown) => this.ignoreState(err));
      return done();
    } catch (err) {
      call.ms = Math.round(performance.now() - started);
      const message = redactText(cancelled ? 'cancelled while it ran' : controller.signal.aborted ? messageOf(controller.signal.reason) : messageOf(err));
      call.error = message;
      out.line(`failed after ${call.ms} ms: ${message}`);
      await out.flush();
      if (task.kind === 'agent') agentCalls = await this.agentCallsOf(execution.id);
      await finishExecution(this.store, execution.id, { status: cancelled ? 'cancelled' : 'failed', error: message, toolCalls: task.kind === 'agent' ? agentCalls : [call] });
      if (cancelled) return done({ cancelled: true });
      if (isPermanent(err)) {
        // It would fail the same way again: no retry.
        await transition(this.store, task.id, task.cron ? 'scheduled' : 'failed', { from: ['running'], reason: `${task.cron ? 'last run failed: ' : ''}${message}` }).catch((e: unknown) => this.ignoreState(e));
        return done({ failed: message });
      }
      if (job.retryCount < job.retryLimit) {
        await transition(this.store, task.id, 'queued', { from: ['running'], reason: `attempt ${attempt} failed: ${message}; retrying` }).catch((e: unknown) => this.ignoreState(e));
      } else {
        const reason = `dead-lettered after ${attempt} attempt${attempt > 1 ? 's' : ''}; the last failed with: ${message}`;
        await transition(this.store, task.id, task.cron ? 'scheduled' : 'dead_letter', { from: ['running'], reason }).catch((e: unknown) => this.ignoreState(e));
      }
      return { id: job.id, status: 'failed', output: { error: message } };
    } finally {
      clearTimeout(timeout);
      clearInterval(watch);
    }
  }

  /**
   * Runs pg-boss gave up on. Those a handler failed are recorded already; these are the ones
   * whose every attempt lost its worker (leases expired), which no handler saw end.
   */
  private async deadBatch(jobs: JobWithMetadata<RunData>[]): Promise<JobResult[]> {
    for (const job of jobs) {
      const task = await getTask(this.store, job.data.taskId).catch(() => undefined);
      if (!task || (task.status !== 'running' && task.status !== 'queued')) continue;
      const why = 'the worker stopped answering (killed or cut off) and no retry was left';
      await loseRunning(this.store, task.id, why);
      await transition(this.store, task.id, task.cron ? 'scheduled' : 'dead_letter', { from: ['running', 'queued'], reason: `dead-lettered: ${why}` }).catch((e: unknown) => this.ignoreState(e));
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
