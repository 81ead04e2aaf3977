import type { Config, Runbook } from '../../runtime/config.js';
import type { Category } from '../triage/taxonomy.js';
import { fold } from '../triage/text.js';

export interface PlanStep {
  /** The MCP name of the op to call. */
  tool: string;
  input: Record<string, unknown>;
  kind: 'check' | 'fix';
  purpose: string;
  needsApproval: boolean;
}

export interface Plan {
  planner: 'deterministic' | 'llm';
  steps: PlanStep[];
  rationale: string[];
  runbook: { name: string; resolution: string } | null;
}

export interface PlanInput {
  text: string;
  category: Category;
  config: Config;
  /** Ops known by MCP name, with whether they only read. */
  tools: Map<string, { readOnly: boolean }>;
}

/** What a check's output says is wrong, if anything (null: healthy). */
export const findings: Record<string, (output: Record<string, unknown>) => string | null> = {
  database_db_health: (o) => (o.reachable === false ? `database ${String(o.target)} is unreachable: ${String(o.error)}` : null),
  cache_cache_stats: () => null,
};

/**
 * Checks Maestro knows how to run for a category. Each provider looks at the ticket and the
 * configuration; the ops agents add theirs (services, containers, hosts) in the same shape.
 */
const providers: Array<(p: PlanInput) => PlanStep[]> = [
  ({ category, text, config }) => {
    if (category !== 'database' && !/\b(base de donnees|database|postgres\w*|sql|bdd|db)\b/.test(fold(text))) return [];
    const targets = Object.keys(config.database.targets);
    const named = targets.filter((t) => fold(text).includes(fold(t)));
    const chosen = named.length ? named : targets;
    return [undefined, ...chosen].map((target) => ({
      tool: 'database_db_health',
      input: target ? { target } : {},
      kind: 'check' as const,
      purpose: `is database ${target ?? "twl's store"} reachable and healthy?`,
      needsApproval: false,
    }));
  },
  ({ text }) =>
    /\b(redis|cache)\b/.test(fold(text)) ? [{ tool: 'cache_cache_stats', input: {}, kind: 'check' as const, purpose: 'does the cache answer, and how does it hit?', needsApproval: false }] : [],
];

export function matchingRunbook(runbooks: Runbook[], category: Category, text: string): Runbook | undefined {
  const folded = fold(text);
  return runbooks.find((r) => {
    const byCategory = !r.when.categories?.length || r.when.categories.includes(category);
    const byWords = !r.when.keywords?.length || r.when.keywords.some((k) => folded.includes(fold(k)));
    return byCategory && byWords;
  });
}

export const article = (word: string): string => `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;

/** The deterministic planner: the category's checks, then the first matching runbook's steps, within the step budget. */
export function deterministicPlan(p: PlanInput): Plan {
  const rationale: string[] = [];
  const checks = providers.flatMap((provider) => provider(p));
  rationale.push(checks.length ? `${checks.length} check${checks.length > 1 ? 's' : ''} for ${article(p.category)} ticket` : `no automated check exists yet for ${article(p.category)} ticket`);
  const runbook = matchingRunbook(p.config.runbooks, p.category, p.text);
  const fixes: PlanStep[] = [];
  if (runbook) {
    rationale.push(`runbook "${runbook.name}" matches`);
    for (const step of runbook.steps) {
      const known = p.tools.get(step.tool);
      if (!known) {
        rationale.push(`runbook step ${step.tool} skipped: no such tool`);
        continue;
      }
      fixes.push({ tool: step.tool, input: step.input, kind: known.readOnly ? 'check' : 'fix', purpose: `runbook "${runbook.name}"`, needsApproval: step.approval ?? !known.readOnly });
    }
  } else rationale.push('no runbook matches');
  const steps = [...checks, ...fixes];
  const budget = p.config.maestro.maxSteps;
  if (steps.length > budget) rationale.push(`plan cut to the step budget of ${budget}`);
  return { planner: 'deterministic', steps: steps.slice(0, budget), rationale, runbook: runbook ? { name: runbook.name, resolution: runbook.resolution } : null };
}
