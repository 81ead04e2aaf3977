import { distance } from 'fastest-levenshtein';
import { TwlError } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';

/*
 * Agents, in twl's store (migration 0016): a hierarchy (master → supervisor → worker), the tools
 * each may call, and their lifecycle status. Status changes go through one table of allowed
 * transitions (twl_agent_transitions): `transitionAgent` writes a status with a single UPDATE
 * that checks it, and a trigger refuses any other write that breaks it (and writes the change
 * feed's event).
 */

export const agentKinds = ['master', 'supervisor', 'worker'] as const;
export type AgentKind = (typeof agentKinds)[number];
export const agentStatuses = ['pending_validation', 'active', 'busy', 'inactive', 'error'] as const;
export type AgentStatus = (typeof agentStatuses)[number];

/** What an agent runs without an LLM: a workflow (the catalog tool workflow_<name>), or a fixed list of tool calls. */
export interface AgentSteps {
  workflow?: string;
  tools?: Array<{ tool: string; input?: Record<string, unknown> }>;
}

export interface AgentPolicy {
  /** Tools that change things and run without asking (globs). */
  preapprove?: string[];
}

/** What a manager sets on an agent (create, edit). */
export interface AgentFields {
  kind: AgentKind;
  parent: string | null;
  instructions: string;
  tools: string[];
  model: string | null;
  policy: AgentPolicy;
  steps: AgentSteps | null;
}

export interface Agent extends AgentFields {
  name: string;
  status: AgentStatus;
  reason: string | null;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export const AGENT_NAME = /^[a-z][a-z0-9_-]{0,47}$/;

type Row = Record<string, unknown>;
const iso = (v: unknown): string => new Date(v as string).toISOString();

export const toAgent = (r: Row): Agent => ({
  name: r.name as string,
  kind: r.kind as AgentKind,
  parent: (r.parent as string) ?? null,
  instructions: (r.instructions as string) ?? '',
  tools: (r.tools as string[]) ?? [],
  model: (r.model as string) ?? null,
  policy: (r.policy as AgentPolicy) ?? {},
  steps: (r.steps as AgentSteps) ?? null,
  status: r.status as AgentStatus,
  reason: (r.reason as string) ?? null,
  createdBy: r.created_by as string,
  createdAt: iso(r.created_at),
  updatedAt: iso(r.updated_at),
});

async function notFound(q: Queryable, name: string): Promise<TwlError> {
  const { rows } = await q.query<{ name: string }>('SELECT name FROM twl_agents ORDER BY name LIMIT 1000');
  const near = rows.map((r) => ({ k: r.name, d: distance(r.name, name) })).sort((a, b) => a.d - b.d)[0];
  const hint = near && near.d <= Math.max(2, Math.floor(name.length / 3)) ? ` Did you mean ${near.k}?` : '';
  return new TwlError('TWL_AGENT_NOT_FOUND', `There is no agent "${name.slice(0, 100)}".${hint}`, {
    actions: ['Run `twl agent list` to see the agents, or create it with `twl agent create NAME --kind worker --parent PARENT`.'],
  });
}

export async function findAgent(q: Queryable, name: string): Promise<Agent | undefined> {
  const { rows } = await q.query('SELECT * FROM twl_agents WHERE name = $1', [name]);
  return rows[0] ? toAgent(rows[0]) : undefined;
}

export async function getAgent(q: Queryable, name: string, lock = false): Promise<Agent> {
  const { rows } = await q.query(`SELECT * FROM twl_agents WHERE name = $1${lock ? ' FOR UPDATE' : ''}`, [name]);
  if (!rows[0]) throw await notFound(q, name);
  return toAgent(rows[0]);
}

export async function listAgents(q: Queryable, filter: { status?: AgentStatus[]; kind?: AgentKind[] } = {}): Promise<Agent[]> {
  const { rows } = await q.query('SELECT * FROM twl_agents WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::text[] IS NULL OR kind = ANY($2::text[])) ORDER BY name', [
    filter.status?.length ? filter.status : null,
    filter.kind?.length ? filter.kind : null,
  ]);
  return rows.map(toAgent);
}

export async function childrenOf(q: Queryable, name: string): Promise<Agent[]> {
  const { rows } = await q.query('SELECT * FROM twl_agents WHERE parent = $1 ORDER BY name', [name]);
  return rows.map(toAgent);
}

/** Which kinds may be an agent's parent. */
const parentKinds: Record<AgentKind, AgentKind[]> = { master: [], supervisor: ['master', 'supervisor'], worker: ['supervisor', 'master'] };

/**
 * Checks an agent's place in the hierarchy before anything is written: its parent exists and has
 * a kind that may lead it, a worker leads nobody, and no agent becomes its own ancestor.
 */
export async function checkHierarchy(q: Queryable, name: string, kind: AgentKind, parent: string | null): Promise<void> {
  if (kind === 'master') {
    if (parent !== null) throw new TwlError('TWL_AGENT_HIERARCHY', `${name} is a master: a master leads the hierarchy and has no parent (got --parent ${parent}).`, { actions: ['Drop --parent, or make it a supervisor or worker (--kind supervisor).'] });
  } else if (parent === null) {
    throw new TwlError('TWL_AGENT_HIERARCHY', `${name} is a ${kind}: it needs a parent (${parentKinds[kind].join(' or ')}).`, { actions: [`Give --parent NAME (an existing ${parentKinds[kind].join(' or ')}), or make it a master (--kind master).`] });
  }
  if (parent !== null) {
    if (parent === name) throw new TwlError('TWL_AGENT_HIERARCHY', `${name} cannot be its own parent.`, { actions: ['Give another agent as --parent.'] });
    const p = await findAgent(q, parent);
    if (!p) throw await notFound(q, parent);
    if (!parentKinds[kind].includes(p.kind)) {
      throw new TwlError('TWL_AGENT_HIERARCHY', `${parent} is a ${p.kind}, and a ${kind}'s parent must be a ${parentKinds[kind].join(' or ')}.`, {
        actions: [`Choose a ${parentKinds[kind].join(' or ')} as --parent (\`twl agent list\`).`],
      });
    }
    // A cycle: the new parent is the agent itself or one of its descendants.
    const { rows } = await q.query<{ name: string }>(
      `WITH RECURSIVE up(name, parent, depth) AS (
         SELECT name, parent, 0 FROM twl_agents WHERE name = $1
         UNION ALL SELECT a.name, a.parent, up.depth + 1 FROM twl_agents a JOIN up ON a.name = up.parent WHERE up.depth < 100)
       SELECT name FROM up ORDER BY depth`,
      [parent],
    );
    const chain = rows.map((r) => r.name);
    if (chain.includes(name)) {
      throw new TwlError('TWL_AGENT_HIERARCHY', `Making ${parent} the parent of ${name} would close a cycle: ${[name, ...chain.slice(0, chain.indexOf(name) + 1)].join(' → ')}.`, {
        details: { cycle: [name, ...chain.slice(0, chain.indexOf(name) + 1)] },
        actions: [`Choose a parent that is not ${name} or below it (${name}'s descendants cannot lead it).`],
      });
    }
  }
  if (kind === 'worker') {
    const kids = await childrenOf(q, name);
    if (kids.length) throw new TwlError('TWL_AGENT_HIERARCHY', `${name} leads ${kids.map((k) => k.name).join(', ')}, and a worker leads nobody.`, { actions: ['Keep it a supervisor, or give its children another parent first.'] });
  }
}

export interface NewAgent extends AgentFields {
  name: string;
  createdBy: string;
}

export async function insertAgent(q: Queryable, a: NewAgent): Promise<Agent> {
  if (await findAgent(q, a.name)) throw new TwlError('TWL_AGENT_EXISTS', `An agent named ${a.name} exists already.`);
  await checkHierarchy(q, a.name, a.kind, a.parent);
  const { rows } = await q.query(
    `INSERT INTO twl_agents (name, kind, parent, instructions, tools, model, policy, steps, created_by, reason)
     VALUES ($1, $2, $3, $4, $5::text[], $6, $7::jsonb, $8::jsonb, $9, $10) RETURNING *`,
    [a.name, a.kind, a.parent, a.instructions, a.tools, a.model, JSON.stringify(a.policy), a.steps === null ? null : JSON.stringify(a.steps), a.createdBy, `created by ${a.createdBy}: activate it with \`twl agent activate ${a.name}\``],
  );
  return toAgent(rows[0]!);
}

/** Where an agent in this status may go, from the transition table. */
export async function agentAllowedFrom(q: Queryable, status: string): Promise<string[]> {
  const { rows } = await q.query<{ to_status: string }>('SELECT to_status FROM twl_agent_transitions WHERE from_status = $1 ORDER BY to_status', [status]);
  return rows.map((r) => r.to_status);
}

/**
 * Moves an agent to `to` in one statement that checks the transition table (and `from`), or
 * fails with TWL_AGENT_STATE saying what the agent is and where it could go.
 */
export async function transitionAgent(
  q: Queryable,
  name: string,
  to: AgentStatus,
  options: { reason?: string | null; from?: AgentStatus[]; runId?: number | null; holder?: number } = {},
): Promise<Agent> {
  const { rows } = await q.query(
    `UPDATE twl_agents a SET status = $2, reason = $3, run_id = CASE WHEN $5::boolean THEN $6::bigint ELSE a.run_id END
     WHERE a.name = $1 AND ($4::text[] IS NULL OR a.status = ANY($4::text[])) AND ($7::bigint IS NULL OR a.run_id = $7)
       AND EXISTS (SELECT 1 FROM twl_agent_transitions WHERE from_status = a.status AND to_status = $2)
     RETURNING *`,
    [name, to, options.reason ?? null, options.from ?? null, options.runId !== undefined, options.runId ?? null, options.holder ?? null],
  );
  if (rows[0]) return toAgent(rows[0]);
  const current = await getAgent(q, name);
  if (options.holder !== undefined && current.status === 'busy') {
    throw new TwlError('TWL_AGENT_STATE', `Agent ${name} is busy with another run than #${options.holder} (its process stopped answering and another run took the agent over).`, { details: { name, status: current.status, to } });
  }
  const allowed = await agentAllowedFrom(q, current.status);
  const expected = options.from && !options.from.includes(current.status) ? ` (expected ${options.from.join(' or ')})` : '';
  if (current.status === to && !expected) throw new TwlError('TWL_AGENT_STATE', `Agent ${name} is ${to} already.`, { details: { name, status: current.status, to, allowed } });
  throw new TwlError('TWL_AGENT_STATE', `Agent ${name} is ${current.status}${expected}: it cannot become ${to}. From ${current.status} it may become: ${allowed.join(', ') || 'nothing'}.`, {
    details: { name, status: current.status, to, allowed },
    actions: [current.status === 'busy' ? `Wait for its run to end (\`twl agent show ${name}\`), then try again.` : `Run \`twl agent show ${name}\` to see its status and why.`],
  });
}

/** Glob matching over tool names (picomatch, loaded when first needed). */
export async function globMatcher(globs: string[]): Promise<(name: string) => boolean> {
  if (!globs.length) return () => false;
  const picomatch = (await import('picomatch')).default;
  return picomatch(globs, { nocase: false });
}
