import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import classifyOp from '../../src/ops/ticket/classify.js';
import closeOp from '../../src/ops/ticket/close.js';
import commentOp from '../../src/ops/ticket/comment.js';
import createOp from '../../src/ops/ticket/create.js';
import listOp from '../../src/ops/ticket/list.js';
import reopenOp from '../../src/ops/ticket/reopen.js';
import resolveOp from '../../src/ops/ticket/resolve.js';
import showOp from '../../src/ops/ticket/show.js';
import analyzeOp from '../../src/ops/maestro/analyze.js';
import orchestrateOp from '../../src/ops/maestro/orchestrate.js';
import cacheGetOp from '../../src/ops/cache/get.js';
import cacheSetOp from '../../src/ops/cache/set.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

const lockKey = unique('deploy-lock');
const config = (db: ConfigInput['database']): ConfigInput => ({
  database: { ...db, targets: { gone: { url: 'postgres://ops:secret@127.0.0.1:1/billing' } } },
  runbooks: [
    {
      name: 'stale deploy lock',
      when: { keywords: ['deploy lock', 'verrou de déploiement'] },
      steps: [
        { tool: 'cache_cache_get', input: { key: lockKey } },
        { tool: 'cache_cache_delete', input: { key: lockKey } },
      ],
      resolution: 'Removed the stale deploy lock; deployments can proceed.',
    },
  ],
});

describe.each(runtimeBackends)('tickets on $name', ({ available, db }) => {
  let runtime: Runtime;
  let cleanup: () => void;
  beforeAll(() => {
    if (!available) return;
    const t = tempHome();
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, config(db), { actor: 'test:alice' });
  });
  afterAll(async () => {
    if (!available) return;
    await runtime.close();
    cleanup();
  });
  const create = (text: string) => invoke(createOp, runtime, { text });
  const timeline = async (id: number) => (await invoke(showOp, runtime, { id })).timeline;

  it.skipIf(!available)('creates a ticket with a derived title and a created event', async () => {
    const t = await create('Application ne répond plus depuis 2h.\nLes commerciaux ne peuvent plus saisir les commandes.');
    expect(t).toMatchObject({ title: 'Application ne répond plus depuis 2h.', status: 'new', source: 'cli', category: null });
    expect(await timeline(t.id)).toMatchObject([{ kind: 'created', actor: 'test:alice' }]);
  });

  it.skipIf(!available)('classifies a stored ticket and records both steps', async () => {
    const t = await create('Le serveur srv-web-03 ne répond plus au ping, tout le site est down !');
    const c = await invoke(classifyOp, runtime, { ticket_id: t.id });
    expect(c).toMatchObject({ ticketId: t.id, method: 'rules', category: 'server' });
    const shown = await invoke(showOp, runtime, { id: t.id });
    expect(shown.ticket).toMatchObject({ status: 'triaged', category: 'server', sentiment: c.sentiment.sentiment });
    expect(shown.timeline.map((e: { kind: string }) => e.kind)).toEqual(['created', 'sentiment', 'classification', 'status']);
  });

  it.skipIf(!available)('escalates with the reason when nothing can check the category', async () => {
    const t = await create("L'imprimante du 2e étage affiche bourrage papier en permanence.");
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id });
    expect(r.outcome).toBe('escalated');
    expect(r.summary).toMatch(/no automated check or runbook covers a hardware ticket/);
    expect(r.ticket).toMatchObject({ status: 'escalated', escalationReason: r.summary, assignedAgent: 'maestro' });
    const kinds = (await timeline(t.id)).map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual(['created', 'sentiment', 'classification', 'status', 'status', 'plan', 'status', 'escalation']);
  });

  it.skipIf(!available)('runs the database checks and reports what they found, without the password', async () => {
    const t = await create('La base de données gone ne répond plus, les requêtes partent en timeout depuis 10 minutes.');
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id });
    expect(r.plan.steps.map((s: { tool: string }) => s.tool)).toEqual(['database_db_health', 'database_db_health']);
    expect(r.steps.map((s: { status: string; finding: string | null }) => [s.status, s.finding === null])).toEqual([
      ['ok', true],
      ['ok', false],
    ]);
    expect(r.outcome).toBe('escalated');
    expect(r.summary).toMatch(/found: database gone is unreachable/);
    expect(JSON.stringify(await timeline(t.id))).not.toContain('secret');
  });

  it.skipIf(!available)('stops at waiting_approval when a fix needs approval and nobody can give it', async () => {
    await invoke(cacheSetOp, runtime, { key: lockKey, value: 'deploy-42' });
    const t = await create('The deploy lock is stuck since yesterday, nobody can deploy. Can you clear it?');
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id });
    expect(r).toMatchObject({ outcome: 'waiting_approval', ticket: { status: 'waiting_approval' } });
    expect(r.summary).toMatch(new RegExp(`twl ticket approve ${t.id}\\b.*tickets_approve_ticket`));
    const approval = (await timeline(t.id)).find((e: { kind: string }) => e.kind === 'approval');
    expect(approval).toMatchObject({ status: 'waiting', step: 'cache_cache_delete', decision: expect.stringMatching(/nobody could approve/) });
    expect((await invoke(cacheGetOp, runtime, { key: lockKey })).found).toBe(true);
  });

  it.skipIf(!available)('applies the approved fix and resolves, with the time to resolve', async () => {
    const t = await create('Le verrou de déploiement est resté bloqué, merci de le lever.');
    await invoke(cacheSetOp, runtime, { key: lockKey, value: 'deploy-43' });
    const questions: string[] = [];
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id }, { ask: async (q) => (questions.push(q), true) });
    expect(questions).toEqual([expect.stringMatching(/cache_cache_delete/)]);
    expect(r.outcome).toBe('resolved');
    expect(r.ticket).toMatchObject({ status: 'resolved', resolution: 'Removed the stale deploy lock; deployments can proceed.' });
    expect(r.timeToResolveMs).toBeGreaterThanOrEqual(0);
    expect((await invoke(cacheGetOp, runtime, { key: lockKey })).found).toBe(false);
    const events = await timeline(t.id);
    expect(events.filter((e: { kind: string }) => e.kind === 'fix')).toMatchObject([{ step: 'cache_cache_delete', status: 'ok' }]);
    expect(events.at(-1)).toMatchObject({ kind: 'resolution', actor: 'real-resolver' });
    for (const e of events.filter((e: { kind: string }) => ['check', 'fix', 'sentiment', 'classification'].includes(e.kind))) expect(e.durationMs).toBeGreaterThanOrEqual(0);
  });

  it.skipIf(!available)('an interruption leaves the ticket triaged, and the timeline says where it stopped', async () => {
    const t = await create('Deploy lock stuck again!');
    await invoke(cacheSetOp, runtime, { key: lockKey, value: 'deploy-44' });
    const controller = new AbortController();
    // Ctrl-C while the question is asked (the answer comes too late): the resolver stops there, and runs nothing.
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id }, { signal: controller.signal, ask: async () => (controller.abort(), true) });
    expect(r.outcome).toBe('interrupted');
    expect(r.ticket.status).toBe('triaged');
    const last = (await timeline(t.id)).filter((e: { kind: string }) => e.kind === 'interrupted');
    expect(last).toMatchObject([{ status: 'cancelled', decision: expect.stringMatching(/interrupted at the approval of step \d+ \(cache_cache_delete\)/) }]);
    expect((await invoke(cacheGetOp, runtime, { key: lockKey })).found).toBe(true);
  });

  it.skipIf(!available)('refuses impossible moves and keeps the timeline append-only', async () => {
    const t = await create('Question: can I get a second monitor?');
    await expect(invoke(reopenOp, runtime, { id: t.id })).rejects.toMatchObject({ code: 'TWL_TICKET_STATE', exitCode: 4 });
    await invoke(commentOp, runtime, { id: t.id, text: 'Ordered, arrives Tuesday.' });
    const closed = await invoke(closeOp, runtime, { id: t.id, note: 'delivered' });
    expect(closed).toMatchObject({ status: 'closed', closedAt: expect.any(String) });
    await expect(invoke(resolveOp, runtime, { ticket_id: t.id })).rejects.toMatchObject({ code: 'TWL_TICKET_STATE', message: expect.stringMatching(/only an open ticket/) });
    expect((await invoke(reopenOp, runtime, { id: t.id, note: 'wrong model' })).status).toBe('reopened');
    const store = await runtime.store();
    await expect(store.query('UPDATE twl_ticket_events SET decision = $1 WHERE ticket_id = $2', ['rewritten', t.id])).rejects.toThrow(/append-only/);
    await expect(store.query('DELETE FROM twl_ticket_events WHERE ticket_id = $1', [t.id])).rejects.toThrow(/append-only/);
    await expect(invoke(showOp, runtime, { id: 999_999_999 })).rejects.toMatchObject({ code: 'TWL_TICKET_NOT_FOUND', exitCode: 7 });
  });

  it.skipIf(!available)('lists by filters, most urgent first, and analyses the period', async () => {
    const mine = unique('needle');
    for (const text of [`${mine} low request: could I get Visio?`, `${mine} URGENT: the whole production site is down for everyone!!`]) {
      const t = await create(text);
      await invoke(classifyOp, runtime, { ticket_id: t.id });
    }
    const listed = await invoke(listOp, runtime, { text: mine });
    expect(listed.total).toBe(2);
    expect(listed.tickets[0]?.title).toMatch(/URGENT/);
    const stats = await invoke(analyzeOp, runtime, { since: '1d' });
    expect(stats.total).toBeGreaterThanOrEqual(2);
    expect(stats.byStatus.resolved).toBeGreaterThanOrEqual(1);
    expect(stats.timeToResolve.resolved).toBeGreaterThanOrEqual(1);
    expect(stats.perDay.length).toBeGreaterThanOrEqual(1);
  });

  it.skipIf(!available)('investigates a goal read-only, never running a fix', async () => {
    await invoke(cacheSetOp, runtime, { key: lockKey, value: 'deploy-45' });
    const r = await invoke(orchestrateOp, runtime, { goal: 'the deploy lock is stuck and the database gone is down' });
    expect(r.mode).toBe('goal');
    expect(r.investigation?.findings).toEqual(expect.arrayContaining([expect.stringMatching(/database gone is unreachable/)]));
    expect(r.investigation?.skippedFixes).toEqual([expect.stringMatching(/cache_cache_delete/)]);
    expect((await invoke(cacheGetOp, runtime, { key: lockKey })).found).toBe(true);
  });
});
