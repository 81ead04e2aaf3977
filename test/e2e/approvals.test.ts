import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, startHttpServe, tempHome, twl } from '../helpers.js';
import { Tmux, exitStatus, hasTmux, shellQuote } from '../tmux.js';

/** A runbook whose fix (deleting a cache key) is not read-only, so it needs approval. */
const runbooks = [
  {
    name: 'stale deploy lock',
    when: { keywords: ['deploy lock'] },
    steps: [
      { tool: 'cache_cache_get', input: { key: 'deploy:lock' } },
      { tool: 'cache_cache_delete', input: { key: 'deploy:lock' } },
    ],
    resolution: 'Removed the stale deploy lock.',
  },
];

// The commands share the embedded store through its background host, as on a user's machine (each
// command waits for the host it starts, however slow it is to start).
type Timeline = Array<{ kind: string; actor: string; step: string | null; status: string; decision: string | null }>;
const show = async (id: number, home: string) => envelope((await twl(['ticket', 'show', String(id), '--json'], { home })).stdout).result as { ticket: { status: string }; timeline: Timeline };

describe.skipIf(!hasTmux)('an approval question on a real terminal', () => {
  let tmux: Tmux | undefined;
  let done: (() => void) | undefined;
  afterEach(() => {
    tmux?.kill();
    done?.();
  });

  /** A ticket whose resolution stops at the approval question, in a tmux pane; the exit status goes to a file. */
  async function atTheQuestion(): Promise<{ id: number; home: string; statusFile: string; pane: string }> {
    const t = tempHome('twl-approve-tty-');
    done = t.cleanup;
    const { home } = t;
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ runbooks }));
    expect((await twl(['cache', 'set', 'deploy:lock', 'held'], { home })).exitCode).toBe(0);
    const id = (envelope((await twl(['ticket', 'create', 'The deploy lock is stuck since this morning', '--json'], { home })).stdout).result as { id: number }).id;
    tmux = new Tmux();
    const vars: Record<string, string> = { TWL_HOME: home, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.data'), TERM: 'xterm-256color', NO_COLOR: '1', PATH: process.env.PATH ?? '' };
    const assignments = Object.entries(vars).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const statusFile = path.join(home, 'resolve.status');
    tmux.start(`cd ${shellQuote(home)} && env -i ${assignments} ${shellQuote(process.execPath)} ${shellQuote(bin)} ticket resolve ${id}; echo $? > ${shellQuote(statusFile)}`, 120, 30);
    // The question is on screen without typing anything (it used to be hidden under the spinner).
    const pane = await tmux.waitFor((p) => /Run cache_cache_delete .*\(y\/N\)/.test(p), 120_000);
    return { id, home, statusFile, pane };
  }

  it('shows the question, and y runs the fix and resolves the ticket (exit 0)', async () => {
    const { id, home, statusFile, pane } = await atTheQuestion();
    expect(pane).toMatch(/deploy:lock/);
    tmux!.run('send-keys', '-t', 'dash', 'y', 'Enter');
    expect(await exitStatus(statusFile)).toBe('0');
    const { ticket, timeline } = await show(id, home);
    expect(ticket.status).toBe('resolved');
    expect(timeline.find((e) => e.kind === 'approval')).toMatchObject({ step: 'cache_cache_delete', status: 'ok', decision: 'approved' });
    expect(envelope((await twl(['cache', 'get', 'deploy:lock', '--json'], { home })).stdout).result).toMatchObject({ found: false });
  });

  it('Ctrl-C at the question behaves like Ctrl-C during a step: exit 130, the ticket triaged, the timeline saying where', async () => {
    const { id, home, statusFile } = await atTheQuestion();
    tmux!.run('send-keys', '-t', 'dash', 'C-c');
    expect(await exitStatus(statusFile)).toBe('130');
    expect(tmux!.pane()).not.toMatch(/ABORT_ERR|report it/);
    const { ticket, timeline } = await show(id, home);
    expect(ticket.status).toBe('triaged');
    expect(timeline.at(-2)).toMatchObject({ kind: 'interrupted', status: 'cancelled', decision: expect.stringMatching(/interrupted at the approval of step \d+ \(cache_cache_delete\)/) });
    expect(timeline.some((e) => e.kind === 'escalation')).toBe(false);
    // Nothing ran: the lock is still there.
    expect(envelope((await twl(['cache', 'get', 'deploy:lock', '--json'], { home })).stdout).result).toMatchObject({ found: true, value: 'held' });
  });
});

describe('twl ticket approve', () => {
  it('approves the step a ticket waits for from a script, and the resolution resumes (exit codes as for resolve)', async () => {
    const { home, cleanup } = tempHome('twl-approve-cli-');
    try {
      writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ runbooks }));
      await twl(['cache', 'set', 'deploy:lock', 'held'], { home });
      const id = (envelope((await twl(['ticket', 'create', 'The deploy lock is stuck', '--json'], { home })).stdout).result as { id: number }).id;
      const waiting = await twl(['ticket', 'resolve', String(id)], { home });
      expect(waiting.exitCode, waiting.stderr).toBe(4);
      expect(waiting.stdout).toMatch(new RegExp(`approve it with \`twl ticket approve ${id}\``));
      const wrong = await twl(['ticket', 'approve', String(id), '--step', 'cache_cache_get', '--json'], { home });
      expect(wrong.exitCode).toBe(4);
      expect(envelope(wrong.stdout).error).toMatchObject({ code: 'TWL_TICKET_STATE' });
      const approved = await twl(['ticket', 'approve', String(id), '--json'], { home });
      expect(approved.exitCode, approved.stderr).toBe(0);
      expect(envelope(approved.stdout).result).toMatchObject({ outcome: 'resolved', approved: { tool: 'cache_cache_delete', by: expect.stringMatching(/^cli:/), used: true } });
    } finally {
      cleanup();
    }
  });
});

describe('approving over REST and MCP (clients that cannot answer a question)', () => {
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let base: string;
  const keys: Record<string, string> = {};

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-approve-http-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ runbooks }));
    for (const role of ['operator', 'manager']) keys[role] = (envelope((await twl(['keys', 'create', '--role', role, '--name', `${role} bot`, '--json'], { home })).stdout).result as { key: string }).key;
    ({ child, url: base } = await startHttpServe(home));
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await child;
    cleanup();
  });

  const call = async (tool: string, body: unknown, role = 'operator') => {
    const res = await fetch(`${base}/api/tools/${tool}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}` } });
    return { status: res.status, body: (await res.json()) as { result?: { id: number; approved: { by: string } } & Record<string, unknown>; error?: { code: string; message: string } } };
  };

  it('a ticket created over REST says so; resolve waits, refuses an unknown "approve" key, and a manager approves explicitly, on the record', async () => {
    await call('cache_cache_set', { key: 'deploy:lock', value: 'held' });
    const created = await call('tickets_create_ticket', { text: 'The deploy lock is stuck again' });
    expect(created.status).toBe(200);
    expect(created.body.result).toMatchObject({ source: 'rest' });
    const id = created.body.result!.id as number;

    const waiting = await call('real-resolver_resolve_ticket', { ticket_id: id });
    expect(waiting.status).toBe(200);
    expect(waiting.body.result).toMatchObject({ outcome: 'waiting_approval', ticket: { status: 'waiting_approval' }, summary: expect.stringMatching(/tickets_approve_ticket/) });

    // An unknown key is refused, naming it and the keys accepted; nothing happened.
    const sneaky = await call('real-resolver_resolve_ticket', { ticket_id: id, approve: true });
    expect(sneaky.status).toBe(400);
    expect(sneaky.body.error).toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/unknown key "approve" \(accepted: ticket_id, force\)/) });
    expect((await show(id, home)).ticket.status).toBe('waiting_approval');

    // An operator may resolve but not approve its own fix.
    const operator = await call('tickets_approve_ticket', { ticket_id: id }, 'operator');
    expect(operator.status).toBe(403);
    expect(operator.body.error!.message).toMatch(/needs the manager role/);
    // Approving another step than the one waiting is refused.
    const other = await call('tickets_approve_ticket', { ticket_id: id, step: 'cache_cache_set' }, 'manager');
    expect(other.body.error).toMatchObject({ code: 'TWL_TICKET_STATE', message: expect.stringMatching(/waits for approval of cache_cache_delete, not cache_cache_set/) });

    const approved = await call('tickets_approve_ticket', { ticket_id: id, step: 'cache_cache_delete' }, 'manager');
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(approved.body.result).toMatchObject({ outcome: 'resolved', ticket: { status: 'resolved' }, approved: { tool: 'cache_cache_delete', input: { key: 'deploy:lock' }, by: expect.stringMatching(/^rest:key:.+ \(manager bot\)$/), used: true } });
    const { timeline } = await show(id, home);
    const approvals = timeline.filter((e) => e.kind === 'approval');
    expect(approvals.map((e) => [e.status, e.actor])).toEqual([
      ['waiting', 'maestro'],
      ['ok', approved.body.result!.approved.by],
      ['ok', approved.body.result!.approved.by],
    ]);
    expect(approvals[1]!.decision).toMatch(/approved through tickets_approve_ticket \(rest\)/);
    expect((await call('cache_cache_get', { key: 'deploy:lock' })).body.result).toMatchObject({ found: false });

    // Nothing waits any more: a second approval is refused.
    expect((await call('tickets_approve_ticket', { ticket_id: id }, 'manager')).body.error).toMatchObject({ code: 'TWL_TICKET_STATE' });
  });

  it('over MCP: tickets record source mcp, unknown keys are refused, and the approval tool is listed with a strict schema', async () => {
    const client = new Client({ name: 'approvals-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${keys.manager}` } } }));
    try {
      const { tools } = await client.listTools();
      const approve = tools.find((t) => t.name === 'tickets_approve_ticket');
      expect(approve?.inputSchema).toMatchObject({ additionalProperties: false, required: ['ticket_id'] });
      expect(tools.every((t) => (t.inputSchema as { additionalProperties?: unknown }).additionalProperties === false)).toBe(true);
      const created = await client.callTool({ name: 'tickets_create_ticket', arguments: { text: 'VPN drops every hour' } });
      expect(created.structuredContent).toMatchObject({ source: 'mcp' });
      const refused = await client.callTool({ name: 'real-resolver_resolve_ticket', arguments: { ticket_id: (created.structuredContent as { id: number }).id, approve: true } });
      expect(refused.isError).toBe(true);
      expect(JSON.stringify(refused.content)).toMatch(/approve/);
      const { timeline } = await show((created.structuredContent as { id: number }).id, home);
      expect(timeline.map((e) => e.kind)).toEqual(['created']);
    } finally {
      await client.close();
    }
  });
});
