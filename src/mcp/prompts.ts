import { ProtocolError, ProtocolErrorCode, completable, type GetPromptResult, type McpServer } from '@modelcontextprotocol/server';
import { z } from 'zod';
import type { Ticket, TicketEvent } from '../agents/tickets/repo.js';
import { categories, categoryMeaning, priorities, priorityMeaning } from '../agents/triage/taxonomy.js';
import auditListOp from '../ops/audit/list.js';
import { invoke } from '../ops/invoke.js';
import type { OutputOf } from '../ops/op.js';
import ticketShowOp from '../ops/ticket/show.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import { ticketIds } from './completions.js';
import { grantReaches } from '../tools/types.js';
import { promptNamespace, type ServerGrant } from './resource-grant.js';

type AuditEntry = OutputOf<typeof auditListOp>['entries'][number];

/** A blank for a human to fill: never data. */
const BLANK = (what: string) => `«TO FILL: ${what}»`;
/** Timelines longer than this are cut (the oldest and newest steps are kept). */
const MAX_EVENTS = 150;
const MAX_AUDIT = 50;

const compact = (value: unknown, max = 400): string => {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
};

function duration(fromIso: string, toIso: string): string {
  const ms = Math.max(0, Date.parse(toIso) - Date.parse(fromIso));
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return `${Math.round(ms / 1000)} s`;
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d && `${d} d`, h && `${h} h`, m && `${m} min`].filter(Boolean).join(' ');
}

const quoted = (text: string) => text.split('\n').map((l) => `> ${l}`).join('\n');

function ticketHeader(t: Ticket): string {
  return [
    `Ticket #${t.id}: ${t.title}`,
    `- status: ${t.status}; source: ${t.source}; requester: ${t.requester ?? 'not recorded'}`,
    `- created: ${t.createdAt}; updated: ${t.updatedAt}${t.resolvedAt ? `; resolved: ${t.resolvedAt}` : ''}${t.closedAt ? `; closed: ${t.closedAt}` : ''}`,
    '',
    'What the requester wrote:',
    quoted(t.text),
  ].join('\n');
}

function labels(t: Ticket): string {
  if (!t.category && !t.priority && !t.sentiment && !t.urgency) return 'No labels yet: the ticket has not been classified.';
  return [
    `- category: ${t.category ?? 'not set'}${t.confidence !== null ? ` (confidence ${t.confidence})` : ''}`,
    `- priority: ${t.priority ?? 'not set'}`,
    `- sentiment: ${t.sentiment ?? 'not set'}; urgency: ${t.urgency ?? 'not set'}`,
    `- needs a human check: ${t.needsHuman ? 'yes' : 'no'}`,
    ...(t.assignedAgent ? [`- assigned to: ${t.assignedAgent}`] : []),
  ].join('\n');
}

function eventLine(e: TicketEvent, withOutput: boolean): string {
  const head = `${e.at} · ${e.actor} · ${e.kind}${e.step ? ` (${e.step})` : ''} · ${e.status}${e.durationMs !== null ? ` · ${e.durationMs} ms` : ''}`;
  const parts = [e.decision ? `${head}: ${e.decision}` : head];
  if (withOutput && e.output !== null && e.output !== undefined) parts.push(`  output: ${compact(e.output)}`);
  return `- ${parts.join('\n')}`;
}

function timelineText(events: TicketEvent[], withOutput: boolean): string {
  if (!events.length) return 'No recorded steps.';
  if (events.length <= MAX_EVENTS) return events.map((e) => eventLine(e, withOutput)).join('\n');
  const head = events.slice(0, MAX_EVENTS / 3);
  const tail = events.slice(events.length - (MAX_EVENTS - head.length));
  return [...head.map((e) => eventLine(e, withOutput)), `- … ${events.length - head.length - tail.length} steps left out …`, ...tail.map((e) => eventLine(e, withOutput))].join('\n');
}

/** What the investigation found: failed checks and fixes, resolutions and escalations, from the timeline. */
function findings(events: TicketEvent[]): string[] {
  const out: string[] = [];
  for (const e of events) {
    if ((e.kind === 'check' || e.kind === 'fix') && e.status !== 'ok') out.push(`${e.kind} ${e.step ?? ''} ${e.status} at ${e.at}: ${e.decision ?? 'no detail recorded'}`.replace(/\s+/g, ' '));
    else if (e.kind === 'resolution' || e.kind === 'escalation' || e.kind === 'interrupted') out.push(`${e.kind} at ${e.at} by ${e.actor}: ${e.decision ?? 'no detail recorded'}`);
  }
  return out;
}

const checksPassed = (events: TicketEvent[]) => events.filter((e) => (e.kind === 'check' || e.kind === 'fix') && e.status === 'ok').map((e) => `${e.kind} ${e.step ?? ''}: ${e.decision ?? 'ok'}`.replace(/\s+/g, ' '));

function auditLine(a: AuditEntry): string {
  return `- ${a.at} · ${a.actor} · \`${[a.program, ...a.args].join(' ')}\` · ${a.decision}${a.approved !== null ? (a.approved ? ' (approved)' : ' (not approved)') : ''} by rule ${a.rule} → ${a.outcome}${a.exitCode !== null ? `, exit ${a.exitCode}` : ''}${a.durationMs !== null ? `, ${Math.round(a.durationMs)} ms` : ''}`;
}

const user = (text: string, description: string): GetPromptResult => ({ description, messages: [{ role: 'user', content: { type: 'text', text } }] });

async function load(runtime: Runtime, ticketId: string, signal: AbortSignal, withAudit: boolean) {
  const id = Number(ticketId);
  try {
    const { ticket, timeline } = await invoke(ticketShowOp, runtime, { id }, { signal });
    const audit = withAudit ? (await invoke(auditListOp, runtime, { ticket_id: id, limit: MAX_AUDIT }, { signal })).entries.reverse() : [];
    return { ticket: ticket as Ticket, timeline: timeline as TicketEvent[], audit };
  } catch (err) {
    if (err instanceof TwlError && (err.code === 'TWL_TICKET_NOT_FOUND' || err.code === 'TWL_INPUT_INVALID')) throw new ProtocolError(ProtocolErrorCode.InvalidParams, err.message);
    throw err;
  }
}

export function triageText(ticket: Ticket, timeline: TicketEvent[]): string {
  const lastClassification = [...timeline].reverse().find((e) => e.kind === 'classification');
  return [
    `Triage helpdesk ticket #${ticket.id} in twl: choose its category and priority from the taxonomy below, with your reasons.`,
    '',
    '## The ticket',
    ticketHeader(ticket),
    '',
    '## Current labels',
    labels(ticket),
    ...(lastClassification ? ['', `Latest automatic classification (${lastClassification.actor}, ${lastClassification.at}, ${lastClassification.status}): ${lastClassification.decision ?? 'no detail'}`] : []),
    '',
    '## Taxonomy (use these labels only)',
    'Categories:',
    ...categories.map((c) => `- ${c}: ${categoryMeaning[c]}`),
    'Priorities:',
    ...priorities.map((p) => `- ${p}: ${priorityMeaning[p]}`),
    '',
    '## Answer',
    '1. The category and the priority, each with the reasons taken from the text (quote the words that decide it).',
    '2. Whether you agree with the current labels, and why not if you do not.',
    '3. If the text is too thin to decide, the questions to ask the requester.',
    'Then a JSON object: {"category": "...", "priority": "...", "reasons": ["..."], "agreesWithCurrentLabels": true|false, "questions": ["..."]}.',
  ].join('\n');
}

export function incidentText(ticket: Ticket, timeline: TicketEvent[], audit: AuditEntry[]): string {
  const found = findings(timeline);
  const passed = checksPassed(timeline);
  const end = ticket.resolvedAt ?? ticket.closedAt;
  return [
    `Summarise the incident behind ticket #${ticket.id} for the team and stakeholders: what happened, the impact, what was checked and found, what was done, where it stands now and what is next.`,
    'Use only the facts below; where something is not recorded, say so rather than guessing.',
    '',
    '## The ticket',
    ticketHeader(ticket),
    '',
    '## Labels',
    labels(ticket),
    `- ${end ? `open for ${duration(ticket.createdAt, end)} (until ${end})` : `open for ${duration(ticket.createdAt, new Date().toISOString())} so far`}`,
    ...(ticket.resolution ? [`- resolution: ${ticket.resolution}`] : []),
    ...(ticket.escalationReason ? [`- escalated because: ${ticket.escalationReason}`] : []),
    '',
    '## Findings',
    ...(found.length ? found.map((f) => `- ${f}`) : ['- No failed check, fix, resolution or escalation is recorded.']),
    ...(passed.length ? ['Checks and fixes that passed:', ...passed.map((p) => `- ${p}`)] : []),
    '',
    '## Commands run for this ticket (audit log)',
    ...(audit.length ? audit.map(auditLine) : ['- None recorded.']),
    '',
    `## Timeline (${timeline.length} step${timeline.length === 1 ? '' : 's'}, UTC)`,
    timelineText(timeline, true),
    '',
    '## Answer',
    'A short summary (5 to 10 lines): status, impact, cause as far as known, actions taken, next steps.',
  ].join('\n');
}

export function postmortemText(ticket: Ticket, timeline: TicketEvent[], audit: AuditEntry[]): string {
  const found = findings(timeline);
  const end = ticket.resolvedAt ?? ticket.closedAt;
  const comments = timeline.filter((e) => e.kind === 'comment');
  return [
    `Write a blameless post-mortem for the incident of ticket #${ticket.id}. Complete the template below: keep every recorded fact as it is, write the prose from them,`,
    'and leave each «TO FILL» blank for the team (or fill it only from the facts here, saying which). Do not invent times, numbers or causes.',
    '',
    '---',
    `# Post-mortem: ${ticket.title} (ticket #${ticket.id})`,
    '',
    '## What happened',
    `Reported ${ticket.createdAt} by ${ticket.requester ?? 'an unrecorded requester'} (via ${ticket.source}):`,
    quoted(ticket.text),
    `Current status: ${ticket.status}.${ticket.resolution ? ` Resolution recorded: ${ticket.resolution}` : ''}${ticket.escalationReason ? ` Escalated because: ${ticket.escalationReason}` : ''}`,
    '',
    '## Impact',
    `- category: ${ticket.category ?? 'not classified'}; priority: ${ticket.priority ?? 'not set'}; urgency: ${ticket.urgency ?? 'not set'}; requester sentiment: ${ticket.sentiment ?? 'not set'}`,
    `- duration (ticket open): ${end ? `${duration(ticket.createdAt, end)}, ${ticket.createdAt} → ${end}` : `ongoing, ${duration(ticket.createdAt, new Date().toISOString())} since ${ticket.createdAt}`}`,
    `- users and services affected: ${BLANK('who and what was affected, and how many')}`,
    `- when it really started (before the ticket?): ${BLANK('first symptom time')}`,
    '',
    '## Timeline (UTC, from the ticket)',
    timelineText(timeline, false),
    '',
    '## Root cause',
    BLANK('the root cause, and why it happened now'),
    ...(found.length ? ['What the investigation recorded:', ...found.map((f) => `- ${f}`)] : ['The investigation recorded no failed check.']),
    '',
    '## Resolution and recovery',
    ticket.resolution ?? (end ? BLANK('how it was resolved (no resolution text was recorded)') : `Not resolved yet (status ${ticket.status}).`),
    ...(audit.length ? ['Commands run (audit log):', ...audit.map(auditLine)] : []),
    ...(comments.length ? ['Notes on the ticket:', ...comments.map((c) => `- ${c.at} ${c.actor}: ${c.decision ?? ''}`)] : []),
    '',
    '## What went well / what went badly',
    BLANK('detection, response, tooling'),
    '',
    '## Actions',
    `| action | owner | due |`,
    `| --- | --- | --- |`,
    `| ${BLANK('preventive action')} | ${BLANK('owner')} | ${BLANK('date')} |`,
    `| ${BLANK('detection improvement')} | ${BLANK('owner')} | ${BLANK('date')} |`,
    '---',
  ].join('\n');
}

const ticketIdArg = (runtime: Runtime) =>
  completable(z.string().trim().regex(/^\d{1,15}$/, 'expected a ticket number').describe('The ticket number, e.g. 42.'), (value) => ticketIds(runtime, String(value ?? '')).catch(() => []));

/**
 * Prompts built from a ticket's recorded data: `triage_ticket`, `summarise_incident` and
 * `write_postmortem`, each taking `ticket_id` (completed from the store).
 *
 * They are twl's (`promptNamespace`): a server built for a grant that does not reach it (a key
 * limited to other namespaces) registers none, so prompts/list shows none and prompts/get and
 * completion/complete answer for them as for a prompt that does not exist. The prompts capability
 * is declared all the same, so such a client is answered as any other is.
 */
export function registerPrompts(server: McpServer, runtime: Runtime, grant: ServerGrant = {}): void {
  if (!grantReaches(grant.namespaces, promptNamespace)) {
    // The SDK declares the capability and sets prompts/list and prompts/get up with the first
    // prompt registered (its setter is private): one registered and removed at once leaves them.
    server.registerPrompt('twl_no_prompt', { description: 'none' }, () => user('', '')).remove();
    return;
  }
  server.registerPrompt(
    'triage_ticket',
    { title: 'Triage a ticket', description: "The ticket's text, its current labels and the taxonomy, asking for a category and a priority with reasons.", argsSchema: z.object({ ticket_id: ticketIdArg(runtime) }) },
    async ({ ticket_id }, ctx) => {
      const { ticket, timeline } = await load(runtime, ticket_id, ctx.mcpReq.signal, false);
      return user(triageText(ticket, timeline), `Triage ticket #${ticket.id}: ${ticket.title}`);
    },
  );
  server.registerPrompt(
    'summarise_incident',
    { title: 'Summarise an incident', description: 'The ticket, its timeline, its findings and the commands run for it, asking for a short incident summary.', argsSchema: z.object({ ticket_id: ticketIdArg(runtime) }) },
    async ({ ticket_id }, ctx) => {
      const { ticket, timeline, audit } = await load(runtime, ticket_id, ctx.mcpReq.signal, true);
      return user(incidentText(ticket, timeline, audit), `Incident summary for ticket #${ticket.id}: ${ticket.title}`);
    },
  );
  server.registerPrompt(
    'write_postmortem',
    { title: 'Write a post-mortem', description: 'A post-mortem template filled with the ticket’s recorded facts (what happened, impact, timeline, findings, actions), with marked blanks for the root cause and follow-ups.', argsSchema: z.object({ ticket_id: ticketIdArg(runtime) }) },
    async ({ ticket_id }, ctx) => {
      const { ticket, timeline, audit } = await load(runtime, ticket_id, ctx.mcpReq.signal, true);
      return user(postmortemText(ticket, timeline, audit), `Post-mortem for ticket #${ticket.id}: ${ticket.title}`);
    },
  );
}
