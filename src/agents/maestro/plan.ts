import type { Config, Runbook, Service } from '../../runtime/config.js';
import { decide } from '../commander/policy.js';
import type { Category } from '../triage/taxonomy.js';
import { fold } from '../triage/text.js';

export interface PlanStep {
  /** The MCP name of the op to call. */
  tool: string;
  /** The configured service a step checks or acts on. */
  service?: string;
  input: Record<string, unknown>;
  kind: 'check' | 'fix';
  purpose: string;
  needsApproval: boolean;
  /** Why the step will not run for this caller (a refusal, found before any step runs): it is recorded, never called. */
  refusal?: { code: string; message: string };
}

export interface Plan {
  planner: 'deterministic' | 'llm';
  steps: PlanStep[];
  rationale: string[];
  runbook: { name: string; resolution: string } | null;
  /** Per service: the fix to run if its check finds it unhealthy, then how to verify it. */
  remedies: Record<string, { fix: PlanStep[]; verify: PlanStep[] }>;
  /** The runbook's steps beyond the step budget: they do not run, so neither do its fixes. */
  cut?: PlanStep[];
}

export interface PlanInput {
  text: string;
  category: Category;
  config: Config;
  /** Tools known by name (the catalog's), with whether they only read, and (upstream tools) whether they ask first. */
  tools: Map<string, { readOnly: boolean; needsApproval?: boolean }>;
}

/** What a check's output says is wrong, if anything (null: healthy). */
export const findings: Record<string, (output: Record<string, unknown>) => string | null> = {
  database_db_health: (o) => (o.reachable === false ? `database ${String(o.target)} is unreachable: ${String(o.error)}` : null),
  cache_cache_stats: () => null,
  monitoring_health_check: (o) => {
    const bad = ((o.services as Array<{ name: string; status: string; detail: string }>) ?? []).filter((h) => h.status !== 'ok');
    return bad.length ? bad.map((h) => `service ${h.name} is ${h.status}: ${h.detail}`).join('; ') : null;
  },
  browser_browse: (o) => (Number(o.status) >= 400 ? `${String(o.finalUrl)} answers ${String(o.status)}` : null),
  'real-desktop-commander_execute_command': (o) => (o.outcome === 'ran' ? null : `the command ${String(o.program)} ended ${String(o.outcome)}${o.exitCode !== null ? ` (exit ${String(o.exitCode)})` : ''}`),
};

/** Ticket categories a service concerns, when its configuration does not say. */
export const categoriesOfKind: Record<Service['kind'], Category[]> = {
  http: ['application', 'server'],
  tcp: ['network', 'server'],
  process: ['server'],
  container: ['server', 'application'],
  systemd: ['server'],
  postgres: ['database'],
  redis: ['database'],
};

/** Words in a ticket that point at a service: its name, its keywords, its host. */
function mentions(folded: string, service: Service): boolean {
  const words = [service.name, ...(service.keywords ?? [])];
  try {
    words.push(new URL(service.target).hostname);
  } catch {
    // not a URL
  }
  return words.some((w) => w.length > 2 && folded.includes(fold(w)));
}

/** The services a ticket concerns: those it names, or else those of its category. */
export function servicesFor(config: Config, category: Category, text: string): Service[] {
  const folded = fold(text);
  const named = config.services.filter((s) => mentions(folded, s));
  return named.length ? named : config.services.filter((s) => (s.categories ?? categoriesOfKind[s.kind]).includes(category));
}

/**
 * Checks Maestro knows how to run for a category. Each provider looks at the ticket and the
 * configuration; the ops agents add theirs (services, containers, hosts) in the same shape.
 */
const providers: Array<(p: PlanInput) => PlanStep[]> = [
  ({ category, text, config }) =>
    servicesFor(config, category, text).map((s) => ({ tool: 'monitoring_health_check', service: s.name, input: { services: [s.name] }, kind: 'check' as const, purpose: `is service ${s.name} healthy?`, needsApproval: false })),
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
      // A tool the caller cannot see (unknown, outside its namespaces, of a quarantined upstream) stays in the plan: the
      // resolver asks the catalog why, records the refusal, and runs none of the runbook's fixes. What such a tool does
      // is not known here (a check, for want of better); it never runs.
      const known = p.tools.get(step.tool);
      fixes.push({
        tool: step.tool,
        input: step.input,
        kind: known && !known.readOnly ? 'fix' : 'check',
        purpose: `runbook "${runbook.name}"`,
        needsApproval: step.approval ?? (known ? (known.needsApproval ?? !known.readOnly) : true),
      });
    }
  } else rationale.push('no runbook matches');
  const steps = [...checks, ...fixes];
  const budget = p.config.maestro.maxSteps;
  if (steps.length > budget) rationale.push(`plan cut to the step budget of ${budget}`);
  const cut = steps.slice(budget).filter((s) => fixes.includes(s));
  if (cut.length) rationale.push(`runbook "${runbook!.name}" does not fit the step budget: ${cut.map((s) => s.tool).join(', ')} left out, so none of its fixes runs`);
  const remedies: Plan['remedies'] = {};
  for (const step of checks) {
    const service = p.config.services.find((s) => s.name === step.service);
    if (!service?.actions.restart) continue;
    const verdict = decide(p.config.commander, service.actions.restart[0]!, service.actions.restart.slice(1));
    remedies[service.name] = {
      fix: [{ tool: 'real-desktop-commander_execute_command', service: service.name, input: { command: service.actions.restart }, kind: 'fix', purpose: `restart ${service.name} (if its check fails)`, needsApproval: verdict.decision !== 'allow' }],
      verify: [
        { ...step, purpose: `verify: is ${service.name} healthy again?` },
        ...(service.kind === 'http' ? [{ tool: 'browser_browse', service: service.name, input: { url: service.target, text: false }, kind: 'check' as const, purpose: `verify: does ${service.target} answer?`, needsApproval: false }] : []),
      ],
    };
  }
  if (Object.keys(remedies).length) rationale.push(`restart remedies ready for ${Object.keys(remedies).join(', ')}`);
  return { planner: 'deterministic', steps: steps.slice(0, budget), rationale, runbook: runbook ? { name: runbook.name, resolution: runbook.resolution } : null, remedies, ...(cut.length ? { cut } : {}) };
}
