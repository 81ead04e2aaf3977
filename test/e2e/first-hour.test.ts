// The first hour of a new user (issue #10): what a person meets in the shell, with real processes.
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, freePort, root, tempHome, twl } from '../helpers.js';

// Each command opens the embedded store itself: steadier on a loaded machine than the shared host.
const env = { TWL_STORE_AUTO_HOST: 'off' };

describe('a failed fix', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-fixfail-')));
  afterAll(() => cleanup());

  it('shows the step\'s error in the human ticket show, and no ✔ on the escalated ticket', async () => {
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        commander: { rules: [{ program: 'touch', decision: 'deny', reason: 'touch is forbidden on this host' }] },
        runbooks: [
          { name: 'free disk', when: { keywords: ['disk'] }, steps: [{ tool: 'real-desktop-commander_execute_command', input: { command: 'touch /tmp/twl-never' } }], resolution: 'freed' },
          { name: 'clear cache', when: { keywords: ['stale'] }, steps: [{ tool: 'cache_cache_delete', input: { key: 'prices' } }], resolution: 'cleared' },
        ],
      }),
    );
    expect((await twl(['ticket', 'create', 'The disk is full'], { home, env })).exitCode).toBe(0);
    const resolved = await twl(['ticket', 'resolve', 'last', '--yes'], { home, env });
    expect(resolved.exitCode, resolved.stderr).toBe(1);
    expect(resolved.stderr).toMatch(/✖ Ticket #1: escalated/);
    expect(resolved.stderr).not.toMatch(/✔ Ticket #1/);
    const shown = await twl(['ticket', 'show', 'last'], { home, env });
    expect(shown.exitCode).toBe(0);
    expect(shown.stdout).toMatch(/Errors\n✖ [\d:.]+ real-desktop-commander_execute_command: Refused by .*touch is forbidden on this host.*\(TWL_POLICY_DENIED\)/);
    // Waiting for an approval nobody can give here: not ✔ either.
    await twl(['ticket', 'create', 'The prices are stale'], { home, env });
    const waiting = await twl(['ticket', 'resolve', 'last'], { home, env });
    expect(waiting.exitCode).toBe(4);
    expect(waiting.stderr + waiting.stdout).toMatch(/↓ Ticket #2: waiting_approval/);
    expect(waiting.stderr + waiting.stdout).not.toMatch(/✔ Ticket #2/);
  });
});

describe('a ticket argument takes last everywhere', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-lastarg-')));
  afterAll(() => cleanup());

  it('ticket classify last, maestro orchestrate --ticket last, audit list --ticket last', async () => {
    const none = await twl(['ticket', 'classify', 'last'], { home, env });
    expect(none.exitCode).toBe(7);
    expect(none.stderr).toMatch(/no ticket yet/);
    await twl(['ticket', 'create', 'first ticket about the printer'], { home, env });
    const id = (envelope((await twl(['ticket', 'create', 'The server is down', '--json'], { home, env })).stdout).result as { id: number }).id;
    const classified = await twl(['ticket', 'classify', 'last', '--json'], { home, env });
    expect(classified.exitCode, classified.stderr).toBe(0);
    expect(envelope(classified.stdout).result).toMatchObject({ ticketId: id, category: 'server' });
    const orchestrated = await twl(['maestro', 'orchestrate', '--ticket', 'last', '--json'], { home, env });
    expect(envelope(orchestrated.stdout).result).toMatchObject({ mode: 'ticket', resolution: { ticket: { id } } });
    const audit = await twl(['audit', 'list', '--ticket', 'last', '--json'], { home, env });
    expect(audit.exitCode, audit.stderr).toBe(0);
    const bad = await twl(['maestro', 'orchestrate', '--ticket', 'newest'], { home, env });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/"newest" is not a ticket: expected a ticket number or last/);
  });
});

describe('export and import round trips', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-roundtrip-')));
  afterAll(() => cleanup());

  const exportAll = async (h: string) =>
    readFileSync(await (async () => {
      const file = path.join(h, `all-${Math.random().toString(36).slice(2)}.jsonl`);
      const r = await twl(['ticket', 'export', '--output', file], { home: h, env });
      expect(r.exitCode, r.stderr).toBe(0);
      return file;
    })(), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it('keeps every field through JSONL and through CSV', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ runbooks: [{ name: 'cache check', when: { keywords: ['cache'] }, steps: [{ tool: 'cache_cache_stats' }], resolution: 'The cache answers.' }] }));
    const create = (args: string[]) => twl(['ticket', 'create', ...args, '--json'], { home, env });
    await create(['Le cache est lent, "vraiment", depuis ce matin', '--requester', 'ana@example.com']);
    // A comma and a line break for the CSV; nothing the model can place it by, so classify marks it needsHuman.
    await create(['hmm,\nwell']);
    await create(['The server is down since 2h', '--requester', 'bob']);
    await create(['Question: where is the VPN guide?']);
    expect((await twl(['ticket', 'resolve', '1', '--yes'], { home, env })).exitCode).toBe(0); // resolved by the runbook
    expect((await twl(['ticket', 'resolve', '3', '--yes'], { home, env })).exitCode).toBe(1); // escalated, with a reason
    expect((await twl(['ticket', 'classify', '2'], { home, env })).exitCode).toBe(0);
    expect((await twl(['ticket', 'close', '4', '--note', 'answered'], { home, env })).exitCode).toBe(0);
    const original = await exportAll(home);
    expect(original).toHaveLength(4);
    // Every field that can be set is set on some ticket, so the comparison covers it.
    for (const field of Object.keys(original[0]!)) expect(original.some((t) => t[field] !== null && t[field] !== false), field).toBe(true);

    const csv = path.join(home, 'all.csv');
    expect((await twl(['ticket', 'export', '--format', 'csv', '--output', csv], { home, env })).exitCode).toBe(0);
    const jsonl = path.join(home, 'all.jsonl');
    writeFileSync(jsonl, `${original.map((t) => JSON.stringify(t)).join('\n')}\n`);

    for (const file of [jsonl, csv]) {
      const { home: fresh, cleanup: done } = tempHome('twl-roundtrip-fresh-');
      try {
        const imported = await twl(['ticket', 'import', file, '--keep-ids', '--json'], { home: fresh, env });
        expect(imported.exitCode, imported.stdout + imported.stderr).toBe(0);
        expect(await exportAll(fresh)).toEqual(original);
        // Importing the same tickets again with their ids is refused, and writes nothing.
        const again = await twl(['ticket', 'import', file, '--keep-ids', '--json'], { home: fresh, env });
        expect(again.exitCode).toBe(2);
        expect(envelope(again.stdout).error).toMatchObject({ code: 'TWL_IMPORT_INVALID', message: expect.stringMatching(/#1, #2, #3, #4 exist already/) });
        // Without --keep-ids: new numbers, every other field the same; and new tickets number after them.
        const renumbered = await twl(['ticket', 'import', file, '--json'], { home: fresh, env });
        expect(envelope(renumbered.stdout).result).toMatchObject({ imported: 4, firstId: 5, lastId: 8 });
        const all = await exportAll(fresh);
        expect(all.slice(4).map(({ id: _id, ...rest }) => rest)).toEqual(original.map(({ id: _id, ...rest }) => rest));
      } finally {
        done();
      }
    }
  }, 400_000);
});

describe('monitoring from the shell', () => {
  let home: string;
  let cleanup: () => void;
  const servers: Array<{ close(): void }> = [];
  const children: Array<ReturnType<typeof execa>> = [];
  beforeAll(() => ({ home, cleanup } = tempHome('twl-monitoring-')));
  afterAll(() => {
    for (const s of servers) s.close();
    for (const c of children) c.kill();
    cleanup();
  });

  it('does not count twl\'s own start-up as the latency of a fast service on the first round', async () => {
    const port = await freePort();
    const web = execa(process.execPath, [path.join(root, 'test/fixtures/web-service.mjs'), '--port', String(port), '--detach']);
    expect((await web).exitCode).toBe(0);
    const { home: h, cleanup: done } = tempHome('twl-latency-');
    try {
      // A fresh data directory: the first command starts the embedded store, which takes the CPU for a while.
      writeFileSync(path.join(h, '.twlrc.json'), JSON.stringify({ services: [{ name: 'web', kind: 'http', target: `http://127.0.0.1:${port}/health`, healthy: { latencyMs: 250 } }] }));
      const r = await twl(['monitoring', 'health', '--json'], { home: h, env });
      expect(r.exitCode, r.stdout).toBe(0);
      expect(envelope(r.stdout).result).toMatchObject({ status: 'ok', services: [{ name: 'web', status: 'ok' }] });
    } finally {
      done();
      await execa('pkill', ['-f', `web-service.mjs --port ${port}`], { reject: false });
    }
  });

  it('marks a check that found a service down ✖, not ✔', async () => {
    const port = await freePort();
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ services: [{ name: 'shopfront', kind: 'http', target: `http://127.0.0.1:${port}/`, keywords: ['shopfront'] }] }));
    await twl(['ticket', 'create', 'The shopfront is down'], { home, env });
    const r = await twl(['ticket', 'resolve', 'last'], { home, env });
    const shown = `${r.stdout}\n${r.stderr}`;
    expect(shown).toMatch(/✖ monitoring_health_check — service shopfront is down/); // the progress line
    expect(shown).toMatch(/✖ +check +monitoring_health_check .* service shopfront is down/); // the steps table
    expect(shown).not.toMatch(/✔.*shopfront is down/);
  });

  it('records a check stopped by Ctrl-C as cancelled, not as a service that is down', async () => {
    // A service that accepts connections and never answers.
    let connected!: () => void;
    const reached = new Promise<void>((r) => (connected = r));
    const hanging = http.createServer(() => connected());
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));
    servers.push({ close: () => (hanging.closeAllConnections(), hanging.close()) });
    const { port } = hanging.address() as net.AddressInfo;
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ services: [{ name: 'slowshop', kind: 'http', target: `http://127.0.0.1:${port}/`, timeout: '60s', keywords: ['slowshop'] }] }));
    const id = (envelope((await twl(['ticket', 'create', 'The slowshop hangs', '--json'], { home, env })).stdout).result as { id: number }).id;
    const child = twl(['ticket', 'resolve', String(id), '--json'], { home, env });
    await reached;
    child.kill('SIGINT');
    expect((await child).exitCode).toBe(130);
    const { timeline } = envelope((await twl(['ticket', 'show', String(id), '--json'], { home, env })).stdout).result as { timeline: Array<{ kind: string; step: string | null; status: string; decision: string }> };
    const check = timeline.find((e) => e.step === 'monitoring_health_check')!;
    expect(check).toMatchObject({ kind: 'check', status: 'cancelled' });
    expect(timeline.map((e) => e.decision).join('\n')).not.toMatch(/is down/);
  });

  it('--watch into a pipe appends reports without terminal codes', async () => {
    writeFileSync(path.join(home, '.twlrc.json'), '{}');
    const child = twl(['monitoring', 'health', '--watch', '--interval', '500ms'], { home, env });
    let out = '';
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if ((out.match(/overall:/g) ?? []).length >= 2) resolve();
      });
    });
    child.kill('SIGINT');
    await child;
    expect(out).not.toContain('\u001b');
    expect(out.match(/Ctrl-C to stop/g)!.length).toBeGreaterThanOrEqual(2);
  });

  it('ranks processes by the CPU they use now, not over their lifetime', async () => {
    // One process was busy and is now idle (a high lifetime average), one is busy now.
    const wasBusy = execa(process.execPath, ['-e', 'const t = Date.now(); while (Date.now() - t < 3000); console.log("idle"); setTimeout(() => {}, 120000)'], { reject: false });
    children.push(wasBusy);
    // Idle from the line on (its 3 s count from its own start, which a loaded machine delays).
    await new Promise<void>((resolve, reject) => {
      wasBusy.stdout!.on('data', (d: Buffer) => String(d).includes('idle') && resolve());
      void wasBusy.then((r) => reject(new Error(`the once-busy process exited first: ${r.stderr}`)));
    });
    const busy = execa(process.execPath, ['-e', 'for (;;);'], { reject: false });
    children.push(busy);
    const r = await twl(['monitoring', 'metrics', '--top', '100', '--json'], { home, env });
    expect(r.exitCode, r.stderr).toBe(0);
    const { processes } = envelope(r.stdout).result as { processes: Array<{ pid: number; cpuPercent: number }> };
    // On a shared machine the busy one gets what it gets; the idle one gets nothing.
    const now = processes.find((p) => p.pid === busy.pid)?.cpuPercent ?? 0;
    const before = processes.find((p) => p.pid === wasBusy.pid)?.cpuPercent ?? 0;
    expect(now).toBeGreaterThan(1);
    expect(before).toBeLessThan(Math.min(5, now));
  });
});

describe('config validate', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-validate-')));
  afterAll(() => cleanup());

  const validate = async (config: unknown) => {
    const file = path.join(home, '.twlrc.json');
    writeFileSync(file, JSON.stringify(config));
    const r = await twl(['config', 'validate', '--json'], { home, env });
    return { file, exitCode: r.exitCode, error: envelope(r.stdout).error as { code: string; message: string } | undefined };
  };
  const runbook = (tool: string, input: Record<string, unknown>) => ({ runbooks: [{ name: 'x', when: { keywords: ['cache'] }, steps: [{ tool, input }], resolution: 'done' }] });

  it('refuses a service target that does not fit its kind', async () => {
    const r = await validate({ services: [{ name: 'web', kind: 'http', target: 'not a url' }, { name: 'db', kind: 'tcp', target: 'db.internal' }, { name: 'unit', kind: 'systemd', target: '--help' }] });
    expect(r.exitCode).toBe(3);
    expect(r.error).toMatchObject({ code: 'TWL_CONFIG_INVALID' });
    expect(r.error!.message).toContain(r.file);
    expect(r.error!.message).toMatch(/services\.0\.target: expected an http:\/\/ or https:\/\/ URL for an http service, got "not a url"/);
    expect(r.error!.message).toMatch(/services\.1\.target: expected host:port for a tcp service/);
    expect(r.error!.message).toMatch(/services\.2\.target: expected a systemd unit name/);
  });

  it('refuses a runbook step naming a tool twl does not have, with the closest one', async () => {
    const r = await validate(runbook('cache_cache_gett', { kee: 'x' }));
    expect(r.exitCode).toBe(3);
    expect(r.error!.message).toContain(r.file);
    expect(r.error!.message).toMatch(/runbooks\.0\.steps\.0\.tool: unknown tool "cache_cache_gett"; did you mean cache_cache_get\?/);
  });

  it('refuses a runbook step input that its tool does not accept', async () => {
    const r = await validate(runbook('cache_cache_get', { kee: 'x' }));
    expect(r.exitCode).toBe(3);
    expect(r.error!.message).toMatch(/runbooks\.0\.steps\.0\.input\.kee: cache_cache_get takes no "kee"; did you mean key\?/);
    expect(r.error!.message).toMatch(/runbooks\.0\.steps\.0\.input\.key: /);
    const wrongType = await validate(runbook('database_execute_query', { sql: 42 }));
    expect(wrongType.error!.message).toMatch(/runbooks\.0\.steps\.0\.input\.sql: .*string/i);
    const ok = await validate({ ...runbook('cache_cache_get', { key: 'x' }), services: [{ name: 'web', kind: 'http', target: 'http://127.0.0.1:8080/health' }, { name: 'db', kind: 'tcp', target: '[::1]:5432' }] });
    expect(ok).toMatchObject({ exitCode: 0, error: undefined });
  });
});

describe('mcp config', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-mcpconfig-')));
  afterAll(() => cleanup());

  it('writes only JSON to stdout, with the caller\'s TWL_HOME and TWL_CONFIG', async () => {
    const config = path.join(home, 'ops', 'twl.yaml');
    const r = await twl(['mcp', 'config', '--client', 'claude'], { home, env: { TWL_CONFIG: config } });
    expect(r.exitCode, r.stderr).toBe(0);
    const snippet = JSON.parse(r.stdout) as { mcpServers: { twl: { command: string; args: string[]; env: Record<string, string> } } };
    expect(snippet.mcpServers.twl.env).toEqual({ TWL_HOME: home, TWL_CONFIG: config });
    expect(snippet.mcpServers.twl.args.slice(-2)).toEqual(['serve', '--stdio']);
    expect(r.stderr).toMatch(/\.mcp\.json/);
    const vscode = JSON.parse((await twl(['mcp', 'config', '--client', 'vscode'], { home, env: { TWL_CONFIG: 'twl.yaml' } })).stdout) as { servers: { twl: { env: Record<string, string> } } };
    expect(vscode.servers.twl.env.TWL_CONFIG).toBe(path.join(home, 'twl.yaml')); // relative to where it was run
  });
});
