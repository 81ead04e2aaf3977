import { z } from 'zod';
import { roleAllows, roleRefusal } from '../http/roles.js';
import { invoke } from '../ops/invoke.js';
import type { AnyOp, OpAnnotations, Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError, isTwlError, messageOf, unknownTool, unseenTool } from '../runtime/errors.js';
import { opMetrics } from '../runtime/op-metrics.js';
import { ToolAudit, inputDigest, type Decision, type Outcome } from './audit.js';
import { annotationsOf, cleanSchema, cleanText, toolNameProblem } from './sanitize.js';
import { TWL_NAMESPACE, WORKFLOW_NAMESPACE, namespaceAllows, type CallOptions, type CatalogTool, type ContentBlock, type ListOptions, type ToolCatalog, type ToolLookupSource, type ToolResult, type ToolSource, type WorkflowTool } from './types.js';
import type { ToolOverride, UpstreamConfig } from '../upstream/config.js';
import type { Upstream as UpstreamLike, UpstreamSet as UpstreamSetLike, UpstreamStatus } from '../upstream/types.js';
import type { PinChange, ToolDefinitions } from './pins.js';

/** One tool and how to run it. Schemas are built on first need: a call by name does not pay for every tool's. */
interface Entry {
  name: string;
  source: ToolSource;
  /** What a key's grant names: `twl` for twl's own, the upstream's namespace for its tools. */
  namespace: string;
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
  /** Every configured upstream as it is now (file and store): what `refresh()` brings the open set to. */
  configured?: () => Promise<UpstreamConfig[]>;
  /** Pin each upstream's tool definitions in the store and quarantine an upstream whose definitions change (`twl upstream accept`). */
  pins?: boolean;
}

/** An upstream whose tool definitions changed since they were pinned. */
export interface Quarantine extends PinChange {
  upstream: string;
  namespace: string;
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
  if (['TWL_ROLE_DENIED', 'TWL_POLICY_DENIED', 'TWL_APPROVAL_REQUIRED', 'TWL_NAMESPACE_DENIED', 'TWL_UPSTREAM_QUARANTINED', 'TWL_KEY_REVOKED', 'TWL_GRANT_EXPIRED'].includes(code)) return 'refused';
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
  private readonly subscribed = new WeakSet<UpstreamLike>();
  private readonly quarantined = new Map<string, Quarantine>();
  /** The definitions each upstream last had when they matched its pin, for when the store cannot be read. */
  private readonly seenPins = new Map<string, ToolDefinitions>();
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
      names: async () => (await this.entries(undefined, undefined, false)).map((e) => e.name),
    };
    this.workflowsP ??= this.options.workflows(lookup).then((tools) => new Map(tools.map((w) => [w.tool.name, workflowEntry(w)])));
    this.workflowsP.catch(() => (this.workflowsP = undefined));
    return this.workflowsP;
  }

  /** The upstreams quarantined in this process (their tool definitions changed since they were pinned). */
  quarantines(): Quarantine[] {
    return [...this.quarantined.values()];
  }

  /**
   * Brings the open upstreams to what is configured now (an upstream added, removed or changed
   * with `twl upstream add|remove` while this process runs) and forgets every listing, so pins
   * accepted meanwhile take effect; fires onChanged when the set changed. `twl serve` calls it
   * when the store's upstream tables change.
   */
  async refresh(): Promise<void> {
    if (!this.options.configured || this.closed) return;
    const set = await this.upstreamSet();
    const entries = await this.options.configured();
    const changed = set?.update ? await set.update(entries) : [];
    for (const name of changed) this.problemsBy.delete(name);
    this.upstreamEntries.clear();
    this.quarantined.clear();
    this.changed();
  }

  /**
   * Polls the store's upstream tables (a max(updated_at) and a count each: one cheap query) and
   * refreshes when another process changed them: `twl upstream add|remove|accept` against a
   * running `twl serve` takes effect without a restart. (The embedded store is shared through a
   * socket that cannot LISTEN, so a poll serves both backends.) Returns the stop function.
   */
  watchStore(intervalMs = 1000): () => void {
    let last: string | undefined;
    let busy = false;
    const tick = async () => {
      if (busy || this.closed) return;
      busy = true;
      try {
        const { upstreamsVersion } = await import('./pins.js');
        const version = await upstreamsVersion(await this.runtime.store());
        if (last !== undefined && version !== last) await this.refresh();
        last = version;
      } catch (err) {
        this.runtime.logger.debug({ err: messageOf(err) }, 'upstream watch: the store did not answer; trying again');
      } finally {
        busy = false;
      }
    };
    void tick();
    const timer = setInterval(() => void tick(), intervalMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
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
    if (!this.subscribed.has(upstream)) {
      this.subscribed.add(upstream);
      upstream.onToolsChanged(() => {
        this.upstreamEntries.delete(upstream.name);
        this.changed();
      });
    }
    p = upstream
      .listTools()
      .then(async (declared) => {
        const problems: CatalogProblem[] = [];
        const entries = new Map<string, Entry>();
        const change = await this.checkPin(upstream, declared);
        if (change) {
          const namespace = namespaceOfUpstream(upstream);
          this.quarantined.set(upstream.name, { upstream: upstream.name, namespace, ...change });
          const { describeChange } = await import('./pins.js');
          problems.push({ upstream: upstream.name, problem: `quarantined: its tool definitions changed since they were pinned (${describeChange(change)}); its tools are left out until \`twl upstream accept ${upstream.name}\`` });
          declared = [];
        } else this.quarantined.delete(upstream.name);
        const renamed = renamesOf(upstream);
        for (const tool of declared) {
          const entry = upstreamEntry(upstream, tool);
          const claimedBy = 'problem' in entry ? undefined : renamed.get(entry.name);
          if ('problem' in entry) problems.push({ upstream: upstream.name, tool: typeof tool?.name === 'string' ? tool.name.slice(0, 80) : undefined, problem: entry.problem });
          else if (twl.has(entry.name)) problems.push({ upstream: upstream.name, tool: entry.remote, problem: `its name ${entry.name} is twl's own tool: left out (twl's tool is never shadowed)` });
          // The configuration's rename wins whatever order the upstream lists its tools in.
          else if (claimedBy !== undefined && claimedBy !== entry.remote) problems.push({ upstream: upstream.name, tool: entry.remote, problem: `its name ${entry.name} is the configured new name of ${claimedBy}: left out` });
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

  /** The change of an upstream's tool definitions since they were pinned, when pinning applies; undefined when they match (or pinning is off). */
  private async checkPin(upstream: UpstreamLike, declared: unknown[]): Promise<PinChange | undefined> {
    if (!this.options.pins) return undefined;
    const { checkPin, pinChange, toolDefinitions } = await import('./pins.js');
    const tools = declared.filter((t): t is { name: string } => Boolean(t) && typeof (t as { name?: unknown }).name === 'string');
    const defs = toolDefinitions(tools);
    const pin = (upstream.config as { pin?: boolean } | undefined)?.pin !== false;
    try {
      const change = await checkPin(await this.runtime.store(), upstream.name, defs, { pin, actor: this.runtime.actor ?? 'twl' });
      if (!change) this.seenPins.set(upstream.name, defs);
      return change;
    } catch (err) {
      // The store is unreachable: the definitions are compared with the last ones this process
      // accepted (a change while it runs is still caught), else taken as they are, with a warning.
      const seen = this.seenPins.get(upstream.name);
      this.runtime.logger.warn({ upstream: upstream.name, err: messageOf(err) }, `upstream tool pins could not be read from the store; ${seen ? 'compared with the definitions this process saw' : 'its definitions are not pinned yet'}`);
      if (seen && pin && seen.hash !== defs.hash) return pinChange(seen.tools, defs.tools);
      this.seenPins.set(upstream.name, defs);
      return undefined;
    }
  }

  private async entries(source?: string, namespaces?: string[], workflows = true): Promise<Entry[]> {
    const twl = await this.twl();
    const wanted = (s: ToolSource) => !source || s === source || (source === 'upstream' && s.startsWith('upstream:'));
    const out = [...twl.values()].filter((e) => wanted(e.source));
    if (source === 'twl') return out;
    if (workflows && wanted('workflow')) out.push(...(await this.workflowEntries()).values());
    if (source === 'workflow') return out;
    const set = await this.upstreamSet();
    // An upstream outside the caller's grant is not even listed (nor started) for it.
    const upstreams = (set?.all() ?? []).filter((u) => wanted(`upstream:${u.name}`) && (namespaces === undefined || namespaces.includes(namespaceOfUpstream(u))));
    for (const tools of await Promise.all(upstreams.map((u) => this.toolsOf(u, twl)))) out.push(...tools.values());
    return out;
  }

  async list(options: ListOptions = {}): Promise<CatalogTool[]> {
    if (options.source !== undefined && options.source !== 'twl' && options.source !== 'workflow' && options.source !== 'upstream' && !/^upstream:[a-z][a-z0-9-]{0,31}$/.test(options.source)) {
      throw new TwlError('TWL_INPUT_INVALID', `Unknown source ${JSON.stringify(options.source.slice(0, 80))}: expected twl, workflow, upstream, or upstream:NAME.`);
    }
    const entries = await this.entries(options.source, options.namespaces);
    return entries
      .filter((e) => (options.role === undefined || roleAllows(e.minRole, options.role)) && namespaceAllows(e, options.namespaces))
      .map((e) => e.describe())
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async get(name: string, options: Pick<ListOptions, 'namespaces'> = {}): Promise<CatalogTool | undefined> {
    const entry = await this.find(name);
    return entry && namespaceAllows(entry, options.namespaces) ? entry.describe() : undefined;
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
    const upstream = await this.upstreamOf(name);
    return upstream ? (await this.toolsOf(upstream, twl)).get(name) : undefined;
  }

  /**
   * The refusal of a call to a tool of a quarantined upstream (within the caller's namespaces),
   * or undefined: faces answer it for a tool they no longer list, so the caller learns why and what to run.
   */
  async quarantineOf(name: string, namespaces?: string[]): Promise<TwlError | undefined> {
    if (typeof name !== 'string' || !this.quarantined.size) return undefined;
    const held = this.quarantined.get((await this.upstreamOf(name).catch(() => undefined))?.name ?? '');
    if (!held || !namespaceAllows({ namespace: held.namespace, source: `upstream:${held.upstream}` }, namespaces)) return undefined;
    const { describeChange } = await import('./pins.js');
    return new TwlError('TWL_UPSTREAM_QUARANTINED', `Upstream ${held.upstream} is quarantined: its tool definitions changed since they were pinned (${describeChange(held)}), so ${name.slice(0, 200)} is refused. Review the change (\`twl upstream status ${held.upstream}\`) and run \`twl upstream accept ${held.upstream}\`.`, {
      details: { upstream: held.upstream, added: held.added, removed: held.removed, changed: held.changed },
    });
  }

  /** The upstream whose namespace prefixes a tool name (`<namespace>_<tool>`). */
  private async upstreamOf(name: string): Promise<UpstreamLike | undefined> {
    const cut = name.indexOf('_');
    if (cut <= 0) return undefined;
    const namespace = name.slice(0, cut);
    return (await this.upstreamSet())?.all().find((u) => namespaceOfUpstream(u) === namespace);
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
    // A limited caller was told "no such tool" (`unseenTool`): the row says why (in another namespace, or nowhere).
    const reason = errorCode === 'TWL_TOOL_UNKNOWN' && options.namespaces ? (await this.admit(name, options).catch(() => undefined))?.reason : undefined;
    await this.record(entry, name, input, options, 'refused', 'refused', 0, reason ?? errorCode);
  }

  /**
   * Why a call of this tool by this caller would be refused before it runs (an unknown tool, a
   * quarantined upstream, a tool outside the caller's namespaces or above its role), or undefined.
   * Nothing is called and nothing is recorded: Maestro asks before a plan runs, so no fix runs when
   * a step of its runbook cannot, and records the refusal (`refused()`) itself.
   */
  async refusal(name: string, options: Pick<CallOptions, 'namespaces' | 'role'>): Promise<TwlError | undefined> {
    return (await this.admit(name, options)).refusal;
  }

  /**
   * The tool a call names, or the refusal the call meets before it runs (the order `call` checks in)
   * and its real reason for the audit row. A caller limited to namespaces is told of a tool outside
   * them, and of one that exists nowhere, in the same words (`unseenTool`); only the reason differs.
   */
  private async admit(name: string, options: Pick<CallOptions, 'namespaces' | 'role'>): Promise<{ entry?: Entry; refusal?: TwlError; reason?: string }> {
    const entry = await this.find(name);
    if (!entry) {
      const held = await this.quarantineOf(name, options.namespaces);
      if (held) return { refusal: held, reason: held.code };
      return { refusal: options.namespaces ? unseenTool(name) : unknownTool(name), reason: 'TWL_TOOL_UNKNOWN' };
    }
    if (!namespaceAllows(entry, options.namespaces)) return { entry, refusal: unseenTool(name), reason: 'TWL_NAMESPACE_DENIED' };
    if (options.role !== undefined && !roleAllows(entry.minRole, options.role)) {
      return { entry, refusal: new TwlError('TWL_ROLE_DENIED', roleRefusal(entry.name, entry.minRole, options.role), { details: { minRole: entry.minRole, role: options.role } }), reason: 'TWL_ROLE_DENIED' };
    }
    return { entry };
  }

  async call(name: string, input: unknown, options: CallOptions): Promise<ToolResult> {
    const started = performance.now();
    const ms = () => performance.now() - started;
    const admitted = await this.admit(name, options);
    if (admitted.refusal) {
      await this.record(admitted.entry, name, input, options, 'refused', 'refused', ms(), admitted.reason ?? admitted.refusal.code);
      throw admitted.refusal;
    }
    const entry = admitted.entry!;
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
      caller: { face: options.face, actor: options.actor, role: options.role, namespaces: options.namespaces, keyId: options.keyId, grantExpiresAt: options.grantExpiresAt },
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
    namespace: TWL_NAMESPACE,
    op,
    describe() {
      if (this.described) return this.described;
      let input: Record<string, unknown> | undefined;
      let output: Record<string, unknown> | undefined;
      // The JSON Schemas are built when first read (a planner that only asks what is read-only
      // does not pay ~2 ms per op for them); own enumerable getters, so JSON and spreads see them.
      return (this.described = Object.defineProperties(
        { name: op.mcpName, title: op.title, description: op.description, annotations: op.annotations, minRole: op.policy.minRole, needsApproval: op.policy.needsApproval, source: 'twl', namespace: TWL_NAMESPACE },
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
  return { name: t.name, source: 'workflow', namespace: WORKFLOW_NAMESPACE, minRole: t.minRole, needsApproval: t.needsApproval, annotations: t.annotations, title: t.title, workflow: w, describe: () => t };
}

/** An upstream's tool as a catalog entry, or why it is left out. */
/** An upstream's namespace: its configured `namespace`, or its name. */
const namespaceOfUpstream = (upstream: UpstreamLike): string => (upstream.config as { namespace?: string } | undefined)?.namespace ?? upstream.name;

/** The served names the configuration gives by renaming (`overrides.<tool>.name`), to the tool each is the new name of. */
function renamesOf(upstream: UpstreamLike): Map<string, string> {
  const overrides = (upstream.config as { overrides?: Record<string, ToolOverride> } | undefined)?.overrides ?? {};
  const namespace = namespaceOfUpstream(upstream);
  return new Map(Object.entries(overrides).flatMap(([remote, o]) => (o.name ? [[`${namespace}_${o.name}`, remote] as const] : [])));
}

function upstreamEntry(upstream: UpstreamLike, tool: unknown): Entry | { problem: string } {
  const policy = upstream.config as { approval?: 'ask' | 'never'; minRole?: Role; overrides?: Record<string, ToolOverride> } | undefined;
  if (!tool || typeof tool !== 'object') return { problem: 'a tool that is not an object' };
  const t = tool as Record<string, unknown>;
  const nameProblem = toolNameProblem(t.name);
  if (nameProblem) return { problem: nameProblem };
  const input = cleanSchema(t.inputSchema, 'input');
  if (input.problem) return { problem: input.problem };
  const output = t.outputSchema === undefined ? {} : cleanSchema(t.outputSchema, 'output');
  if (output.problem) return { problem: output.problem };
  const remote = t.name as string;
  // What the configuration says instead of the upstream (own keys only: a tool named __proto__ has no override).
  const override: ToolOverride = (policy?.overrides && Object.hasOwn(policy.overrides, remote) ? policy.overrides[remote] : undefined) ?? {};
  const namespace = namespaceOfUpstream(upstream);
  const name = `${namespace}_${override.name ?? remote}`;
  const annotations = override.annotations ? annotationsOf({ ...annotationsOf(t.annotations), ...override.annotations }) : annotationsOf(t.annotations);
  const title = cleanText(override.title ?? t.title ?? (t.annotations as Record<string, unknown> | undefined)?.title, 200) || remote;
  const minRole: Role = override.minRole ?? policy?.minRole ?? (annotations.readOnlyHint ? 'viewer' : 'operator');
  const needsApproval = override.needsApproval ?? (!annotations.readOnlyHint && policy?.approval !== 'never');
  const source: ToolSource = `upstream:${upstream.name}`;
  const described: CatalogTool = {
    name,
    title,
    description: cleanText(override.description ?? t.description, 4000),
    inputSchema: input.schema!,
    ...(output.schema ? { outputSchema: output.schema } : {}),
    annotations,
    minRole,
    needsApproval,
    source,
    namespace,
  };
  return { name, source, namespace, minRole, needsApproval, annotations, title, upstream, remote, described, describe: () => described };
}
