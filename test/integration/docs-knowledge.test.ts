import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import searchOp from '../../src/ops/docs/search.js';
import createOp from '../../src/ops/ticket/create.js';
import resolveOp from '../../src/ops/ticket/resolve.js';
import showOp from '../../src/ops/ticket/show.js';
import type { ConfigInput } from '../../src/runtime/config.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

describe.each(runtimeBackends)('knowledge for tickets on $name', ({ available, db }) => {
  let runtime: Runtime;
  let cleanup: () => void;
  // Unique words, so tickets other tests leave in a shared PostgreSQL never match.
  const word = unique('zyxqueue').replace('-', '');
  // PostgreSQL is shared: earlier runs' resolved tickets are indexed too, so every telling word is this run's own.
  const backlog = unique('backlog').replace('-', '');
  const consumers = unique('consumers').replace('-', '');
  const runbook = unique('drain the stuck queue');
  const config = (): ConfigInput => ({
    database: db,
    runbooks: [
      {
        name: runbook,
        // A keyword the tickets below do not contain: only the index can find this runbook for them.
        when: { keywords: [`${word} wedged exactly`] },
        steps: [{ tool: 'cache_cache_stats', input: {} }],
        resolution: `Drained the ${word} ${backlog} and restarted its ${consumers}.`,
      },
    ],
  });
  beforeAll(() => {
    if (!available) return;
    const t = tempHome('twl-knowledge-');
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, config());
  });
  afterAll(async () => {
    if (!available) return;
    await runtime.close();
    cleanup();
  });

  it.runIf(available)('records a "knowledge" step naming the matching runbook, and proposes it', async () => {
    const t = await invoke(createOp, runtime, { text: `The ${word} ${backlog} keeps growing and its ${consumers} are stuck since this morning.` });
    const r = await invoke(resolveOp, runtime, { ticket_id: t.id });
    expect(r.plan.runbook).toBeNull(); // the configured keywords did not match
    expect(r.plan.rationale).toContain(`the knowledge index proposes runbook "${runbook}"`);
    // What it read is in the rationale that twl ticket resolve prints.
    expect(r.plan.rationale.find((x: string) => x.startsWith('knowledge read: '))).toContain(`${runbook} (/twl/runbooks)`);
    const shown = await invoke(showOp, runtime, { id: t.id });
    const knowledge = shown.timeline.find((e: { kind: string }) => e.kind === 'knowledge')!;
    expect(knowledge).toMatchObject({ actor: 'maestro', status: 'ok' });
    expect(knowledge.decision).toContain(`${runbook} (/twl/runbooks)`);
    expect(knowledge.decision).toContain(`runbook "${runbook}" proposed`);
    const output = knowledge.output as { matches: Array<{ libraryId: string; title: string; source: string }>; proposedRunbook: string };
    expect(output.proposedRunbook).toBe(runbook);
    expect(output.matches[0]).toMatchObject({ libraryId: '/twl/runbooks', title: runbook, source: `twl:runbook/${runbook}` });
    // The knowledge step comes before the plan on the timeline.
    const kinds = shown.timeline.map((e: { kind: string }) => e.kind);
    expect(kinds.indexOf('knowledge')).toBeLessThan(kinds.indexOf('plan'));
  });

  it.runIf(available)('learns from resolved tickets: their resolution is found for the next similar ticket, and by docs search --ticket', async () => {
    // A ticket the runbook resolves (its keywords match), so it has a resolution.
    const first = await invoke(createOp, runtime, { text: `Alert: ${word} wedged exactly at midnight, ${consumers} idle.` });
    const done = await invoke(resolveOp, runtime, { ticket_id: first.id });
    expect(done.outcome).toBe('resolved');
    const next = await invoke(createOp, runtime, { text: `${consumers} idle again on ${word} after midnight.` });
    const found = await invoke(searchOp, runtime, { ticket: next.id, library: '/twl/tickets' });
    expect(found.results[0]).toMatchObject({ libraryId: '/twl/tickets', title: expect.stringContaining(`#${first.id} `) });
    expect(found.results[0]!.content).toContain(`Drained the ${word} ${backlog}`);
    await invoke(resolveOp, runtime, { ticket_id: next.id });
    const knowledge = (await invoke(showOp, runtime, { id: next.id })).timeline.find((e: { kind: string }) => e.kind === 'knowledge')!;
    expect((knowledge.output as { matches: Array<{ libraryId: string }> }).matches.map((m) => m.libraryId)).toContain('/twl/tickets');
    await expect(invoke(searchOp, runtime, { ticket: 999_999_999 })).rejects.toMatchObject({ code: 'TWL_TICKET_NOT_FOUND' });
  });
});
