import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import pg from 'pg';
import { POSTGRES_URL, bin, envelope, hasPostgres, inheritedEnv, tempHome, twl, waitFor } from '../helpers.js';

let home: string;
let cleanup: () => void;
beforeAll(() => ({ home, cleanup } = tempHome('twl-tickets-')));
afterAll(() => cleanup());

describe('the ticket flow from the shell', () => {
  it('creates, resolves (with its reason) and shows every step with durations', async () => {
    const created = await twl(['ticket', 'create', 'Application ne répond plus depuis 2h', '--json'], { home });
    expect(created.exitCode, created.stderr).toBe(0);
    const ticket = envelope(created.stdout).result as { id: number; status: string };
    expect(ticket).toMatchObject({ status: 'new', title: 'Application ne répond plus depuis 2h' });

    const resolved = await twl(['ticket', 'resolve', String(ticket.id)], { home });
    expect(resolved.exitCode).toBe(1); // escalated
    expect(resolved.stdout).toMatch(new RegExp(`#${ticket.id} escalated: Needs a human: `));

    const shown = await twl(['ticket', 'show', String(ticket.id), '--json'], { home });
    const { timeline } = envelope(shown.stdout).result as { timeline: Array<{ kind: string; durationMs: number | null }> };
    expect(timeline.map((e) => e.kind)).toEqual(['created', 'sentiment', 'classification', 'status', 'status', 'plan', 'status', 'escalation']);
    expect(timeline.filter((e) => e.kind === 'sentiment' || e.kind === 'classification').every((e) => e.durationMs !== null)).toBe(true);
    const human = await twl(['ticket', 'show', String(ticket.id)], { home });
    expect(human.stdout).toMatch(/Timeline/);
    expect(human.stdout).toMatch(/real-classifier/);
  });

  it('takes last for the newest ticket, as the README does', async () => {
    const { home: h, cleanup: done } = tempHome('twl-last-');
    try {
      const none = await twl(['ticket', 'show', 'last'], { home: h });
      expect(none.exitCode).toBe(7);
      expect(none.stderr).toMatch(/no ticket yet/);
      await twl(['ticket', 'create', 'first'], { home: h });
      const second = envelope((await twl(['ticket', 'create', 'Server is down', '--json'], { home: h })).stdout).result as { id: number };
      expect(envelope((await twl(['ticket', 'show', 'last', '--json'], { home: h })).stdout).result).toMatchObject({ ticket: { id: second.id } });
      expect((await twl(['ticket', 'show', 'first'], { home: h })).stderr).toMatch(/"first" is not a ticket/);
    } finally {
      done();
    }
  });

  it('lists tickets and filters them', async () => {
    await twl(['ticket', 'create', 'Question: where do I find the VPN guide?'], { home });
    const r = await twl(['ticket', 'list', '--status', 'new', '--json'], { home });
    const { tickets } = envelope(r.stdout).result as { tickets: Array<{ status: string }> };
    expect(tickets.length).toBeGreaterThan(0);
    expect(tickets.every((t) => t.status === 'new')).toBe(true);
    const bad = await twl(['ticket', 'list', '--status', 'sleeping'], { home });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/Expected --status=sleeping to be one of/);
  });

  it('classifies text with reasons', async () => {
    const r = await twl(['ticket', 'classify', '--text', 'Server is down', '--json'], { home });
    expect(envelope(r.stdout).result).toMatchObject({ category: 'server', ticketId: null });
  });
});

describe('bulk import and export', () => {
  const lines = (n: number) =>
    Array.from({ length: n }, (_, i) => JSON.stringify({ text: `Imported ticket ${i}: the printer on floor ${i % 7} jams`, requester: `user${i}@example.com`, priority: ['low', 'medium', 'high'][i % 3] }));

  it('imports nothing when 3 of 1,000 lines are bad, and lists them', async () => {
    const { home: h, cleanup: done } = tempHome('twl-import-');
    try {
      const file = path.join(h, 'tickets.jsonl');
      const all = lines(1000);
      all[10] = '{"text": "broken json';
      all[500] = JSON.stringify({ requester: 'nobody' });
      all[998] = JSON.stringify({ text: 'bad priority', priority: 'whenever' });
      writeFileSync(file, `${all.join('\n')}\n`);
      const r = await twl(['ticket', 'import', file, '--json'], { home: h });
      expect(r.exitCode).toBe(2);
      const body = envelope(r.stdout).error as { code: string; message: string; details: { errors: Array<{ line: number; error: string }> } };
      expect(body.code).toBe('TWL_IMPORT_INVALID');
      expect(body.details.errors.map((e) => e.line)).toEqual([11, 501, 999]);
      expect(body.details.errors[0]!.error).toMatch(/not JSON/);
      expect(body.details.errors[1]!.error).toMatch(/text/);
      expect(body.details.errors[2]!.error).toMatch(/priority/);
      expect(body.message).toMatch(/nothing was imported/);
      expect(envelope((await twl(['ticket', 'list', '--json'], { home: h })).stdout).result).toMatchObject({ total: 0 });

      const skip = await twl(['ticket', 'import', file, '--skip-invalid', '--json'], { home: h });
      expect(skip.exitCode, skip.stderr).toBe(0);
      expect(envelope(skip.stdout)).toMatchObject({ result: { imported: 997, skipped: 3 }, warnings: [expect.stringMatching(/3 invalid lines were skipped/)] });
      expect(envelope((await twl(['ticket', 'list', '--json'], { home: h })).stdout).result).toMatchObject({ total: 997 });

      const out = path.join(h, 'export.jsonl');
      expect((await twl(['ticket', 'export', '--output', out], { home: h })).exitCode).toBe(0);
      const exported = readFileSync(out, 'utf8').trim().split('\n');
      expect(exported).toHaveLength(997);
      expect(JSON.parse(exported[0]!)).toMatchObject({ requester: 'user0@example.com', source: 'import' });
      const csv = await twl(['ticket', 'export', '--format', 'csv', '--priority', 'high'], { home: h });
      expect(csv.stdout.split('\n')[0]).toMatch(/^id,title,text,requester/);

      // A reader that stops early closes the pipe: twl stops quietly and succeeds, like any Unix tool.
      const [err, rc] = [path.join(h, 'export.err'), path.join(h, 'export.rc')];
      const piped = await execa('sh', ['-c', '{ "$NODE" "$BIN" ticket export 2>"$ERR"; echo $? >"$RC"; } | head -c 10'], { env: { ...inheritedEnv(), TWL_HOME: h, HOME: h, NODE: process.execPath, BIN: bin, ERR: err, RC: rc }, cwd: h, reject: false, timeout: 60_000 });
      expect(piped.stdout).toHaveLength(10);
      expect(readFileSync(err, 'utf8')).toBe('');
      expect(readFileSync(rc, 'utf8').trim()).toBe('0');
    } finally {
      done();
    }
  });

  it('imports CSV with a header', async () => {
    const { home: h, cleanup: done } = tempHome('twl-csv-');
    try {
      const file = path.join(h, 'tickets.csv');
      writeFileSync(file, 'text,requester,category\n"VPN down, nobody can connect",ops@example.com,network\nDisque plein sur srv-01,,storage\n');
      const r = await twl(['ticket', 'import', file, '--json'], { home: h });
      expect(envelope(r.stdout).result).toMatchObject({ imported: 2, format: 'csv' });
      const list = envelope((await twl(['ticket', 'list', '--category', 'storage', '--json'], { home: h })).stdout).result as { tickets: Array<{ requester: string | null }> };
      expect(list.tickets).toMatchObject([{ requester: null }]);
    } finally {
      done();
    }
  });
});

describe.skipIf(!hasPostgres)('Ctrl-C during a resolve', () => {
  // The slow step runs on PostgreSQL, where the test sees it running (pg_stat_activity, by the
  // connection's application_name) and sends Ctrl-C then, not after a guessed delay; the ticket and
  // its timeline are on the directly opened embedded store. (A shared embedded host cannot stop a statement: PGlite has no cancellation, see the README.)
  const env = { TWL_STORE_AUTO_HOST: 'off' };
  it('stops the running step, exits 130, and leaves the ticket triaged with the timeline saying where', async () => {
    const { home: h, cleanup: done } = tempHome('twl-sigint-');
    const tag = `twl-sigint-${randomUUID()}`;
    const probeUrl = new URL(POSTGRES_URL);
    probeUrl.searchParams.set('application_name', tag);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    /** twl's connections to the probe target (named by the tag), with whether each sleeps in the slow statement now. */
    const backends = async () => (await admin.query<{ pid: number; sleeping: boolean }>("SELECT pid, state = 'active' AND wait_event = 'PgSleep' AS sleeping FROM pg_stat_activity WHERE application_name = $1", [tag])).rows;
    const running = async () => (await backends()).filter((b) => b.sleeping);
    try {
      writeFileSync(
        path.join(h, '.twlrc.json'),
        JSON.stringify({
          database: { targets: { probe: { url: probeUrl.href } } },
          runbooks: [{ name: 'slow probe', when: { keywords: ['probe'] }, steps: [{ tool: 'database_execute_query', input: { sql: 'select pg_sleep(300)', timeout_ms: 600000, target: 'probe' } }, { tool: 'cache_cache_stats' }], resolution: 'done' }],
        }),
      );
      const id = (envelope((await twl(['ticket', 'create', 'Please run the probe', '--json'], { home: h, env })).stdout).result as { id: number }).id;
      const child = twl(['ticket', 'resolve', String(id), '--json'], { home: h, env });
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      let exited = false;
      void child.then(() => (exited = true));
      // The slow step runs: its statement is on the server (start-up, triage and planning took what they took).
      await waitFor('the slow step\'s statement running', async () => {
        if (exited) throw new Error(`twl ticket resolve exited before the slow step ran: ${err}`);
        return (await running()).length ? true : undefined;
      }, 120_000);
      const started = performance.now();
      child.kill('SIGINT');
      const r = await child;
      expect(r.exitCode, `signal ${r.signal} ${err}`).toBe(130);
      // Stopped, not waited for: the 5-minute sleep would take minutes. The margin is for a loaded machine.
      expect(performance.now() - started).toBeLessThan(60_000);
      // And cancelled on the server, not only abandoned: the 5-minute sleep is not left running there.
      await waitFor('the slow statement cancelled on the server', async () => ((await running()).length === 0 ? true : undefined), 20_000);
      const shown = envelope((await twl(['ticket', 'show', String(id), '--json'], { home: h, env })).stdout).result as { ticket: { status: string }; timeline: Array<{ kind: string; status: string; decision: string }> };
      expect(shown.ticket.status).toBe('triaged');
      expect(shown.timeline.at(-2)).toMatchObject({ kind: 'interrupted', decision: expect.stringMatching(/interrupted during step 1 \(database_execute_query\)/) });
      expect(shown.timeline.at(-3)).toMatchObject({ kind: 'check', status: 'cancelled' });
    } finally {
      // If a failed assertion left the statement running, it is ended here, not left on the shared server.
      for (const { pid } of await backends()) await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await admin.end();
      done();
    }
  });
});

export { bin };
