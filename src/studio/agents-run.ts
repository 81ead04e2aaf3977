import { setTimeout as sleep } from 'node:timers/promises';
import type { Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError, isTwlError, messageOf, namespaceRefusalOf, unseenTool } from '../runtime/errors.js';
import { Llm, type Message, type Tool } from '../runtime/llm.js';
import { redactText } from '../runtime/redact.js';
import type { Queryable, Store } from '../store/types.js';
import type { CallOptions, CatalogTool } from '../tools/types.js';
import { agentsSeenBy } from './agent-view.js';
import { childrenOf, getAgent, globMatcher, transitionAgent, type Agent } from './agents.js';
import { toolsOfAgent, workflowTool } from './agents-service.js';

/*
 * Running an agent: one run at a time per agent (busy), the others waiting in the order they
 * came, across processes; with an LLM, a tool-calling loop limited to the agent's tools and a
 * step budget, where a master or supervisor delegates to its children as tools; without one,
 * the agent's declared steps. Every step (model turn, tool call, delegation, refusal) is a row
 * of the run's record.
 */

export type StepKind = 'model' | 'tool' | 'delegate' | 'refused' | 'step';

export interface AgentStep {
  id: number;
  runId: number;
  agent: string;
  at: string;
  kind: StepKind;
  name: string | null;
  input: unknown;
  output: unknown;
  ok: boolean;
  error: string | null;
  ms: number;
}

export interface AgentRun {
  id: number;
  agent: string;
  parentRun: number | null;
  executionId: number | null;
  prompt: string;
  status: 'waiting' | 'running' | 'completed' | 'failed' | 'lost';
  mode: 'llm' | 'steps' | null;
  actor: string;
  startedAt: string;
  endedAt: string | null;
  output: string | null;
  error: string | null;
}

export interface RunOptions {
  actor: string;
  /** The caller's role: the agent's tools are cut to what it may call (undefined: a local user). */
  role?: Role;
  /** The namespaces the caller's key is granted (undefined: every one): the agent's tools are cut to them too. */
  namespaces?: string[];
  /** The caller's API key id, passed on to the agent's tool calls. */
  keyId?: number;
  /** When the caller's grant ends (an OAuth access token's `exp`), passed on to the agent's tool calls. */
  grantExpiresAt?: string;
  signal?: AbortSignal;
  /** Asks the person behind the caller to approve a tool that changes things; undefined: nobody can answer. */
  ask?: (question: string) => Promise<boolean | undefined>;
  /** A line of output for each step (a task's execution output). */
  line?: (text: string) => void;
  /** The task execution this run belongs to. */
  executionId?: number;
  /** Tool calls (model turns excluded) at most, per run of each agent. */
  maxSteps?: number;
  /** The LLM to use when the runtime has none (MCP sampling). */
  llm?: Llm;
}

export interface RunResult {
  run: AgentRun;
  /** Every step of this run and of the runs it delegated to, in order. */
  steps: AgentStep[];
}

const POLL_MS = 100;
const HEARTBEAT_MS = 2000;
/** A run whose heartbeat is older than this lost its process: it no longer holds its agent or its place in line. */
const STALE_S = 30;
/** The record of a run whose process died while it held its agent. */
const LOST = 'its process stopped answering while it held the agent';
const MAX_DEPTH = 8;
const DEFAULT_STEPS = 10;

type Row = Record<string, unknown>;
const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());

const toRun = (r: Row): AgentRun => ({
  id: Number(r.id),
  agent: r.agent as string,
  parentRun: r.parent_run === null ? null : Number(r.parent_run),
  executionId: r.execution_id === null ? null : Number(r.execution_id),
  prompt: r.prompt as string,
  status: r.status as AgentRun['status'],
  mode: (r.mode as AgentRun['mode']) ?? null,
  actor: r.actor as string,
  startedAt: iso(r.started_at)!,
  endedAt: iso(r.ended_at),
  output: (r.output as string) ?? null,
  error: (r.error as string) ?? null,
});

const toStep = (r: Row): AgentStep => ({
  id: Number(r.id),
  runId: Number(r.run_id),
  agent: r.agent as string,
  at: iso(r.at)!,
  kind: r.kind as StepKind,
  name: (r.name as string) ?? null,
  input: r.input ?? null,
  output: r.output ?? null,
  ok: Boolean(r.ok),
  error: (r.error as string) ?? null,
  ms: Number(r.ms),
});

/** A value for the record, bounded: tool outputs can be large. */
const bounded = (value: unknown, max = 8000): unknown => {
  const text = JSON.stringify(value ?? null);
  return text.length > max ? { truncated: true, text: redactText(text.slice(0, max)) } : value;
};

export async function getRun(q: Queryable, id: number): Promise<AgentRun> {
  const { rows } = await q.query('SELECT * FROM twl_agent_runs WHERE id = $1', [id]);
  if (!rows[0]) throw new TwlError('TWL_AGENT_NOT_FOUND', `There is no agent run #${id}.`);
  return toRun(rows[0]);
}

export async function runsOf(q: Queryable, agent: string, limit = 10, actor?: string): Promise<AgentRun[]> {
  const { rows } = await q.query('SELECT * FROM twl_agent_runs WHERE agent = $1 AND ($3::text IS NULL OR actor = $3) ORDER BY id DESC LIMIT $2', [agent, limit, actor ?? null]);
  return rows.map(toRun);
}

/** The steps of a run and of every run it delegated to (recursively), in the order they happened. */
export async function stepsOfTree(q: Queryable, runId: number): Promise<AgentStep[]> {
  const { rows } = await q.query(
    `WITH RECURSIVE tree(id) AS (SELECT id FROM twl_agent_runs WHERE id = $1 UNION ALL SELECT r.id FROM twl_agent_runs r JOIN tree ON r.parent_run = tree.id)
     SELECT s.*, r.agent FROM twl_agent_steps s JOIN twl_agent_runs r ON r.id = s.run_id WHERE s.run_id IN (SELECT id FROM tree) ORDER BY s.id`,
    [runId],
  );
  return rows.map(toStep);
}

/**
 * Takes the agent for this run, in one statement: only when it is active (or held by a run whose
 * process died) and no live run came before this one in its line.
 */
async function claim(store: Store, agent: string, runId: number): Promise<boolean> {
  const { rows } = await store.query(
    `UPDATE twl_agents a SET status = 'busy', run_id = $2, reason = $3
     WHERE a.name = $1
       AND (a.status = 'active' OR (a.status = 'busy' AND NOT EXISTS (
             SELECT 1 FROM twl_agent_runs h WHERE h.id = a.run_id AND h.heartbeat_at > clock_timestamp() - make_interval(secs => $4))))
       AND NOT EXISTS (SELECT 1 FROM twl_agent_runs w WHERE w.agent = $1 AND w.status = 'waiting' AND w.id < $2 AND w.heartbeat_at > clock_timestamp() - make_interval(secs => $4))
     RETURNING name`,
    [agent, runId, `running run #${runId}`, STALE_S],
  );
  if (!rows.length) return false;
  // (The holder counts by its heartbeat alone, whatever its row says: from its claim, while its row still says
  // waiting, to its release, after its row says how it ended. Only a holder whose process died is taken over.)
  await store.query(`UPDATE twl_agent_runs SET status = 'lost', ended_at = clock_timestamp(), error = $3 WHERE agent = $1 AND status = 'running' AND id <> $2`, [agent, runId, LOST]);
  await store.query("UPDATE twl_agent_runs SET status = 'running', heartbeat_at = clock_timestamp() WHERE id = $1", [runId]);
  return true;
}

/**
 * Frees the agents held (busy) by a run whose process died (no heartbeat for STALE_S): the agent
 * goes back to active, its reason naming the lost run, and the run is recorded as lost. A run
 * that comes takes such an agent over anyway; this frees one that no run comes for (it could not
 * be edited, deactivated or deleted meanwhile). twl worker does it in its upkeep. One statement:
 * an agent claimed meanwhile by a live run is left alone. Resolves with the freed agents and
 * their lost runs.
 */
export async function releaseLostAgents(q: Queryable): Promise<Array<{ agent: string; run: number }>> {
  const { rows } = await q.query<{ name: string; run_id: unknown }>(
    `WITH stuck AS (
       SELECT a.name, a.run_id FROM twl_agents a JOIN twl_agent_runs h ON h.id = a.run_id
        WHERE a.status = 'busy' AND h.heartbeat_at < clock_timestamp() - make_interval(secs => $1::int)),
     freed AS (
       UPDATE twl_agents a SET status = 'active', run_id = NULL,
              reason = 'freed: run #' || s.run_id || ' stopped answering (no heartbeat for ' || $1::int || ' s) while it held the agent'
         FROM stuck s WHERE a.name = s.name AND a.status = 'busy' AND a.run_id = s.run_id
       RETURNING a.name, s.run_id),
     lost AS (
       UPDATE twl_agent_runs r SET status = 'lost', ended_at = clock_timestamp(), error = $2
         FROM freed f WHERE r.id = f.run_id AND r.status IN ('waiting', 'running')
       RETURNING r.id)
     SELECT name, run_id FROM freed`,
    [STALE_S, LOST],
  );
  return rows.map((r) => ({ agent: r.name, run: Number(r.run_id) }));
}

/**
 * Why an agent does not run. For a caller granted `namespaces`, its reason is left out when it quotes
 * a glob or step naming tools outside them (as agent_show withholds it: agent-view.ts).
 */
async function notRunnable(runtime: Runtime, agent: Agent, namespaces: readonly string[] | undefined): Promise<TwlError> {
  const reason = namespaces ? (await agentsSeenBy(runtime.tools, [agent], namespaces))[0]!.reason : agent.reason;
  return new TwlError('TWL_AGENT_STATE', `Agent ${agent.name} is ${agent.status}${reason ? ` (${reason})` : ''}: only an active agent runs.`, {
    details: { name: agent.name, status: agent.status },
    actions: [agent.status === 'error' || agent.status === 'inactive' || agent.status === 'pending_validation' ? `Run \`twl agent activate ${agent.name}\` (after fixing what the reason says).` : `Run \`twl agent show ${agent.name}\`.`],
  });
}

/** Why a run fails and nothing runs: no LLM and no declared steps. */
const nothingToRun = (agent: Agent) =>
  new TwlError('TWL_LLM_UNAVAILABLE', `Agent ${agent.name} has no LLM to run with (llm.host is not set, and no MCP client model is at hand) and no declared steps to run without one.`, {
    actions: [`Set llm.host (an Ollama server) in the configuration, or declare steps: \`twl agent edit ${agent.name} --steps workflow:NAME\` or \`--steps TOOL,TOOL\`.`],
  });

/** The LLM an agent runs with: its own model on the configured Ollama server, or the one at hand. */
function llmFor(runtime: Runtime, agent: Agent, given?: Llm): Llm | undefined {
  const llm = runtime.llm() ?? given;
  if (!llm) return undefined;
  if (agent.model && llm.via === 'ollama' && agent.model !== llm.model) return new Llm(llm.host, agent.model, runtime.config.llm.timeout);
  return llm;
}

/** Runs an agent on a prompt; resolves with the run's record and its steps (those of its delegations included). */
export async function runAgent(runtime: Runtime, name: string, prompt: string, options: RunOptions): Promise<RunResult> {
  const store = await runtime.store();
  const run = await runOne(runtime, store, name, prompt, options, null, 0);
  return { run, steps: await stepsOfTree(store, run.id) };
}

async function runOne(runtime: Runtime, store: Store, name: string, prompt: string, options: RunOptions, parentRun: number | null, depth: number): Promise<AgentRun> {
  const agent = await getAgent(store, name);
  if (agent.status !== 'active' && agent.status !== 'busy') throw await notRunnable(runtime, agent, options.namespaces);
  const llm = llmFor(runtime, agent, options.llm);
  const mode = llm ? 'llm' : agent.steps && (agent.steps.workflow || agent.steps.tools?.length) ? 'steps' : undefined;
  if (!mode) throw nothingToRun(agent);

  const { rows } = await store.query('INSERT INTO twl_agent_runs (agent, parent_run, execution_id, prompt, mode, actor) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id', [
    name,
    parentRun,
    options.executionId ?? null,
    prompt,
    mode,
    options.actor,
  ]);
  const runId = Number(rows[0]!.id);
  const line = (text: string) => options.line?.(`${'  '.repeat(depth)}[${name}] ${text}`);
  // Written while it waits or runs: a run whose process died stops holding its place.
  const heartbeat = setInterval(() => void store.query('UPDATE twl_agent_runs SET heartbeat_at = clock_timestamp() WHERE id = $1', [runId]).catch(() => undefined), HEARTBEAT_MS);
  heartbeat.unref();
  const finish = async (status: 'completed' | 'failed', output: string | null, error: string | null) => {
    clearInterval(heartbeat);
    await store.query('UPDATE twl_agent_runs SET status = $2, ended_at = clock_timestamp(), output = $3, error = $4 WHERE id = $1', [runId, status, output, error]);
  };

  // Wait for the agent: one run at a time, in the order the runs came.
  let said = false;
  for (;;) {
    if (options.signal?.aborted) {
      await finish('failed', null, 'cancelled while it waited for the agent');
      throw new TwlError('TWL_INTERRUPTED', `The run of ${name} was cancelled while it waited for the agent.`);
    }
    if (await claim(store, name, runId)) break;
    const now = await getAgent(store, name);
    if (now.status !== 'active' && now.status !== 'busy') {
      await finish('failed', null, `the agent became ${now.status} while the run waited`);
      throw await notRunnable(runtime, now, options.namespaces);
    }
    if (!said) {
      line(`waiting: ${name} is busy with another run`);
      said = true;
    }
    await sleep(POLL_MS);
  }
  line(`run #${runId} started (${mode === 'llm' ? `LLM ${llm!.model}` : 'declared steps, no LLM'})`);

  try {
    const output = mode === 'llm' ? await llmLoop(runtime, store, agent, llm!, prompt, options, runId, depth, line) : await declaredSteps(runtime, store, agent, prompt, options, runId, line);
    await finish('completed', output, null);
    await transitionAgent(store, name, 'active', { from: ['busy'], holder: runId, reason: null, runId: null });
    line(`run #${runId} completed`);
  } catch (err) {
    const message = redactText(messageOf(err));
    await finish('failed', null, message);
    // Refused by its caller's grant (a key limited to namespaces): the caller's doing, not the agent's, which stays
    // active for everyone else. Any other failure puts the agent in error.
    const next = namespaceRefusalOf(err)
      ? { to: 'active' as const, reason: `run #${runId} was refused a tool outside its caller's namespaces; the agent stays active` }
      : { to: 'error' as const, reason: `run #${runId} failed: ${message}`.slice(0, 2000) };
    await transitionAgent(store, name, next.to, { from: ['busy'], holder: runId, reason: next.reason, runId: null }).catch(() => undefined);
    line(`run #${runId} failed: ${message}`);
    throw err;
  }
  return getRun(store, runId);
}

interface Recorder {
  (kind: StepKind, name: string | null, input: unknown, output: unknown, ok: boolean, error: string | null, ms: number): Promise<void>;
}

const recorder =
  (store: Store, runId: number): Recorder =>
  async (kind, name, input, output, ok, error, ms) => {
    await store.query('INSERT INTO twl_agent_steps (run_id, kind, name, input, output, ok, error, ms) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8)', [
      runId,
      kind,
      name,
      JSON.stringify(bounded(input)),
      JSON.stringify(bounded(output)),
      ok,
      error === null ? null : redactText(error).slice(0, 4000),
      Math.round(ms * 10) / 10,
    ]);
  };

/** The one gate of an agent's tool calls: its allow-list, approval, then the catalog's call path (role, audit row). */
class ToolGate {
  constructor(
    private readonly runtime: Runtime,
    private readonly agent: Agent,
    private readonly allowed: Map<string, CatalogTool>,
    private readonly preapproved: (name: string) => boolean,
    private readonly options: RunOptions,
    private readonly record: Recorder,
  ) {}

  private callOptions(approved: boolean): CallOptions {
    return { face: this.runtime.face, actor: `agent:${this.agent.name}`, role: this.options.role, namespaces: this.options.namespaces, keyId: this.options.keyId, grantExpiresAt: this.options.grantExpiresAt, via: 'agent', signal: this.options.signal, approved, ask: this.options.ask };
  }

  /** Resolves with what to tell the model (or the declared steps): the tool's output, or why it did not run. */
  async call(name: string, input: Record<string, unknown>, kind: 'tool' | 'step'): Promise<{ ok: boolean; output: unknown; error?: string; refusal?: TwlError }> {
    const tool = this.allowed.get(name);
    const namespaces = this.options.namespaces;
    if (!tool && namespaces && !(await this.runtime.tools.get(name, { namespaces }))) {
      // A caller limited to namespaces: a tool outside them, or one that exists nowhere, is refused in the catalog's
      // words for a tool that does not exist (the audit row says which it was).
      const refusal = unseenTool(name);
      await this.refuse(name, input, refusal.message, refusal.code);
      return { ok: false, output: null, error: refusal.message, refusal };
    }
    if (!tool) {
      const error = `${name} is not among the tools of agent ${this.agent.name} (${this.agent.tools.join(', ') || 'none'}${this.options.role ? `, within the ${this.options.role} role` : ''}); refused`;
      await this.refuse(name, input, error, 'TWL_POLICY_DENIED');
      return { ok: false, output: null, error };
    }
    let approved = false;
    if (!tool.annotations.readOnlyHint) {
      approved = this.preapproved(name) || (await this.options.ask?.(`Agent ${this.agent.name} wants to call ${name} (${tool.title}), which changes things: proceed?`)) === true;
      if (!approved) {
        const error = `${name} changes things and needs approval: nobody approved it, and the policy of ${this.agent.name} does not pre-approve it (twl agent edit ${this.agent.name} --preapprove ${name})`;
        await this.refuse(name, input, error, 'TWL_APPROVAL_REQUIRED');
        return { ok: false, output: null, error };
      }
    }
    const started = performance.now();
    try {
      const result = await this.runtime.tools.call(name, input, this.callOptions(approved));
      const output = result.structured ?? result.content;
      if (result.isError) {
        const text = result.content.map((c) => (typeof c.text === 'string' ? c.text : '')).join(' ').trim();
        await this.record(kind, name, input, output, false, text || 'the tool answered with an error', performance.now() - started);
        return { ok: false, output, error: text || 'the tool answered with an error' };
      }
      await this.record(kind, name, input, output, true, null, performance.now() - started);
      return { ok: true, output };
    } catch (err) {
      if (this.options.signal?.aborted) throw err;
      const error = messageOf(err);
      const refusal = namespaceRefusalOf(err) ? (err as TwlError) : undefined;
      await this.record(refusal || (isTwlError(err) && ['TWL_ROLE_DENIED', 'TWL_APPROVAL_REQUIRED', 'TWL_POLICY_DENIED'].includes(err.code)) ? 'refused' : kind, name, input, null, false, error, performance.now() - started);
      return { ok: false, output: null, error, ...(refusal ? { refusal } : {}) };
    }
  }

  private async refuse(name: string, input: unknown, error: string, code: string): Promise<void> {
    await this.record('refused', name, input, null, false, error, 0);
    await this.runtime.tools.refused?.(name, input, this.callOptions(false), code);
  }
}

const delegateName = (child: string) => `delegate_${child.replaceAll('-', '_')}`;

const asTool = (t: CatalogTool): Tool => ({ type: 'function', function: { name: t.name, description: t.description.slice(0, 1000), parameters: t.inputSchema as Tool['function']['parameters'] } });

async function llmLoop(runtime: Runtime, store: Store, agent: Agent, llm: Llm, prompt: string, options: RunOptions, runId: number, depth: number, line: (text: string) => void): Promise<string> {
  const record = recorder(store, runId);
  const allowed = new Map((await toolsOfAgent(runtime, agent, options.role, options.namespaces)).map((t) => [t.name, t]));
  const gate = new ToolGate(runtime, agent, allowed, await globMatcher(agent.policy.preapprove ?? []), options, record);
  const children = depth < MAX_DEPTH ? (await childrenOf(store, agent.name)).filter((c) => c.status === 'active' || c.status === 'busy') : [];
  const delegates = new Map(children.map((c) => [delegateName(c.name), c]));
  const tools: Tool[] = [
    ...[...allowed.values()].map(asTool),
    ...children.map(
      (c): Tool => ({
        type: 'function',
        function: {
          name: delegateName(c.name),
          description: `Delegate a task to ${c.kind} agent ${c.name}${c.instructions ? `: ${c.instructions.slice(0, 300)}` : ''}. It answers with its result.`,
          parameters: { type: 'object', properties: { prompt: { type: 'string', description: `What ${c.name} should do.` } }, required: ['prompt'] },
        },
      }),
    ),
  ];
  const budget = options.maxSteps ?? DEFAULT_STEPS;
  const messages: Message[] = [
    {
      role: 'system',
      content:
        `You are ${agent.name}, a ${agent.kind} agent of twl (an IT operations toolkit).${agent.instructions ? `\n${agent.instructions}` : ''}\n` +
        `Use only the tools given${children.length ? `; delegate work to the agents you lead with ${[...delegates.keys()].join(', ')}` : ''}. At most ${budget} calls; then answer in plain text.`,
    },
    { role: 'user', content: prompt },
  ];
  let calls = 0;
  for (;;) {
    const started = performance.now();
    let res;
    try {
      res = await llm.chat(messages, { tools, signal: options.signal });
    } catch (err) {
      await record('model', llm.model, null, null, false, messageOf(err), performance.now() - started);
      throw err;
    }
    const toolCalls = res.message.tool_calls ?? [];
    await record('model', llm.model, null, { content: res.message.content, toolCalls: toolCalls.map((c) => c.function.name) }, true, null, performance.now() - started);
    messages.push(res.message);
    if (!toolCalls.length) {
      const answer = res.message.content.trim() || '(no answer)';
      line(`answered: ${answer.slice(0, 300)}`);
      return answer;
    }
    if (calls >= budget) {
      line(`stopped at the step budget of ${budget} calls`);
      return `stopped at the step budget of ${budget} calls without a final answer${res.message.content.trim() ? `; last words: ${res.message.content.trim()}` : ''}`;
    }
    for (const call of toolCalls) {
      calls++;
      const name = call.function.name;
      const input = (call.function.arguments ?? {}) as Record<string, unknown>;
      const child = delegates.get(name);
      if (child) {
        const task = typeof input.prompt === 'string' && input.prompt.trim() ? input.prompt : prompt;
        line(`delegates to ${child.name}: ${task.slice(0, 200)}`);
        const started = performance.now();
        try {
          const sub = await runOne(runtime, store, child.name, task, options, runId, depth + 1);
          await record('delegate', child.name, { prompt: task }, { run: sub.id, output: sub.output }, true, null, performance.now() - started);
          messages.push({ role: 'tool', content: JSON.stringify({ agent: child.name, run: sub.id, result: sub.output }) });
        } catch (err) {
          if (options.signal?.aborted) throw err;
          await record('delegate', child.name, { prompt: task }, null, false, messageOf(err), performance.now() - started);
          messages.push({ role: 'tool', content: JSON.stringify({ agent: child.name, error: messageOf(err) }) });
        }
        continue;
      }
      const result = await gate.call(name, input, 'tool');
      line(result.ok ? `called ${name}` : `${name}: ${result.error}`);
      messages.push({ role: 'tool', content: JSON.stringify(result.ok ? bounded(result.output, 4000) : { error: result.error }) });
      if (calls >= budget) break;
    }
  }
}

/** Without an LLM: the agent's workflow, or its fixed list of tool calls, in order; a failed step stops the run. */
async function declaredSteps(runtime: Runtime, store: Store, agent: Agent, prompt: string, options: RunOptions, runId: number, line: (text: string) => void): Promise<string> {
  const record = recorder(store, runId);
  const allowed = new Map((await toolsOfAgent(runtime, agent, options.role, options.namespaces)).map((t) => [t.name, t]));
  const gate = new ToolGate(runtime, agent, allowed, await globMatcher(agent.policy.preapprove ?? []), options, record);
  const steps = agent.steps!;
  const calls: Array<{ tool: string; input: Record<string, unknown> }> = [];
  if (steps.workflow) {
    const tool = workflowTool(steps.workflow);
    const described = await runtime.tools.get(tool, { namespaces: options.namespaces });
    // A caller limited to namespaces: the gate refuses it as a tool that does not exist, wherever it is (and audits why).
    if (!described && options.namespaces) throw (await gate.call(tool, {}, 'step')).refusal ?? unseenTool(tool);
    if (!described) throw new TwlError('TWL_TOOL_UNKNOWN', `The workflow ${steps.workflow} declared by ${agent.name} is not in the catalog (no tool ${tool}).`, { actions: ['Check the workflow files (`twl tools list`), or change the steps with `twl agent edit`.'] });
    // The gate checks allow-lists: a declared workflow is the agent's own choice, so it is allowed.
    allowed.set(tool, described);
    const props = (described.inputSchema.properties ?? {}) as Record<string, unknown>;
    calls.push({ tool, input: 'prompt' in props ? { prompt } : {} });
  } else for (const s of steps.tools ?? []) calls.push({ tool: s.tool, input: s.input ?? {} });
  line(`no LLM: running its declared steps (${calls.map((c) => c.tool).join(', ')})`);
  const results: unknown[] = [];
  for (const c of calls) {
    const result = await gate.call(c.tool, c.input, 'step');
    if (!result.ok) throw result.refusal ?? new TwlError('TWL_TOOL_ERROR', `Declared step ${c.tool} of ${agent.name} failed: ${result.error}`);
    line(`step ${c.tool} done`);
    results.push({ tool: c.tool, output: result.output });
  }
  return `Ran its declared steps without an LLM (${calls.map((c) => c.tool).join(', ')}): ${JSON.stringify(bounded(results, 4000))}`;
}
