import type { Runbook } from '../runtime/config.js';
import type { OpContext } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import type { Queryable, Store } from '../store/types.js';
import { bumpGeneration } from './cached.js';
import { knownPages, saveVersion } from './index-store.js';
import { searchChunks, type Hit } from './search.js';
import { contentHash, gatherFiles } from './sources/local.js';
import type { SourceDoc } from './sources/types.js';
import { embedPending } from './vectors.js';

export const RUNBOOKS = '/twl/runbooks';
export const TICKETS = '/twl/tickets';

/** The words a ticket is about (title and text), for searching the index with them. */
export async function ticketQuery(q: Queryable, ticket: number, extra?: string): Promise<string> {
  const { rows } = await q.query<{ title: string; text: string }>('SELECT title, text FROM twl_tickets WHERE id = $1', [ticket]);
  if (!rows[0]) throw new TwlError('TWL_TICKET_NOT_FOUND', `No ticket #${ticket}.`);
  return [rows[0].title, rows[0].text, extra ?? ''].join(' ').trim();
}

const doc = (location: string, title: string, markdown: string): SourceDoc => ({ location, url: `twl:${location}`, hash: contentHash(markdown), etag: null, lastModified: null, links: [], page: { title, markdown } });

/** A configured runbook as a page: what it is for, what it runs, what it writes when it works. */
const runbookPage = (r: Runbook): SourceDoc =>
  doc(
    `runbook/${r.name}`,
    r.name,
    [
      `# ${r.name}`,
      '',
      r.when.keywords?.length ? `When a ticket mentions: ${r.when.keywords.join(', ')}.` : '',
      r.when.categories?.length ? `For tickets about: ${r.when.categories.join(', ')}.` : '',
      '',
      '## Steps',
      '',
      ...r.steps.map((s) => `- ${s.tool} ${JSON.stringify(s.input)}`),
      '',
      '## Resolution',
      '',
      r.resolution,
    ].join('\n'),
  );

/**
 * Brings /twl/runbooks and /twl/tickets up to date: the configured runbooks (and docs.runbooks
 * folders), and the resolutions of resolved or closed tickets. Pages whose content did not
 * change keep their chunks, so a sync with nothing new writes almost nothing.
 */
export async function syncKnowledge(ctx: OpContext, store: Store): Promise<void> {
  const runbooks = ctx.config.runbooks.map(runbookPage);
  for (const folder of ctx.config.docs.runbooks) {
    const gathered = await gatherFiles(folder, { known: new Map(), signal: ctx.signal, maxFileBytes: ctx.config.docs.maxFileBytes, progress: () => undefined });
    runbooks.push(...gathered.docs.map((d) => ({ ...d, location: `file/${d.location}` })));
  }
  let changed = false;
  /** Saves a library of pages, the unchanged ones (same hash as indexed) kept as they are. */
  const save = async (id: string, name: string, description: string, docs: SourceDoc[]) => {
    if (!docs.length) return;
    const known = await knownPages(store, id, 'latest');
    const fresh = docs.map((d) => (known.get(d.location)?.hash === d.hash ? { ...d, page: undefined } : d));
    if (known.size === fresh.length && fresh.every((d) => !d.page)) return;
    const report = await saveVersion(store, { id, name, description, version: 'latest', source: `twl:${id.split('/').pop()}`, options: {} }, { docs: fresh });
    await embedPending(ctx, store, [report.versionId]);
    changed = true;
  };
  await save(RUNBOOKS, 'twl runbooks', 'The team\'s runbooks (configuration and docs.runbooks).', runbooks);
  const { rows } = await store.query<{ id: string; title: string; text: string; resolution: string; category: string | null }>(
    "SELECT id, title, text, resolution, category FROM twl_tickets WHERE status IN ('resolved', 'closed') AND resolution IS NOT NULL ORDER BY id",
  );
  // One section per ticket (no heading before the resolution), so its text and resolution come back together.
  const tickets = rows.map((t) => doc(`ticket/${t.id}`, `#${t.id} ${t.title}`, `# #${t.id} ${t.title}\n\n${t.text}\n\n**Resolution:** ${t.resolution}\n${t.category ? `\nCategory: ${t.category}\n` : ''}`));
  await save(TICKETS, 'twl tickets', 'What resolved tickets taught: their text and resolution.', tickets);
  if (changed) await bumpGeneration(ctx);
}

export interface Knowledge {
  matches: Array<{ libraryId: string; title: string; source: string; score: number; excerpt: string }>;
  /** A configured runbook the index found for this ticket. */
  proposedRunbook: string | null;
}

/**
 * What the team already knows about a ticket: the runbooks and past resolutions (and any other
 * indexed documentation) that best match its words. The ticket's own page is left out.
 */
export async function knowledgeFor(ctx: OpContext, ticket: { id: number; title: string; text: string }, limit = 3): Promise<Knowledge> {
  const store = await ctx.store();
  await syncKnowledge(ctx, store);
  const hits: Hit[] = (await searchChunks(store, `${ticket.title} ${ticket.text}`, { limit: limit + 5 })).filter((h) => !(h.libraryId === TICKETS && h.location === `ticket/${ticket.id}`)).slice(0, limit);
  const runbook = hits.find((h) => h.libraryId === RUNBOOKS && h.location.startsWith('runbook/'));
  return {
    matches: hits.map((h) => ({ libraryId: h.libraryId, title: h.title, source: h.url, score: h.score, excerpt: h.content.slice(0, 300) })),
    proposedRunbook: runbook ? runbook.location.slice('runbook/'.length) : null,
  };
}
