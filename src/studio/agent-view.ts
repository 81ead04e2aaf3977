import type { ToolCatalog } from '../tools/types.js';
import { globMatcher, type Agent } from './agents.js';
import { workflowTool } from './agents-service.js';

/*
 * An agent as a caller limited to namespaces (an API key made with `--namespaces`) is shown it.
 * An agent belongs to no namespace (it is twl's, and such a key may run it, its tools cut to the
 * key's grant), so it is shown, not hidden as a task outside the grant is; but its tool globs,
 * preapproved globs and declared steps may name tools of other namespaces, and a limited key must
 * learn nothing of those. Each entry is shown only when it names tools the key can reach: a glob
 * that matches at least one of them (every alternative of a brace glob, the pattern under a `!`),
 * a step whose tool (or workflow's tool) is one of them. The others are left out and counted in
 * `hidden`, never named; so is a reason that quotes one (an activation failure lists the globs
 * that match nothing). What is shown depends only on the agent and the tools the key can reach,
 * never on what other namespaces hold: an entry naming another namespace's tool and one naming a
 * tool that exists nowhere are hidden alike.
 */

/** How many of an agent's entries a limited caller was not shown. */
export interface HiddenEntries {
  tools: number;
  preapprove: number;
  steps: number;
  reason: boolean;
}

export type SeenAgent = Agent & { hidden?: HiddenEntries };

/** Alternatives past this many (nested brace lists) are not worked out: the glob is hidden. */
const MAX_ALTERNATIVES = 64;

/**
 * The globs a brace glob stands for (`{agent_show,fx_read}` → `agent_show`, `fx_read`), nested
 * lists included; undefined past MAX_ALTERNATIVES. Braces without a top-level comma (or unclosed)
 * are left as they are, for the matcher to read.
 */
export function braceAlternatives(glob: string): string[] | undefined {
  const open = glob.indexOf('{');
  if (open < 0) return [glob];
  let depth = 0;
  let close = -1;
  const commas: number[] = [];
  for (let i = open; i < glob.length && close < 0; i++) {
    const c = glob[i];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) close = i;
    else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close < 0 || !commas.length) {
    // Not a list here: keep it, and look for lists after it.
    const rest = close < 0 ? undefined : braceAlternatives(glob.slice(close + 1));
    return rest?.map((tail) => glob.slice(0, close + 1) + tail) ?? [glob];
  }
  const head = glob.slice(0, open);
  const tail = glob.slice(close + 1);
  const bounds = [open, ...commas, close];
  const out: string[] = [];
  for (let i = 0; i < bounds.length - 1; i++) {
    const expanded = braceAlternatives(head + glob.slice(bounds[i]! + 1, bounds[i + 1]) + tail);
    if (!expanded) return undefined;
    out.push(...expanded);
    if (out.length > MAX_ALTERNATIVES) return undefined;
  }
  return out;
}

/** Whether a glob names only tools among `reachable`: each of its alternatives matches one of them. */
async function namesOnly(glob: string, reachable: readonly string[]): Promise<boolean> {
  const alternatives = braceAlternatives(glob.replace(/^!+/, ''));
  if (!alternatives?.length) return false;
  for (const alternative of alternatives) {
    const match = await globMatcher([alternative]);
    if (!reachable.some((name) => match(name))) return false;
  }
  return true;
}

/**
 * Agents as a caller granted `namespaces` (undefined: every one, and they are returned as they
 * are) is shown them: entries naming tools outside the grant left out, and counted in `hidden`.
 */
export async function agentsSeenBy(tools: Pick<ToolCatalog, 'list'>, agents: Agent[], namespaces: readonly string[] | undefined): Promise<SeenAgent[]> {
  if (namespaces === undefined) return agents;
  const reachable = (await tools.list({ namespaces: [...namespaces] })).map((t) => t.name);
  const names = new Set(reachable);
  const seen: SeenAgent[] = [];
  for (const agent of agents) {
    const hiddenText: string[] = [];
    const keep = async (globs: string[]) => {
      const kept: string[] = [];
      for (const glob of globs) {
        if (await namesOnly(glob, reachable)) kept.push(glob);
        else hiddenText.push(glob);
      }
      return kept;
    };
    const tools = await keep(agent.tools);
    const preapprove = agent.policy.preapprove ? await keep(agent.policy.preapprove) : undefined;
    let steps = agent.steps;
    let hiddenSteps = 0;
    if (steps) {
      const { workflow, tools: calls } = steps;
      const workflowShown = workflow === undefined || names.has(workflowTool(workflow));
      if (!workflowShown) hiddenText.push(workflow!, workflowTool(workflow!));
      const shownCalls = calls?.filter((s) => names.has(s.tool));
      for (const s of calls ?? []) if (!names.has(s.tool)) hiddenText.push(s.tool);
      hiddenSteps = (workflowShown ? 0 : 1) + (calls?.length ?? 0) - (shownCalls?.length ?? 0);
      steps = { ...(workflowShown && workflow !== undefined ? { workflow } : {}), ...(shownCalls ? { tools: shownCalls } : {}) };
    }
    const reason = agent.reason !== null && hiddenText.some((text) => agent.reason!.includes(text)) ? null : agent.reason;
    seen.push({
      ...agent,
      tools,
      policy: { ...agent.policy, ...(preapprove ? { preapprove } : {}) },
      steps,
      reason,
      hidden: { tools: agent.tools.length - tools.length, preapprove: (agent.policy.preapprove?.length ?? 0) - (preapprove?.length ?? 0), steps: hiddenSteps, reason: reason !== agent.reason },
    });
  }
  return seen;
}
