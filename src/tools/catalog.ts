import { z } from 'zod';
import { roleAllows, roleRefusal } from '../http/roles.js';
import { invoke } from '../ops/invoke.js';
import type { AnyOp, OpAnnotations, Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError, isTwlError, messageOf } from '../runtime/errors.js';
import { opMetrics } from '../runtime/op-metrics.js';
import { ToolAudit, inputDigest, type Decision, type Outcome } from './audit.js';
import { annotationsOf, cleanSchema, cleanText, toolNameProblem } from './sanitize.js';
import type { CallOptions, CatalogTool, ContentBlock, ListOptions, ToolCatalog, ToolLookupSource, ToolResult, ToolSource, WorkflowTool } from './types.js';
import type { Upstream as UpstreamLike, UpstreamSet as UpstreamSetLike, UpstreamStatus } from '../upstream/types.js';

/** One tool and how to run it. Schemas are built on first need: a call by name does not pay for every tool's. */
interface Entry {
  name: string;
  source: ToolSource;
  minRole: Role;
  needsApproval: boolean;
  annotations: OpAnnotations;
  title: string;
  op?: AnyOp;
  upstream?: UpstreamLike;
  /** The tool's name at its upstream (before `<upstream>_`). */
  remote?: string;
  workflow?: WorkflowTool;
  described?: CatalogTool;
  describe(): CatalogTool;
}

export interface CatalogOptions {
  /** twl's own ops by MCP name (the command tree's, plugins included, when served). */
  ops: () => Promise<Map<string, AnyOp>>;
  /** The configured upstreams, opened on first need; undefined: none configured. */
  upstreams?: () => Promise<UpstreamSetLike | undefined>;
  /** The workflows (`workflow_<name>` tools), loaded on first need with the other tools to validate against. */
  workflows?: (tools: ToolLookupSource) => Promise<WorkflowTool[]>;
}

/** Where the upstream tools are listed with the reason, when one is left out. */
export interface CatalogProblem {
  upstream: string;
  tool?: string;
  problem: string;
}

const textOf = (value: unknown): ContentBlock[] => [{ type: 'text', text: JSON.stringify(value) }];

/** How a failed call ended, by its error: refused, timed out, cancelled, or an error. */
function outcomeOf(err: unknown, signal: AbortSignal | undefined): Outcome {
  const code = isTwlError(err) ? err.code : String((err as { code?: unknown } | null)?.code ?? '');
  if (['TWL_ROLE_DENIED', 'TWL_POLICY_DENIED', 'TWL_APPROVAL_REQUIRED'].includes(code)) return 'refused';
  if (/TIMEOUT/.test(code) || (err as { name?: unknown } | null)?.name === 'TimeoutError') return 'timeout';
  if (signal?.aborted || code === 'TWL_INTERRUPTED') return 'cancelled';
  return 'error';
}

const errorCodeOf = (err: unknown): string => (isTwlError(err) ? err.code : typeof (err as { code?: unknown } | null)?.code === 'string' ? String((err as { code: string }).code) : 'TWL_UNEXPECTED');

/**
 * The tool catalog: twl's ops and the configured upstreams' tools, listed and called through one
 * path. Built once per process by its face (CLI, `twl serve`) and handed to ops as `ctx.tools`.
 */
export class Catalog implements ToolCatalog {
  readonly audit: ToolAudit;
  private twlP?: Promise<Map<string, Entry>>;
  private setP?: Promise<UpstreamSetLike | undefined>;
  /** Each upstream's tools, listed once and kept until it says its list changed. */
  private readonly upstreamEntries = new Map<string, Promise<Map<string, Entry>>>();
  private readonly subscribed = new Set<string>();
  private readonly listeners = new Set<() => void>();
  private readonly problemsBy = new Map<string, CatalogProblem[]>();
  private closed = false;

  constructor(
    private readonly runtime: Runtime,
    private readonly options: CatalogOptions,
  ) {
    this.audit = new ToolAudit(runtime);
  }

  /** What was left out of the catalog, and why (a collision, a hostile name or schema, an upstream that did not answer). */
  problems(): CatalogProblem[] {
    return [...this.problemsBy.values()].flat();
  }

  /** The op behind a twl tool (the MCP face registers it with its zod schemas). */
  async op(name: string): Promise<AnyOp | undefined> {
    return (await this.twl()).get(name)?.op;
  }

  private workflowsP?: Promise<Map<string, Entry>>;
  /** The workflows, loaded once (their steps' tools are looked up among twl's and the upstreams', never among workflows). */
  private workflowEntries(): Promise<Map<string, Entry>> {
    if (!this.options.workflows) return Promise.resolve(new Map());
    const lookup: ToolLookupSource = {
      get: async (name) => (name.startsWith('workflow_') ? undefined : (await this.findTool(name))?.describe()),
      names: async () => (await this.entries(undefined, false)).map((e) => e.name),
    };
    this.workflowsP ??= this.options.workflows(lookup).then((tools) => new Map(tools.map((w) => [w.tool.name, workflowEntry(w)])));
    this.workflowsP.catch(() => (this.workflowsP = undefined));
    return this.workflowsP;
  }

  private twl(): Promise<Map<string, Entry>> {
    this.twlP ??= this.options.ops().then((ops) => new Map([...ops.values()].map((op) => [op.mcpName, opEntry(op)])));
    return this.twlP;
  }

  /** Each configured upstream's state as it reports it (opens the set; children start on first call). */
  async upstreamStatuses(): Promise<UpstreamStatus[]> {
    return ((await this.upstreamSet())?.all() ?? []).map((u) => u.status());
  }

  private upstreamSet(): Promise<UpstreamSetLike | undefined> {
    this.setP ??= this.options.upstreams?.() ?? Promise.resolve(undefined);
    // Not kept when it failed (the store was unreachable): the next use tries again.
    this.setP.catch(() => (this.setP = undefined));
    return this.setP;
  }

  /** One upstream's tools, prefixed and checked; a failure to list is a problem, not an error, and is retried next time. */
  private toolsOf(upstream: UpstreamLike, twl: Map<string, Entry>): Promise<Map<string, Entry>> {
    let p = this.upstreamEntries.get(upstream.name);
    if (p) return p;
    if (!this.subscribed.has(upstream.name)) {
      this.subscribed.add(upstream.name);
      upstream.onToolsChanged(() => {
        this.upstreamEntries.delete(upstream.name);
        for (const listener of this.listeners) listener();
      });
    }
    p = upstream
      .listTools()
      .then((declared) => {
        const problems: CatalogProblem[] = [];
        const entries = new Map<string, Entry>();
        for (const tool of declared) {
          const entry = upstreamEntry(upstream, tool);
          if ('problem' in entry) problems.push({ upstream: upstream.name, tool: typeof tool?.name === 'string' ? tool.name.slice(0, 80) : undefined, problem: entry.problem });
          else if (twl.has(entry.name)) problems.push({ upstream: upstream.name, tool: entry.remote, problem: `its name ${entry.name} is twl's own tool: left out (twl's tool is never shadowed)` });
          else if (entries.has(entry.name)) problems.push({ upstream: upstream.name, tool: entry.remote, problem: `it is declared twice: the second one is left out` });
          else entries.set(entry.name, entry);
        }
        this.problemsBy.set(upstream.name, problems);
        for (const p of problems) this.runtime.logger.warn({ upstream: p.upstream, tool: p.tool }, `upstream tool left out: ${p.problem}`);
        return entries;
      })
      .catch((err: unknown) => {
        this.upstreamEntries.delete(upstream.name);
        this.problemsBy.set(upstream.name, [{ upstream: upstream.name, problem: `its tools could not be listed: ${messageOf(err)}` }]);
        this.runtime.logger.warn({ upstream: upstream.name, err: messageOf(err) }, 'upstream tools could not be listed');
        return new Map<string, Entry>();
      });
    this.upstreamEntries.set(upstream.name, p);
    return p;
  }

  private async entries(source?: string, workflows = true): Promise<Entry[]> {
    const twl = await this.twl();
    const wanted = (s: ToolSource) => !source || s === source || (source === 'upstream' && s.startsWith('upstream:'));
    const out = [...twl.values()].filter((e) => wanted(e.source));
    if (source === 'twl') return out;
    if (workflows && wanted('workflow')) out.push(...(await this.workflowEntries()).values());
    if (source === 'workflow') return out;
    const set = await this.upstreamSet();
    const upstreams = (set?.all() ?? []).filter((u) => wanted(`upstream:${u.name}`));
    for (const tools of await Promise.all(upstreams.map((u) => this.toolsOf(u, twl)))) out.push(...tools.values());
    return out;
  }

  async list(options: ListOptions = {}): Promise<CatalogTool[]> {
    if (options.source !== undefined && options.source !== 'twl' && options.source !== 'workflow' && options.source !== 'upstream' && !/^upstream:[a-z][a-z0-9-]{0,31}$/.test(options.source)) {
      throw new TwlError('TWL_INPUT_INVALID', `Unknown source ${JSON.stringify(options.source.slice(0, 80))}: expected twl, workflow, upstream, or upstream:NAME.`);
    }
    const entries = await this.entries(options.source);
    return entries
      .filter((e) => options.role === undefined || roleAllows(e.minRole, options.role))
      .map((e) => e.describe())
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string): Promise<CatalogTool | undefined> {
    return (await this.find(name))?.describe();
  }

  /** A tool by name: twl's first (never shadowed), then a workflow (`workflow_…`), then the upstream its prefix names. */
  private async find(name: string): Promise<Entry | undefined> {
    if (typeof name !== 'string') return undefined;
    if (name.startsWith('workflow_') && !(await this.twl()).has(name)) {
      const workflow = (await this.workflowEntries()).get(name);
      if (workflow) return workflow;
    }
    return this.findTool(name);
  }

  /** twl's tool or an upstream's, by name (no workflows). */
  private async findTool(name: string): Promise<Entry | undefined> {
    if (typeof name !== 'string') return undefined;
    const twl = await this.twl();
    const own = twl.get(name);
    if (own) return own;
    const cut = name.indexOf('_');
    if (cut <= 0) return undefined;
    const upstream = (await this.upstreamSet())?.all().find((u) => u.name === name.slice(0, cut));
    return upstream ? (await this.toolsOf(upstream, twl)).get(name) : undefined;
  }

  onChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Records a call a face refused before it reached the catalog (the MCP face refuses a tool
   * beyond the caller's role before any server sees the request).
   */
  async refused(name: string, input: unknown, options: CallOptions, errorCode: string): Promise<void> {
    const entry = await this.find(name).catch(() => undefined);
    await this.record(entry, name, input, options, 'refused', 'refused', 0, errorCode);
  }

  async call(name: string, input: unknown, options: CallOptions): Promise<ToolResult> {
    const started = performance.now();
    const entry = await this.find(name);
    const ms = () => performance.now() - started;
    if (!entry) {
      await this.record(undefined, name, input, options, 'refused', 'refused', ms(), 'TWL_TOOL_UNKNOWN');
      throw new TwlError('TWL_TOOL_UNKNOWN', `No tool named ${JSON.stringify(String(name).slice(0, 200))}.`);
    }
    if (options.role !== undefined && !roleAllows(entry.minRole, options.role)) {
      await this.record(entry, name, input, options, 'refused', 'refused', ms(), 'TWL_ROLE_DENIED');
      throw new TwlError('TWL_ROLE_DENIED', roleRefusal(entry.name, entry.minRole, options.role), { details: { minRole: entry.minRole, role: options.role } });
    }
    let decision: Decision = entry.needsApproval ? 'approval' : 'allowed';
    try {
      const result = entry.op ? await this.callOp(entry.op, input, options) : entry.workflow ? await this.callWorkflow(entry.workflow, input, options) : await this.callUpstream(entry, input, options);
      await this.record(entry, name, input, options, decision, result.isError ? 'error' : 'ok', ms(), result.isError ? 'TWL_TOOL_ERROR' : null);
      return result;
    } catch (err) {
      const outcome = outcomeOf(err, options.signal);
      if (outcome === 'refused') decision = 'refused';
      await this.record(entry, name, input, options, decision, outcome, ms(), errorCodeOf(err));
      throw err;
    }
  }

  private async callOp(op: AnyOp, input: unknown, options: CallOptions): Promise<ToolResult> {
    const output = (await invoke(op, this.runtime, input, {
      signal: options.signal,
      warn: options.warn,
      ask: options.approved ? async () => true : options.ask,
      progress: options.progress,
      llm: options.llm,
      caller: { face: options.face, actor: options.actor, role: options.role },
    })) as Record<string, unknown>;
    return { structured: output, content: textOf(output) };
  }

  /** A workflow: its steps ask for approval themselves (each tool call goes through this catalog). */
  private callWorkflow(workflow: WorkflowTool, input: unknown, options: CallOptions): Promise<ToolResult> {
    const args = input ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new TwlError('TWL_INPUT_INVALID', `Invalid input for ${workflow.tool.name}: expected a JSON object, got ${Array.isArray(args) ? 'an array' : typeof args}.`);
    return workflow.run(args as Record<string, unknown>, options, this);
  }

  /** An upstream's tool: approval, the call (its queue, timeout, retries live in the upstream), metrics and the activity record. */
  private async callUpstream(entry: Entry, input: unknown, options: CallOptions): Promise<ToolResult> {
    const args = input ?? {};
    if (typeof args !== 'object' || Array.isArray(args)) throw new TwlError('TWL_INPUT_INVALID', `Invalid input for ${entry.name}: expected a JSON object, got ${Array.isArray(args) ? 'an array' : typeof args}.`);
    if (entry.needsApproval && !options.approved) {
      const answer = await options.ask?.(`${entry.title}: proceed?`);
      if (!answer) throw new TwlError('TWL_APPROVAL_REQUIRED', `${entry.title} (${entry.name}) changes things at the upstream ${entry.upstream!.name} and needs approval; none was given.`);
    }
    const agent = entry.upstream!.name;
    opMetrics.called(agent, entry.name);
    const started = performance.now();
    let ok = false;
    try {
      const result = await entry.upstream!.callTool(entry.remote!, args as Record<string, unknown>, {
        signal: options.signal,
        timeoutMs: options.timeoutMs,
        priority: options.priority,
        sessionKey: options.sessionKey,
        onRequest: options.onRequest,
        progress: options.progress && ((p) => options.progress!({ message: p.message ?? `${entry.name}: ${p.progress}${p.total ? `/${p.total}` : ''}`, done: p.progress, total: p.total, status: 'running' })),
      });
      ok = !result.isError;
      const blocks: unknown[] = Array.isArray(result.content) ? result.content : [];
      const content = blocks.filter((c): c is ContentBlock => Boolean(c) && typeof c === 'object' && typeof (c as { type?: unknown }).type === 'string');
      const declared: unknown = result.structuredContent;
      const structured = declared && typeof declared === 'object' && !Array.isArray(declared) ? (declared as Record<string, unknown>) : undefined;
      return { content, ...(structured ? { structured } : {}), ...(result.isError ? { isError: true } : {}) };
    } finally {
      const seconds = (performance.now() - started) / 1000;
      this.runtime.recordCall(entry.name, seconds * 1000, ok);
      opMetrics.finished(agent, ok, seconds);
    }
  }

  private record(entry: Entry | undefined, name: string, input: unknown, options: CallOptions, decision: Decision, outcome: Outcome, durationMs: number, errorCode: string | null): Promise<void> {
    if (this.closed) return Promise.resolve();
    // Rows of refusals and of tools that change things are written before the answer goes out.
    const durable = decision !== 'allowed' || !entry || !entry.annotations.readOnlyHint;
    return this.audit.record(
      {
        at: new Date(),
        actor: options.actor,
        face: options.face,
        via: options.via ?? null,
        role: options.role ?? null,
        tool: entry?.name ?? cleanText(String(name), 200),
        source: entry?.source ?? 'unknown',
        inputSha256: inputDigest(input),
        decision,
        outcome,
        durationMs: Math.round(durationMs * 10) / 10,
        errorCode,
      },
      durable,
    );
  }

  /** A downstream session ended: upstreams shared `isolated` stop the child that served it. */
  async closeSession(sessionKey: string): Promise<void> {
    const set = await this.setP?.catch(() => undefined);
    await Promise.all((set?.all() ?? []).map((u) => u.closeSession(sessionKey).catch(() => undefined)));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.audit.flush();
    this.closed = true;
    const set = await this.setP?.catch(() => undefined);
    await set?.close();
  }
}

/** A twl op as a catalog entry. */
function opEntry(op: AnyOp): Entry {
  return {
    name: op.mcpName,
    source: 'twl',
    minRole: op.policy.minRole,
    needsApproval: op.policy.needsApproval,
    annotations: op.annotations,
    title: op.title,
    op,
    describe() {
      if (this.described) return this.described;
      let input: Record<string, unknown> | undefined;
      let output: Record<string, unknown> | undefined;
      // The JSON Schemas are built when first read (a planner that only asks what is read-only
      // does not pay ~2 ms per op for them); own enumerable getters, so JSON and spreads see them.
      return (this.described = Object.defineProperties(
        { name: op.mcpName, title: op.title, description: op.description, annotations: op.annotations, minRole: op.policy.minRole, needsApproval: op.policy.needsApproval, source: 'twl' },
        {
          inputSchema: { enumerable: true, get: () => (input ??= z.toJSONSchema(op.input, { io: 'input' }) as Record<string, unknown>) },
          outputSchema: { enumerable: true, get: () => (output ??= z.toJSONSchema(op.output) as Record<string, unknown>) },
        },
      ) as CatalogTool);
    },
  };
}

/** A workflow as a catalog entry. */
function workflowEntry(w: WorkflowTool): Entry {
  const t = w.tool;
  return { name: t.name, source: 'workflow', minRole: t.minRole, needsApproval: t.needsApproval, annotations: t.annotations, title: t.title, workflow: w, describe: () => t };
}

/** An upstream's tool as a catalog entry, or why it is left out. */
function upstreamEntry(upstream: UpstreamLike, tool: unknown): Entry | { problem: string } {
  const policy = upstream.config as { approval?: 'ask' | 'never'; minRole?: Role } | undefined;
  if (!tool || typeof tool !== 'object') return { problem: 'a tool that is not an object' };
  const t = tool as Record<string, unknown>;
  const nameProblem = toolNameProblem(t.name);
  if (nameProblem) return { problem: nameProblem };
  const input = cleanSchema(t.inputSchema, 'input');
  if (input.problem) return { problem: input.problem };
  const output = t.outputSchema === undefined ? {} : cleanSchema(t.outputSchema, 'output');
  if (output.problem) return { problem: output.problem };
  const remote = t.name as string;
  const name = `${upstream.name}_${remote}`;
  const annotations = annotationsOf(t.annotations);
  const title = cleanText(t.title ?? (t.annotations as Record<string, unknown> | undefined)?.title, 200) || remote;
  const minRole: Role = policy?.minRole ?? (annotations.readOnlyHint ? 'viewer' : 'operator');
  const needsApproval = !annotations.readOnlyHint && policy?.approval !== 'never';
  const source: ToolSource = `upstream:${upstream.name}`;
  const described: CatalogTool = {
    name,
    title,
    description: cleanText(t.description, 4000),
    inputSchema: input.schema!,
    ...(output.schema ? { outputSchema: output.schema } : {}),
    annotations,
    minRole,
    needsApproval,
    source,
  };
  return { name, source, minRole, needsApproval, annotations, title, upstream, remote, described, describe: () => described };
}
