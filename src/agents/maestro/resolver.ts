import type { OpContext } from '../../runtime/context.js';
import { TwlError, isTwlError, messageOf } from '../../runtime/errors.js';
import { maestroActiveWorkflows, maestroDecisions } from '../../runtime/metrics.js';
import { appendEvent, getTicket, lockTicket, transition, type Ticket } from '../tickets/repo.js';
import { assessTicket, recordTriage } from '../tickets/triage.js';
import { namedServices } from '../triage/services.js';
import { llmInvestigate } from './llm-planner.js';
import { knowledgeFor } from '../../docs/knowledge.js';
import { article, deterministicPlan, type Plan, type PlanStep } from './plan.js';
import { plannerTools, runStep, skipStep, stepRefusal, type SkipReason, type StepReport } from './steps.js';


export type Outcome = 'resolved' | 'escalated' | 'waiting_approval' | 'interrupted';

export interface ResolveReport {
  ticket: Ticket;
  outcome: Outcome;
  summary: string;
  plan: Plan;
  steps: StepReport[];
  diagnosis: string | null;
  timeToResolveMs: number | null;
}

export interface ResolveHooks {
  /** true: go ahead; false: refused; undefined: nobody can answer here. */
  approve(step: PlanStep): Promise<boolean | undefined>;
  /** Called as each step starts and ends, for progress displays. */
  progress?(update: { step: PlanStep; index: number; total: number; status: 'running' | StepReport['status']; finding?: string | null }): void;
  /** Take over a ticket left in_progress by a resolver that died. */
  force?: boolean;
}

const resolvable: Ticket['status'][] = ['new', 'triaged', 'reopened', 'escalated', 'waiting_approval'];
const MAESTRO = 'maestro';
/** The MCP (and REST) name of `twl ticket approve`. */
export const APPROVE_TOOL = 'tickets_approve_ticket';

/**
 * The resolution workflow: triage (sentiment, classification), a plan, its checks and fixes
 * (asking for approval where needed), then a resolution or an escalation with the reason.
 * Every step is on the timeline as it happens; an interruption leaves the ticket triaged,
 * with the timeline saying where it stopped.
 */
export async function resolveTicket(ctx: OpContext, id: number, actor: string, hooks: ResolveHooks): Promise<ResolveReport> {
  const store = await ctx.store();
  // Claim the ticket: one resolver at a time.
  const claimed = await store.transaction(async (tx) => {
    const ticket = await lockTicket(tx, id);
    if (ticket.status === 'in_progress' && !hooks.force) {
      throw new TwlError('TWL_TICKET_STATE', `Ticket #${id} is being resolved already (in_progress).`, { actions: ['If no resolver is running any more (it was killed), run again with --force.'] });
    }
    if (ticket.status !== 'in_progress' && !resolvable.includes(ticket.status)) {
      throw new TwlError('TWL_TICKET_STATE', `Ticket #${id} is ${ticket.status}; only an open ticket can be resolved.`, { actions: [`Run \`twl ticket reopen ${id}\` first.`] });
    }
    return ticket;
  });
  maestroActiveWorkflows.inc();
  const steps: StepReport[] = [];
  let plan: Plan = { planner: 'deterministic', steps: [], rationale: [], runbook: null, remedies: {} };
  let diagnosis: string | null = null;
  try {
    // 1. Triage, outside any transaction (an LLM may take a while), then recorded.
    const assessment = await assessTicket(claimed, ctx.llm(), ctx.signal, namedServices(ctx.config));
    let ticket = await store.transaction(async (tx) => recordTriage(tx, await getTicket(tx, id), assessment, actor));
    ticket = await store.transaction(async (tx) => transition(tx, await getTicket(tx, id), 'in_progress', actor, { assignedAgent: MAESTRO }));
    const category = assessment.classification.category;

    // 2. Plan.
    const planStarted = performance.now();
    const ops = await ctx.runtime.ops();
    const tools = await plannerTools(ctx);
    plan = deterministicPlan({ text: ticket.text, category, config: ctx.config, tools });
    const llm = ctx.llm();
    if (llm) {
      const started = performance.now();
      try {
        const investigation = await llmInvestigate(ctx, llm, ticket, assessment.classification, ops, (report) => steps.push(report), id);
        diagnosis = investigation.diagnosis;
        plan = { ...plan, planner: 'llm', rationale: [...plan.rationale, `LLM investigation: ${investigation.calls} tool call${investigation.calls === 1 ? '' : 's'}`] };
        maestroDecisions.inc({ decision_type: 'llm_investigation' });
      } catch (err) {
        maestroDecisions.inc({ decision_type: 'fallback' });
        await appendEvent(store, id, { actor: MAESTRO, kind: 'plan', status: 'failed', decision: `LLM planning failed (${messageOf(err)}): used the deterministic planner`, durationMs: performance.now() - started });
      }
    }
    // What the team already knows (runbooks, past resolutions, indexed docs), on the timeline with its sources.
    const knowledgeStarted = performance.now();
    try {
      const knowledge = await knowledgeFor(ctx, ticket);
      if (knowledge.matches.length) {
        const proposal = knowledge.proposedRunbook ? (plan.runbook?.name === knowledge.proposedRunbook ? `; runbook "${knowledge.proposedRunbook}" confirmed` : `; runbook "${knowledge.proposedRunbook}" proposed`) : '';
        // What it read shows in the plan's rationale too (twl ticket resolve prints it), with a runbook it proposes.
        const read = `knowledge read: ${knowledge.matches.map((m) => `${m.title} (${m.libraryId})`).join(', ')}`;
        const proposes = knowledge.proposedRunbook && plan.runbook?.name !== knowledge.proposedRunbook ? [`the knowledge index proposes runbook "${knowledge.proposedRunbook}"`] : [];
        plan = { ...plan, rationale: [...plan.rationale, read, ...proposes] };
        await appendEvent(store, id, {
          actor: MAESTRO,
          kind: 'knowledge',
          step: 'knowledge',
          output: knowledge,
          decision: `read ${knowledge.matches.map((m) => `${m.title} (${m.libraryId})`).join(', ')}${proposal}`,
          durationMs: performance.now() - knowledgeStarted,
        });
      }
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      await appendEvent(store, id, { actor: MAESTRO, kind: 'knowledge', step: 'knowledge', status: 'failed', decision: `the knowledge index could not be read: ${messageOf(err)}`, durationMs: performance.now() - knowledgeStarted });
    }
    // Before any step runs: what the catalog refuses of the plan for this caller (a runbook's tool outside its key's
    // namespaces, unknown, of a quarantined upstream, above its role, or a runbook input its tool's schema rejects).
    // A refused step is recorded (audit row, timeline) and never called; while any step of the plan cannot run, no fix runs.
    plan = await withRefusals(ctx, plan);
    maestroDecisions.inc({ decision_type: 'plan' });
    await appendEvent(store, id, {
      actor: MAESTRO,
      kind: 'plan',
      output: {
        planner: plan.planner,
        steps: plan.steps.map((s) => ({ tool: s.tool, input: s.input, kind: s.kind, needsApproval: s.needsApproval, ...(s.refusal ? { refused: s.refusal } : {}) })),
        runbook: plan.runbook?.name ?? null,
      },
      decision: plan.rationale.join('; '),
      durationMs: performance.now() - planStarted,
    });

    // 3. Run it.
    const faults: Array<{ step: PlanStep; finding: string }> = [];
    let fixed = 0;
    /** Asks for a step's approval when it needs one: approved, waiting (refused, or nobody could answer), or interrupted while asking. */
    const approveStep = async (step: PlanStep): Promise<'approved' | 'waiting' | 'interrupted'> => {
      if (!step.needsApproval) return 'approved';
      const answer = await hooks.approve(step);
      // Ctrl-C at the question (or a client that cancelled): an interruption, not a refusal.
      if (ctx.signal.aborted) return 'interrupted';
      maestroDecisions.inc({ decision_type: 'approval' });
      await appendEvent(store, id, {
        actor: answer === undefined ? MAESTRO : actor,
        kind: 'approval',
        step: step.tool,
        status: answer ? 'ok' : 'waiting',
        input: step.input,
        decision: answer === true ? 'approved' : answer === false ? 'refused' : 'nobody could approve here: waiting for approval',
      });
      return answer === true ? 'approved' : 'waiting';
    };
    const waitForApproval = async (step: PlanStep): Promise<ResolveReport> => {
      steps.push({ tool: step.tool, kind: step.kind, purpose: step.purpose, status: 'waiting', finding: null, durationMs: 0 });
      const waiting = await store.transaction(async (tx) => transition(tx, await getTicket(tx, id), 'waiting_approval', actor));
      const summary = `Waiting for approval of ${step.tool} (${step.purpose}); approve it with \`twl ticket approve ${id}\` (or \`twl ticket resolve ${id} --yes\`; MCP and REST clients: the tool ${APPROVE_TOOL}, with the manager role).`;
      return { ticket: waiting, outcome: 'waiting_approval', summary, plan, steps, diagnosis, timeToResolveMs: null };
    };
    const withTicket = (step: PlanStep): PlanStep => (step.tool === 'real-desktop-commander_execute_command' ? { ...step, input: { ...step.input, ticket_id: id } } : step);
    let total = plan.steps.length + (plan.cut?.length ?? 0);
    let index = 0;
    /** Why fixes are held back: a step of the plan that cannot run (refused, or beyond the step budget). */
    const held: StepReport[] = [];
    const holding = (): SkipReason => ({ code: null, message: `${held.map((h) => `${h.tool} ${h.reason!.code ? `was refused (${h.reason!.code})` : `did not run (${h.reason!.message})`}`).join(', ')}, so no fix runs` });
    const skip = async (step: PlanStep, reason: SkipReason): Promise<StepReport> => {
      const report = await skipStep(ctx, step, reason, id);
      steps.push(report);
      hooks.progress?.({ step, index, total, status: 'skipped', finding: reason.message });
      index++;
      maestroDecisions.inc({ decision_type: 'step' });
      return report;
    };
    const execute = async (step: PlanStep): Promise<StepReport> => {
      hooks.progress?.({ step, index, total, status: 'running' });
      const report = await runStep(ctx, withTicket(step), id);
      steps.push(report);
      // Refused at the call (the catalog changed since the plan's pre-flight): held like a refusal found before.
      if (report.reason && !held.some((h) => h.tool === report.tool && h.reason!.code === report.reason!.code)) held.push(report);
      hooks.progress?.({ step, index, total, status: report.status, finding: report.finding });
      index++;
      maestroDecisions.inc({ decision_type: 'step' });
      return report;
    };
    for (const step of plan.steps) if (step.refusal) held.push({ tool: step.tool, kind: step.kind, purpose: step.purpose, status: 'skipped', finding: null, durationMs: 0, reason: step.refusal });
    if (plan.cut?.length) held.push(...plan.cut.map((step) => ({ tool: step.tool, kind: step.kind, purpose: step.purpose, status: 'skipped' as const, finding: null, durationMs: 0, reason: { code: null, message: 'beyond the step budget' } })));
    for (const step of plan.steps) {
      if (ctx.signal.aborted) return await interrupted(ctx, id, actor, `before step ${index + 1} (${step.tool})`, plan, steps, diagnosis);
      if (step.refusal) {
        await skip(step, step.refusal);
        continue;
      }
      if (held.length && step.kind === 'fix') {
        await skip(step, holding());
        continue;
      }
      const approval = await approveStep(step);
      if (approval === 'interrupted') return await interrupted(ctx, id, actor, `at the approval of step ${index + 1} (${step.tool})`, plan, steps, diagnosis);
      if (approval === 'waiting') return await waitForApproval(step);
      if (ctx.signal.aborted) return await interrupted(ctx, id, actor, `before step ${index + 1} (${step.tool})`, plan, steps, diagnosis);
      const report = await execute(step);
      if (report.status === 'cancelled') return await interrupted(ctx, id, actor, `during step ${index} (${step.tool})`, plan, steps, diagnosis);
      if (report.finding) faults.push({ step, finding: report.finding });
      if (step.kind === 'fix' && report.status === 'ok') fixed++;
      if (step.kind === 'fix' && report.status === 'failed') break;
    }
    for (const step of plan.cut ?? []) await skip(step, { code: null, message: `beyond the step budget of ${ctx.config.maestro.maxSteps} (maestro.maxSteps)` });

    // 3b. Remedies: restart each faulty service that has a restart action, then verify it.
    const restarted: string[] = [];
    for (const fault of [...faults]) {
      const remedy = fault.step.service ? plan.remedies[fault.step.service] : undefined;
      if (!remedy || fault.step.kind !== 'check') continue;
      total += remedy.fix.length + remedy.verify.length;
      if (held.length) {
        for (const step of remedy.fix) await skip(step, holding());
        continue;
      }
      let ok = true;
      for (const step of remedy.fix) {
        if (ctx.signal.aborted) return await interrupted(ctx, id, actor, `before ${step.purpose}`, plan, steps, diagnosis);
        const refusal = await stepRefusal(ctx, step, false);
        if (refusal) {
          held.push(await skip(step, refusal));
          ok = false;
          break;
        }
        const approval = await approveStep(step);
        if (approval === 'interrupted') return await interrupted(ctx, id, actor, `at the approval of ${step.purpose}`, plan, steps, diagnosis);
        if (approval === 'waiting') return await waitForApproval(step);
        const report = await execute(step);
        if (report.status === 'cancelled') return await interrupted(ctx, id, actor, `during ${step.purpose}`, plan, steps, diagnosis);
        ok &&= report.status === 'ok' && !report.finding;
      }
      if (!ok) continue;
      fixed++;
      // A restarted service may take a moment to answer: verify for a few seconds.
      let verified = false;
      for (let attempt = 0; attempt < 5 && !verified && !ctx.signal.aborted; attempt++) {
        if (attempt) await new Promise((r) => setTimeout(r, 1000));
        const reports: StepReport[] = [];
        for (const step of remedy.verify) reports.push(await execute({ ...step, purpose: `${step.purpose}${attempt ? ` (attempt ${attempt + 1})` : ''}` }));
        verified = reports.every((r) => r.status === 'ok' && !r.finding);
      }
      if (verified) {
        restarted.push(fault.step.service!);
        faults.splice(faults.indexOf(fault), 1);
      }
    }
    if (restarted.length && faults.length === 0 && !plan.runbook && !held.length) {
      const resolvedAt = new Date();
      const timeToResolveMs = resolvedAt.getTime() - new Date(ticket.createdAt).getTime();
      const summary = `Restarted ${restarted.join(', ')} through the commander; ${restarted.length > 1 ? 'they answer' : 'it answers'} again (health check and browser).${diagnosis ? ` Diagnosis: ${diagnosis}` : ''}`;
      maestroDecisions.inc({ decision_type: 'resolve' });
      const resolved = await store.transaction(async (tx) => {
        const t = await transition(tx, await getTicket(tx, id), 'resolved', MAESTRO, { resolution: summary, resolvedAt: resolvedAt.toISOString() });
        await appendEvent(tx, id, { actor: 'real-resolver', kind: 'resolution', output: { timeToResolveMs, restarted }, decision: summary });
        return t;
      });
      return { ticket: resolved, outcome: 'resolved', summary, plan, steps, diagnosis, timeToResolveMs };
    }

    if (ctx.signal.aborted) return await interrupted(ctx, id, actor, 'after the last step, before deciding', plan, steps, diagnosis);

    // 4. Resolve (a runbook ran cleanly and the checks that had found faults now pass) or escalate.
    const runbookSteps = steps.filter((s) => s.purpose.startsWith('runbook'));
    // A step that did not run (refused, held back, beyond the budget) leaves the runbook undone: nothing resolves on a check that did not run.
    const runbookDone = plan.runbook !== null && !held.length && runbookSteps.length > 0 && runbookSteps.every((s) => s.status === 'ok' && !s.finding);
    let remaining = faults.map((f) => f.finding);
    if (runbookDone && faults.length) {
      remaining = [];
      for (const { step } of faults) {
        const verify = await runStep(ctx, { ...step, purpose: `verify after the runbook: ${step.purpose}` }, id);
        steps.push(verify);
        if (verify.finding || verify.status !== 'ok') remaining.push(verify.finding ?? `${step.tool} ${verify.status}`);
      }
    }
    if (runbookDone && remaining.length === 0) {
      const resolvedAt = new Date();
      const timeToResolveMs = resolvedAt.getTime() - new Date(ticket.createdAt).getTime();
      const summary = `${plan.runbook!.resolution}${faults.length ? ` (fixed: ${faults.map((f) => f.finding).join('; ')})` : ''}${diagnosis ? ` Diagnosis: ${diagnosis}` : ''}`;
      maestroDecisions.inc({ decision_type: 'resolve' });
      const resolved = await store.transaction(async (tx) => {
        const t = await transition(tx, await getTicket(tx, id), 'resolved', MAESTRO, { resolution: summary, resolvedAt: resolvedAt.toISOString() });
        await appendEvent(tx, id, { actor: 'real-resolver', kind: 'resolution', output: { timeToResolveMs, fixes: fixed }, decision: summary });
        return t;
      });
      return { ticket: resolved, outcome: 'resolved', summary, plan, steps, diagnosis, timeToResolveMs };
    }
    const reason = escalationReason(plan, steps, remaining, runbookDone, category, diagnosis, held);
    maestroDecisions.inc({ decision_type: 'escalate' });
    const escalated = await store.transaction(async (tx) => {
      const t = await transition(tx, await getTicket(tx, id), 'escalated', MAESTRO, { escalationReason: reason });
      await appendEvent(tx, id, { actor: 'real-resolver', kind: 'escalation', status: 'failed', output: { faults: remaining }, decision: reason });
      return t;
    });
    return { ticket: escalated, outcome: 'escalated', summary: reason, plan, steps, diagnosis, timeToResolveMs: null };
  } catch (err) {
    if (ctx.signal.aborted) return interrupted(ctx, id, actor, 'while working', plan, steps, diagnosis);
    // Leave the ticket consistent: escalated, with the error as the reason.
    const reason = `the resolver failed: ${isTwlError(err) ? err.message : messageOf(err)}`;
    await store
      .transaction(async (tx) => {
        const t = await getTicket(tx, id);
        if (t.status === 'in_progress') await transition(tx, t, 'escalated', MAESTRO, { escalationReason: reason });
        await appendEvent(tx, id, { actor: 'real-resolver', kind: 'escalation', status: 'failed', decision: reason });
      })
      .catch(() => undefined);
    throw err;
  } finally {
    maestroActiveWorkflows.dec();
  }
}

function escalationReason(plan: Plan, steps: StepReport[], faults: string[], runbookDone: boolean, category: string, diagnosis: string | null, held: StepReport[]): string {
  const parts: string[] = [];
  // First what did not run and why (the operator's runbook names these tools; nothing else of other namespaces is said).
  for (const h of held) parts.push(h.reason!.code ? `${h.tool} was refused (${h.reason!.code}): ${h.reason!.message.replace(/\.$/, '')}` : `${h.tool} did not run: ${h.reason!.message}`);
  const notRun = steps.filter((s) => s.kind === 'fix' && s.status === 'skipped' && s.reason?.code === null).map((s) => s.tool);
  if (notRun.length) parts.push(`so no fix ran (${[...new Set(notRun)].join(', ')} held back)`);
  if (faults.length) parts.push(`found: ${faults.join('; ')}`);
  const failedFix = steps.find((s) => s.kind === 'fix' && s.status === 'failed');
  if (failedFix) parts.push(`the fix ${failedFix.tool} failed`);
  if (!plan.steps.length) parts.push(`no automated check or runbook covers ${article(category)} ticket yet`);
  else if (!faults.length && !plan.runbook && !held.length) parts.push('the checks found no fault and no runbook matches, so the cause is outside what twl can see');
  if (plan.runbook && runbookDone && faults.length) parts.push(`runbook "${plan.runbook.name}" ran but did not clear it`);
  if (diagnosis) parts.push(`LLM diagnosis: ${diagnosis}`);
  return `Needs a human: ${parts.join('; ')}.`;
}

async function interrupted(ctx: OpContext, id: number, actor: string, where: string, plan: Plan, steps: StepReport[], diagnosis: string | null): Promise<ResolveReport> {
  const store = await ctx.store();
  const ticket = await store.transaction(async (tx) => {
    const t = await getTicket(tx, id);
    await appendEvent(tx, id, { actor, kind: 'interrupted', status: 'cancelled', decision: `interrupted ${where}; the ticket is back to triaged, and resolving it again starts over` });
    return t.status === 'in_progress' ? transition(tx, t, 'triaged', actor) : t;
  });
  return { ticket, outcome: 'interrupted', summary: `Interrupted ${where}.`, plan, steps, diagnosis, timeToResolveMs: null };
}

/** The plan with each step the catalog would refuse for this caller marked (and said in the rationale); nothing runs here. */
export async function withRefusals(ctx: OpContext, plan: Plan): Promise<Plan> {
  const steps = await Promise.all(
    plan.steps.map(async (step) => {
      const refusal = await stepRefusal(ctx, step, step.purpose.startsWith('runbook'));
      return refusal ? { ...step, refusal } : step;
    }),
  );
  const refused = steps.filter((s) => s.refusal);
  if (!refused.length) return plan;
  return { ...plan, steps, rationale: [...plan.rationale, ...refused.map((s) => `step ${s.tool} refused (${s.refusal!.code}): ${s.refusal!.message}`)] };
}
