import type { Runtime } from '../runtime/context.js';
import { TwlError, messageOf } from '../runtime/errors.js';
import { Llm } from '../runtime/llm.js';
import type { CatalogTool } from '../tools/types.js';
import {
  checkHierarchy,
  childrenOf,
  findAgent,
  getAgent,
  globMatcher,
  insertAgent,
  toAgent,
  transitionAgent,
  type Agent,
  type AgentFields,
  type NewAgent,
} from './agents.js';

/*
 * What agent ops do: create, edit, delete inside one transaction (nothing half-written), and
 * activation, which checks the agent against the tool catalog and its model before it may run.
 */

/** Tools an agent never calls: agents and tasks are not driven from inside an agent (delegation is how it reaches its children). */
export const notForAgents = /^(agent_|task_)/;

/** A workflow's catalog tool name. */
export const workflowTool = (name: string) => `workflow_${name.replaceAll('-', '_')}`;

/** The catalog tools an agent's globs match, for a caller with `role` and a key granted `namespaces` (undefined: a local user, no ceiling). */
export async function toolsOfAgent(runtime: Runtime, agent: Pick<Agent, 'tools'>, role?: CatalogTool['minRole'], namespaces?: string[]): Promise<CatalogTool[]> {
  const match = await globMatcher(agent.tools);
  return (await runtime.tools.list({ ...(role ? { role } : {}), ...(namespaces ? { namespaces } : {}) })).filter((t) => !notForAgents.test(t.name) && match(t.name));
}

const UNCHECKED = 'cannot be checked';

/**
 * What keeps an agent from running: globs that match no tool, a model the LLM server does not have, steps that cannot run.
 * For a caller granted `namespaces` (an API key made with `--namespaces`), the tools it can reach stand for the catalog,
 * and the globs and steps that name none of them are counted, not named (agent-view.ts hides them alike): a glob of
 * another namespace's tools and one that matches nothing give the same problem, word for word.
 */
export async function problemsOf(runtime: Runtime, agent: Agent, namespaces?: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  const catalog = (await runtime.tools.list(namespaces ? { namespaces: [...namespaces] } : {})).filter((t) => !notForAgents.test(t.name));
  const limit = `within its caller's namespaces (${namespaces?.join(', ') || 'none'})`;
  const unmatched: string[] = [];
  for (const glob of agent.tools) {
    const match = await globMatcher([glob]);
    if (!catalog.some((t) => match(t.name))) unmatched.push(glob);
  }
  if (!namespaces) for (const glob of unmatched) problems.push(`the tool glob "${glob}" matches no tool of the catalog (see \`twl tools list\`; agent_* and task_* tools are not for agents)`);
  else if (unmatched.length) {
    problems.push(
      `${unmatched.length === 1 ? 'one of its tool globs matches' : `${unmatched.length} of its tool globs match`} no tool ${limit}: not named here (\`twl agent show ${agent.name}\` shows its other globs); agent_* and task_* tools are not for agents`,
    );
  }
  if (agent.model) {
    const host = runtime.config.llm.host;
    if (!host) problems.push(`its model ${agent.model} needs an LLM server, and llm.host is not set`);
    else {
      try {
        const { models } = await new Llm(host, agent.model, runtime.config.llm.timeout).models();
        if (!models.some((m) => m.name === agent.model || m.model === agent.model || m.name === `${agent.model}:latest`)) {
          problems.push(`the LLM server has no model ${agent.model} (it has: ${models.map((m) => m.name).join(', ') || 'none'}); pull it with \`ollama pull ${agent.model}\``);
        }
      } catch (err) {
        problems.push(`its model ${agent.model} ${UNCHECKED}: ${messageOf(err)}`);
      }
    }
  }
  const steps = agent.steps;
  const has = (name: string) => catalog.some((t) => t.name === name);
  if (steps?.workflow && !has(workflowTool(steps.workflow))) {
    problems.push(namespaces ? `its declared workflow has no tool ${limit} (not named here)` : `its declared workflow ${steps.workflow} is not in the catalog (no tool ${workflowTool(steps.workflow)})`);
  }
  if (steps?.tools?.length) {
    const match = await globMatcher(agent.tools);
    let outside = 0;
    for (const s of steps.tools) {
      if (!has(s.tool)) {
        if (namespaces) outside++;
        else problems.push(`its declared step tool ${s.tool} is not in the catalog`);
      } else if (!match(s.tool)) {
        // (A limited caller is not shown the list: it may name tools outside its namespaces.)
        problems.push(`its declared step tool ${s.tool} is not among its tools${namespaces ? '' : ` (${agent.tools.join(', ') || 'none'})`}`);
      }
    }
    if (outside) problems.push(`${outside === 1 ? 'one of its declared step tools is no tool' : `${outside} of its declared step tools are no tools`} ${limit} (not named here)`);
  }
  return problems;
}

export async function createAgent(runtime: Runtime, a: NewAgent): Promise<Agent> {
  const store = await runtime.store();
  return store.transaction((tx) => insertAgent(tx, a));
}

/**
 * Changes an agent's fields in one transaction. A change of what it may call or run (tools,
 * model, steps) sends an active agent back to pending_validation: it runs again once activated.
 */
export async function editAgent(runtime: Runtime, name: string, patch: Partial<AgentFields>, actor: string): Promise<Agent> {
  const store = await runtime.store();
  return store.transaction(async (tx) => {
    const agent = await getAgent(tx, name, true);
    if (agent.status === 'busy') throw new TwlError('TWL_AGENT_STATE', `Agent ${name} is busy with a run: it cannot be edited now.`, { actions: [`Wait for the run to end (\`twl agent show ${name}\`), then edit it.`] });
    const next: AgentFields = { ...agent, ...patch };
    if (patch.kind !== undefined || patch.parent !== undefined) await checkHierarchy(tx, name, next.kind, next.parent);
    const revalidate = (['tools', 'model', 'steps'] as const).some((k) => patch[k] !== undefined) && agent.status !== 'pending_validation';
    const { rows } = await tx.query(
      `UPDATE twl_agents SET kind = $2, parent = $3, instructions = $4, tools = $5::text[], model = $6, policy = $7::jsonb, steps = $8::jsonb,
         status = CASE WHEN $9::boolean THEN 'pending_validation' ELSE status END,
         reason = CASE WHEN $9::boolean THEN $10 ELSE reason END
       WHERE name = $1 RETURNING *`,
      [name, next.kind, next.parent, next.instructions, next.tools, next.model, JSON.stringify(next.policy), next.steps === null ? null : JSON.stringify(next.steps), revalidate, `edited by ${actor}: activate it again with \`twl agent activate ${name}\``],
    );
    return toAgent(rows[0]!);
  });
}

export async function deleteAgent(runtime: Runtime, name: string): Promise<Agent> {
  const store = await runtime.store();
  return store.transaction(async (tx) => {
    const agent = await getAgent(tx, name, true);
    const kids = await childrenOf(tx, name);
    if (kids.length) {
      throw new TwlError('TWL_AGENT_STATE', `Agent ${name} leads ${kids.map((k) => k.name).join(', ')}: delete them first, or give them another parent.`, {
        details: { children: kids.map((k) => k.name) },
        actions: [`Run \`twl agent delete ${kids[0]!.name}\`, or \`twl agent edit ${kids[0]!.name} --parent OTHER\`, for each child; then delete ${name}.`],
      });
    }
    if (agent.status === 'busy') throw new TwlError('TWL_AGENT_STATE', `Agent ${name} is busy with a run: it cannot be deleted now.`, { actions: [`Wait for the run to end (\`twl agent show ${name}\`), then delete it.`] });
    await tx.query('DELETE FROM twl_agents WHERE name = $1', [name]);
    return agent;
  });
}

/**
 * Activates an agent: its tools must exist in the catalog (for a caller granted `namespaces`: among
 * the tools within them) and its model (when set) be on the LLM server. When they are not, the
 * agent goes to error with the reasons, and the call fails naming each problem.
 */
export async function activateAgent(runtime: Runtime, name: string, actor: string, namespaces?: readonly string[]): Promise<Agent> {
  const store = await runtime.store();
  const agent = await getAgent(store, name);
  if (agent.status === 'active' || agent.status === 'busy') throw new TwlError('TWL_AGENT_STATE', `Agent ${name} is ${agent.status} already.`, { details: { name, status: agent.status } });
  const problems = await problemsOf(runtime, agent, namespaces);
  if (!problems.length) return transitionAgent(store, name, 'active', { from: [agent.status], reason: `activated by ${actor}` });
  const reason = `activation failed: ${problems.join('; ')}`;
  if (agent.status === 'error') await store.query("UPDATE twl_agents SET reason = $2 WHERE name = $1 AND status = 'error'", [name, reason]);
  else await transitionAgent(store, name, 'error', { from: [agent.status], reason });
  throw new TwlError('TWL_AGENT_STATE', `Agent ${name} cannot be activated: ${problems.join('; ')}.`, {
    details: { name, status: 'error', problems },
    actions: [`Fix it with \`twl agent edit ${name} --tools GLOB… --model NAME\` (or fix the catalog / the LLM server), then run \`twl agent activate ${name}\` again.`],
  });
}

export async function deactivateAgent(runtime: Runtime, name: string, actor: string): Promise<Agent> {
  const store = await runtime.store();
  return transitionAgent(store, name, 'inactive', { reason: `deactivated by ${actor}` });
}

/**
 * Before an agent task's run (what it did, for the run's output): an agent left in error by a failed run of this same task (its
 * previous attempt, or its previous cron tick) is checked again as activation checks it, and made
 * active when the checks pass, so the task's retries and later ticks are not blocked by its own
 * failure. When a check fails, the agent stays in error and the run fails naming the problems
 * (without retry, unless the only problem is an LLM server that does not answer). An agent in
 * error for any other reason (its activation failed, another task's or someone's run failed)
 * is left as it is: the run then fails as not active. A task of a key granted `namespaces` checks it
 * as that key's activation does (its lines are the key's to read).
 */
export async function reviveForTask(runtime: Runtime, name: string, taskId: number, namespaces?: readonly string[]): Promise<string | undefined> {
  const store = await runtime.store();
  const agent = await findAgent(store, name);
  const failed = agent?.status === 'error' ? /^run #(\d+) failed: /.exec(agent.reason ?? '') : null;
  if (!agent || !failed) return undefined;
  const run = Number(failed[1]);
  const { rows } = await store.query('SELECT 1 FROM twl_agent_runs r JOIN twl_task_executions e ON e.id = r.execution_id WHERE r.id = $1 AND e.task_id = $2', [run, taskId]);
  if (!rows.length) return undefined;
  const problems = await problemsOf(runtime, agent, namespaces);
  if (problems.length) {
    throw new TwlError(
      problems.every((p) => p.includes(UNCHECKED)) ? 'TWL_LLM_UNAVAILABLE' : 'TWL_AGENT_STATE',
      `Agent ${name} is in error since run #${run} of this task failed, and checking it again found: ${problems.join('; ')}.`,
      { details: { name, status: 'error', problems }, actions: [`Fix it (\`twl agent edit ${name}\`, the catalog or the LLM server), then run \`twl agent activate ${name}\`.`] },
    );
  }
  await transitionAgent(store, name, 'active', { from: ['error'], reason: `activated by task #${taskId}: its run #${run} had failed, and the agent's checks pass` }).catch(async (err: unknown) => {
    // Another run of it revived it first.
    const now = await getAgent(store, name);
    if (now.status !== 'active' && now.status !== 'busy') throw err;
  });
  return `agent ${name} was in error since run #${run} of this task failed; its checks pass: active again`;
}
