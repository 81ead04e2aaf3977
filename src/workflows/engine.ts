import { z } from 'zod';
import { describeInputIssues } from '../ops/invoke.js';
import type { Role } from '../ops/op.js';
import type { Face, Progress, Runtime } from '../runtime/context.js';
import { parseDuration } from '../runtime/duration.js';
import { TwlError, isTwlError, messageOf } from '../runtime/errors.js';
import type { Llm } from '../runtime/llm.js';
import { opMetrics } from '../runtime/op-metrics.js';
import { processName } from '../runtime/process-name.js';
import type { ContentBlock, ToolCatalog, ToolResult } from '../tools/types.js';
import { ApprovalPending, WorkflowStopped } from './control.js';
import { evaluate, render } from './expr.js';
import { renewLease, reserveRunId, saveRun, type RunWrite, type StepRecord } from './records.js';
import { stepKinds } from './steps/index.js';
import type { RunStatus, StepBase, StepContext, StepKind, StepStatus, WorkflowDef } from './types.js';

/** Who runs a workflow and how to reach them: the same options a catalog call carries. */
export interface RunOptions {
  face: Face;
  actor: string;
  role?: Role;
  /** The namespaces the caller's key is granted (undefined: every one): each step's tool must be in them, unless the workflow says `grants: definer`. */
  namespaces?: string[];
  /** The caller's API key id, passed on to every step (a task a step creates records it). */
  keyId?: number;
  /** When the caller's grant ends (an OAuth access token's `exp`), passed on to every step (a task a step creates records it). */
  grantExpiresAt?: string;
  signal?: AbortSignal;
  /** Asks the person behind the caller; undefined: nobody can answer (a step that needs approval then leaves the run waiting). */
  ask?: (question: string) => Promise<boolean | undefined>;
  /** Approved already (`--yes`): steps do not ask. */
  approved?: boolean;
  progress?: (update: Progress) => void;
  warn?: (message: string) => void;
  /** The MCP client's model (sampling), when the runtime has no Ollama. */
  llm?: Llm;
}

/** How a run ended, with every step (the run's record, as `twl workflow show` prints it). */
export interface RunOutcome {
  run: number;
  workflow: string;
  status: RunStatus;
  output: unknown;
  /** The step running when the run ended other than completed (or the gate that stopped it). */
  step: string | null;
  error: { code: string; message: string } | null;
  /** What to do next, when the run did not complete (how to approve a waiting run). */
  message?: string;
  durationMs: number;
  steps: StepRecord[];
}

/** Step rows are written in batches: at most this long after a change, and when the run ends. */
const FLUSH_MS = 250;

/** A step's kind-parsed form, parsed on first run (validation parsed it already, so this cannot fail for a loaded workflow). */
const parsed = new WeakMap<object, StepBase>();
function prepare(raw: StepBase): { step: StepBase; kind: StepKind } {
  const kind = stepKinds.get(raw.kind);
  if (!kind) throw new TwlError('TWL_WORKFLOW_INVALID', `Step ${raw.id}: unknown kind ${JSON.stringify(raw.kind)}.`);
  let step = parsed.get(raw);
  if (!step) {
    const r = kind.schema.safeParse(raw);
    if (!r.success) throw new TwlError('TWL_WORKFLOW_INVALID', `Step ${raw.id}: ${describeInputIssues(r.error)}`);
    parsed.set(raw, (step = r.data));
  }
  return { step, kind };
}

const inputSchemas = new WeakMap<object, z.ZodType>();
/** The workflow's declared input schema as zod (compiled once per workflow). */
function inputSchemaOf(def: WorkflowDef): z.ZodType {
  let s = inputSchemas.get(def.input);
  if (!s) inputSchemas.set(def.input, (s = z.fromJSONSchema(def.input as Parameters<typeof z.fromJSONSchema>[0])));
  return s;
}

/** A tool's result as a step's output: its structured result, else its text (parsed when it is JSON). */
function outputOf(result: ToolResult): unknown {
  if (result.structured) return result.structured;
  const texts = result.content.filter((c): c is ContentBlock & { text: string } => c.type === 'text' && typeof c.text === 'string');
  if (texts.length === 1 && texts.length === result.content.length) {
    try {
      return JSON.parse(texts[0]!.text) as unknown;
    } catch {
      return texts[0]!.text;
    }
  }
  return result.content;
}

/** A step's error for its record: twl's code, or TWL_WORKFLOW_STEP_FAILED with the foreign code (a PostgreSQL SQLSTATE…) in the message. */
function errorOf(err: unknown): { code: string; message: string } {
  const raw = (err as { code?: unknown } | null)?.code;
  if (isTwlError(err) || (typeof raw === 'string' && raw.startsWith('TWL_'))) return { code: String(raw), message: messageOf(err).slice(0, 4000) };
  return { code: 'TWL_WORKFLOW_STEP_FAILED', message: `${messageOf(err)}${typeof raw === 'string' || typeof raw === 'number' ? ` (${raw})` : ''}`.slice(0, 4000) };
}

/**
 * One run of a workflow: its steps in order over the scope {input, steps}, each recorded (input,
 * output, decision, status, error, duration), with `when`, timeouts, approvals, cancellation and
 * progress. Tool calls go through the catalog's one path (role, approval, audit row, metrics).
 */
export class WorkflowRun {
  private readonly steps: Record<string, unknown> = {};
  private readonly records: StepRecord[] = [];
  private readonly dirty = new Set<StepRecord>();
  private readonly running = new Set<string>();
  private seq = 0;
  private runId = 0;
  private flushTimer?: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  /** The deepest step an error came from (the first to fail), for the run's record. */
  private endedAt?: string;
  private last: unknown = null;
  private input: Record<string, unknown> = {};
  /** The run's row as it is to be written; `written` once it exists in the store. */
  private write?: RunWrite;
  private written = false;
  private runDirty = true;

  constructor(
    private readonly def: WorkflowDef,
    private readonly runtime: Runtime,
    private readonly catalog: ToolCatalog,
    private readonly options: RunOptions,
  ) {}

  /** The grant the steps' calls are checked against: the caller's, or every namespace for `grants: definer`. */
  private get stepNamespaces(): string[] | undefined {
    return this.def.grants === 'definer' ? undefined : this.options.namespaces;
  }

  /** What the audit rows of the steps' calls say made them: the workflow, and its author's grant when it is used. */
  private get via(): string {
    return `workflow:${this.def.name}${this.def.grants === 'definer' ? ':definer' : ''}`;
  }

  async run(input: Record<string, unknown>): Promise<RunOutcome> {
    const checked = inputSchemaOf(this.def).safeParse(input);
    if (!checked.success) throw new TwlError('TWL_INPUT_INVALID', `Invalid input for workflow ${this.def.name}: ${describeInputIssues(checked.error)}`, { actions: [`See its input schema with \`twl workflow list --json\`.`] });
    this.input = input;
    const store = await this.runtime.store();
    const started = performance.now();
    this.runId = await reserveRunId(store);
    const leaseMs = this.runtime.config.store.workflowLease;
    this.write = { id: this.runId, workflow: this.def.name, input, actor: this.options.actor, face: this.options.face, startedAt: new Date().toISOString(), status: 'running', owner: processName(), leaseMs };
    // The lease, renewed every third of it while the run goes on: once this process dies, the store's upkeep ends the run (failLostRuns).
    const renewing = setInterval(() => {
      if (!this.written) return;
      void this.runtime
        .store()
        .then((store) => renewLease(store, this.runId, leaseMs))
        .catch((err: unknown) => this.runtime.logger.debug({ run: this.runId, err: messageOf(err) }, "could not renew the workflow run's lease"));
    }, leaseMs / 3);
    renewing.unref();
    const signal = this.options.signal ?? new AbortController().signal;
    let status: RunStatus = 'completed';
    let output: unknown = null;
    let error: RunOutcome['error'] = null;
    let message: string | undefined;
    try {
      this.last = await this.runList(this.def.steps, undefined, '', {}, signal, true);
      output = this.def.output ? await evaluate(this.def.output, { input, steps: this.steps }) : this.last;
    } catch (err) {
      if (err instanceof WorkflowStopped) {
        status = 'stopped';
        output = this.last;
        message = err.reason;
      } else if (err instanceof ApprovalPending) {
        status = 'waiting_approval';
        message = `Step ${this.endedAt} waits for approval (${err.question}) and nobody could answer here. Run it again where someone can approve (a terminal, an MCP client with elicitation), or approve in advance: twl workflow run ${this.def.name} --input '${JSON.stringify(input).replaceAll("'", "'\\''")}' --yes`;
        error = { code: 'TWL_APPROVAL_REQUIRED', message };
      } else if (signal.aborted) {
        status = 'cancelled';
        error = { code: 'TWL_INTERRUPTED', message: `Cancelled while step ${this.endedAt ?? '(none)'} was running.` };
      } else {
        status = 'failed';
        error = errorOf(err);
      }
    }
    clearInterval(renewing);
    const durationMs = performance.now() - started;
    const step = status === 'completed' ? null : (this.endedAt ?? null);
    clearTimeout(this.flushTimer);
    // The end in one statement: the run (created now if it was quick), and the step rows not written yet.
    Object.assign(this.write!, { status, end: { output: output ?? null, error, step, durationMs } });
    this.runDirty = true;
    await this.flush();
    if (this.dirty.size || this.runDirty) await this.flush();
    if (this.dirty.size || this.runDirty) this.runtime.logger.warn({ run: this.runId, steps: this.dirty.size }, 'could not record the workflow run');
    opMetrics.workflowRun?.(this.def.name, status);
    this.runtime.recordCall(`workflow_${this.def.name.replaceAll('-', '_')}`, durationMs, status === 'completed' || status === 'stopped');
    return { run: this.runId, workflow: this.def.name, status, output: output ?? null, step, error, ...(message ? { message } : {}), durationMs, steps: this.records };
  }

  /** Steps in order; the last one's output. */
  private async runList(list: StepBase[], parent: number | undefined, parentPath: string, extra: Record<string, unknown>, signal: AbortSignal, top = false): Promise<unknown> {
    let last: unknown = null;
    for (let i = 0; i < list.length; i++) {
      if (signal.aborted) throw signal.reason;
      last = await this.runStep(list[i]!, parent, parentPath, extra, signal, top ? { done: i, total: list.length } : undefined);
      if (top) this.last = last;
    }
    return last;
  }

  private async runStep(raw: StepBase, parent: number | undefined, parentPath: string, extra: Record<string, unknown>, runSignal: AbortSignal, count?: { done: number; total: number }): Promise<unknown> {
    const { step, kind } = prepare(raw);
    const path = parentPath ? `${parentPath}/${step.id}` : step.id;
    const record: StepRecord = { seq: this.seq++, parent: parent ?? null, path, id: step.id, kind: step.kind, status: 'running', input: undefined, output: undefined, decision: null, error: null, startedAt: new Date().toISOString(), durationMs: null };
    this.records.push(record);
    this.touch(record);
    const scope = { ...extra, input: this.input, steps: this.steps };
    const started = performance.now();
    const progress = (message: string, status: Progress['status'] = 'running') => this.options.progress?.({ message: `${path}: ${message}`, status, ...(count ? { done: count.done + (status === 'running' ? 0 : 1), total: count.total } : {}) });
    const end = (status: StepStatus, fields: Partial<StepRecord> = {}) => {
      Object.assign(record, fields, { status, durationMs: Math.round((performance.now() - started) * 100) / 100 });
      this.running.delete(path);
      this.touch(record);
      if (status !== 'skipped') opMetrics.workflowStep?.(this.def.name, path, (performance.now() - started) / 1000);
    };
    if (step.when !== undefined && !(await evaluate(step.when, scope))) {
      this.steps[step.id] = null;
      end('skipped', { decision: { decision: 'skipped', detail: { when: step.when } } });
      progress('skipped', 'skipped');
      return null;
    }
    this.running.add(path);
    const timeoutMs = step.timeout ? parseDuration(step.timeout) : undefined;
    const deadline = timeoutMs ? new AbortController() : undefined;
    const timer = deadline ? setTimeout(() => deadline.abort(new TwlError('TWL_TIMEOUT', `Step ${path} of workflow ${this.def.name} did not finish within ${step.timeout}.`, { actions: [`Raise the step's timeout in the workflow file, or find why ${path} is slow.`] })), timeoutMs) : undefined;
    const signal = deadline ? AbortSignal.any([runSignal, deadline.signal]) : runSignal;
    let pendingQuestion: string | undefined;
    const calls: Array<{ tool: string; input: unknown }> = [];
    const ask = async (question: string): Promise<boolean | undefined> => {
      if (this.options.approved) return true;
      const answer = await this.options.ask?.(question);
      if (answer === undefined) pendingQuestion = question;
      return answer;
    };
    const ctx: StepContext = {
      workflow: this.def.name,
      runId: String(this.runId),
      path,
      scope,
      evaluate: (expr, more) => evaluate(expr, more ? { ...scope, ...more } : scope),
      render: (template, more) => render(template, more ? { ...scope, ...more } : scope),
      callTool: async (name, input) => {
        // The tool's input as rendered; a step that calls several tools records each call.
        calls.push({ tool: name, input });
        record.input = calls.length === 1 ? input : { calls };
        progress(`calling ${name}`);
        try {
          const result = await this.catalog.call(name, input, {
            face: this.options.face,
            actor: this.options.actor,
            role: this.options.role,
            namespaces: this.stepNamespaces,
            keyId: this.options.keyId,
            grantExpiresAt: this.options.grantExpiresAt,
            via: this.via,
            signal,
            ...(timeoutMs ? { timeoutMs } : {}),
            ask,
            approved: this.options.approved || step.approval === 'never',
            warn: this.options.warn,
            progress: (p) => progress(p.message),
            llm: this.options.llm,
          });
          if (result.isError) throw new TwlError('TWL_TOOL_ERROR', `${name} answered with an error: ${JSON.stringify(outputOf(result)).slice(0, 1000)}`);
          return outputOf(result);
        } catch (err) {
          if (pendingQuestion !== undefined && isTwlError(err) && err.code === 'TWL_APPROVAL_REQUIRED') throw new ApprovalPending(pendingQuestion);
          throw err;
        }
      },
      // What this run's caller may call (planners choose among these; the catalog checks again on each call).
      tools: () => this.catalog.list({ role: this.options.role, namespaces: this.stepNamespaces }),
      runSteps: (steps, more) => this.runList(steps, record.seq, path, more ? { ...extra, ...more } : extra, signal),
      llm: () => this.runtime.llm() ?? this.options.llm,
      signal,
      progress: (message) => progress(message),
      ask,
      decide: (decision, detail) => {
        record.decision = { decision, ...(detail === undefined ? {} : { detail }) };
        this.touch(record);
      },
    };
    progress(step.title ?? `${kind.kind}`);
    try {
      if (step.approval === 'ask' && !this.options.approved) {
        const question = `Workflow ${this.def.name}, step ${path}${step.title ? ` (${step.title})` : ''}: proceed?`;
        const answer = await ask(question);
        if (answer === undefined) throw new ApprovalPending(question);
        if (!answer) throw new TwlError('TWL_APPROVAL_REQUIRED', `Step ${path} of workflow ${this.def.name} was not approved.`);
      }
      const output = await raceAbort(kind.run(step, ctx), signal);
      this.steps[step.id] = output ?? null;
      end('completed', { output: output ?? null });
      progress('done', 'ok');
      return output ?? null;
    } catch (err) {
      const reason = signal.aborted && !runSignal.aborted && deadline?.signal.aborted ? deadline.signal.reason : err;
      this.endedAt ??= path;
      if (reason instanceof WorkflowStopped) end('stopped', { output: null });
      else if (reason instanceof ApprovalPending) end('waiting_approval', { error: { code: 'TWL_APPROVAL_REQUIRED', message: reason.message } });
      else if (runSignal.aborted) end('cancelled', { error: { code: 'TWL_INTERRUPTED', message: `Cancelled while ${path} was running.` } });
      else end('failed', { error: errorOf(reason) });
      progress(record.status === 'stopped' ? 'stopped' : `${record.status}: ${record.error?.message ?? ''}`, record.status === 'stopped' ? 'ok' : record.status === 'cancelled' ? 'cancelled' : record.status === 'waiting_approval' ? 'waiting' : 'failed');
      throw reason;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Marks a row for the next batch write, and schedules it. */
  private touch(record: StepRecord): void {
    this.dirty.add(record);
    if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        void this.flush();
      }, FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  /** Writes the run's row (created on the first write) and the changed step rows, in one statement. */
  private flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      const rows = [...this.dirty];
      if (!this.write || (!rows.length && !this.runDirty)) return;
      this.dirty.clear();
      const create = !this.written;
      try {
        await saveRun(await this.runtime.store(), this.write, create, rows);
        this.written = true;
        this.runDirty = false;
      } catch (err) {
        // Kept for the next write (the store was busy or replaced its engine after a cancelled statement).
        for (const row of rows) this.dirty.add(row);
        this.runtime.logger.debug({ run: this.runId, err: messageOf(err) }, 'could not record the workflow run yet');
      }
    });
    return this.flushing;
  }
}

/** The step's promise, or the signal's reason as soon as it aborts (a kind that ignores its signal still ends). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}
