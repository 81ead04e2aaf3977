import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, startHttpServe, tempHome, twl } from '../helpers.js';
import { exitStatus } from '../tmux.js';

/** `twl dash --url … --key …` against a real `twl serve --http` in a temporary home. */
describe('twl dash --url (a remote twl serve --http)', () => {
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let base: string;
  let viewer: string;
  let operator: string;
  // The dashboard runs in a home of its own: everything it shows comes over HTTP.
  const client = tempHome('twl-dash-client-');
  const key = async (role: string) => (envelope((await twl(['keys', 'create', '--role', role, '--name', `dash ${role}`, '--json'], { home })).stdout).result as { key: string }).key;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-dash-http-'));
    viewer = await key('viewer');
    operator = await key('operator');
    ({ child, url: base } = await startHttpServe(home));
  });
  afterAll(async () => {
    child.kill('SIGTERM');
    await child;
    cleanup();
    client.cleanup();
  });

  it('prints a snapshot of the remote tickets, health and agents with a viewer key (--json and text)', async () => {
    const created = await twl(['ticket', 'create', 'Disk full on srv-http', '--json'], { home });
    expect(created.exitCode, created.stderr).toBe(0);
    const id = (envelope(created.stdout).result as { id: number }).id;

    const json = await twl(['dash', '--url', base, '--key', viewer, '--json'], { home: client.home });
    expect(json.exitCode, json.stderr).toBe(0);
    const snap = envelope(json.stdout).result as {
      source: string;
      tickets: { open: number; total: number; top: Array<{ id: number; title: string }> };
      health: { dependencies: Array<{ name: string }> } | null;
      agents: { agents: Array<{ name: string }> } | null;
      metrics: unknown;
      events: Array<{ ticketId: number; kind: string }>;
      errors: Record<string, string>;
    };
    expect(snap.source).toBe(`twl serve --http at ${base}`);
    expect(snap.tickets).toMatchObject({ open: 1, total: 1 });
    expect(snap.tickets.top).toEqual([expect.objectContaining({ id, title: 'Disk full on srv-http' })]);
    expect(snap.health?.dependencies.map((d) => d.name)).toContain('twl-store');
    expect(snap.agents?.agents.map((a) => a.name)).toContain('tickets');
    expect(snap.events).toEqual([expect.objectContaining({ ticketId: id })]);
    // The activity comes from dash_get_activity: served once a command carries the op.
    const tools = ((await (await fetch(`${base}/api/tools`, { headers: { authorization: `Bearer ${viewer}` } })).json()) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    if (tools.includes('dash_get_activity')) {
      expect(snap.errors).toEqual({});
      expect(snap.metrics).toMatchObject({ windowMinutes: 15 });
    } else {
      expect(Object.keys(snap.errors)).toEqual(['metrics']);
      expect(snap.errors.metrics).toMatch(/has no dash_get_activity/);
    }

    // The key from the environment, text for pipes; the key itself is never printed.
    const text = await twl(['dash', '--url', base], { home: client.home, env: { TWL_DASH_KEY: viewer } });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^twl dash — twl serve --http at ${base.replace(/[.]/g, '\\.')} — `));
    expect(text.stdout).toContain('Disk full on srv-http');
    expect(text.stdout + text.stderr + json.stdout + json.stderr).not.toContain(viewer);
  });

  it('fails clearly on a bad key and on an unreachable URL, without printing the key', async () => {
    const wrong = `twl_${'x'.repeat(43)}`;
    const bad = await twl(['dash', '--url', base, '--key', wrong], { home: client.home });
    expect(bad.exitCode).toBe(4);
    expect(bad.stderr).toMatch(/refused the API key \(401\)/);
    expect(bad.stderr).toMatch(/twl keys create --role viewer/);
    expect(bad.stderr + bad.stdout).not.toContain(wrong);
    const json = await twl(['dash', '--url', base, '--key', wrong, '--json'], { home: client.home });
    expect(envelope(json.stdout).error).toMatchObject({ code: 'TWL_AUTH_REQUIRED' });

    const away = await twl(['dash', '--url', 'http://127.0.0.1:9', '--key', viewer], { home: client.home });
    expect(away.exitCode).toBe(6);
    expect(away.stderr).toMatch(/Cannot reach twl serve --http at http:\/\/127\.0\.0\.1:9: nothing listens there/);
  });

  it.skipIf(!existsSync('/usr/bin/tmux'))('on a terminal: shows a ticket created elsewhere within seconds, refuses c to a viewer key with a message, and q quits', async () => {
    const socket = `twl-dash-http-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
    const pane = () => tmux('capture-pane', '-p', '-t', 'dash');
    const waitFor = async (what: (p: string) => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      let p = '';
      while (Date.now() < deadline) {
        p = pane();
        if (what(p)) return p;
        await sleep(50);
      }
      throw new Error(`not on screen within ${ms} ms:\n${p}`);
    };
    const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
    const statusFile = path.join(client.home, 'dash.status');
    const env = { HOME: client.home, TWL_HOME: client.home, TERM: 'xterm-256color', NO_COLOR: '1', PATH: process.env.PATH ?? '', TWL_DASH_KEY: viewer };
    const assignments = Object.entries(env).map(([k, v]) => `${k}=${q(v)}`).join(' ');
    tmux('new-session', '-d', '-s', 'dash', '-x', '140', '-y', '40', `env -i ${assignments} ${q(process.execPath)} ${q(bin)} dash --url ${q(base)}; echo $? > ${q(statusFile)}`);
    try {
      const first = await waitFor((p) => /Tickets/.test(p) && /Health/.test(p) && /Agents/.test(p) && /\d\d:\d\d:\d\d/.test(p.split('\n')[0] ?? ''), 30_000);
      expect(first).toContain(`twl serve --http at ${base}`);

      const title = `Remote ${Math.random().toString(36).slice(2, 7)}`;
      const created = await twl(['ticket', 'create', title, '--json'], { home });
      expect(created.exitCode, created.stderr).toBe(0);
      const shown = Date.now();
      await waitFor((p) => p.includes(title), 10_000);
      expect(Date.now() - shown).toBeLessThan(3000);

      // c with a viewer key: the server refuses (403) and the dashboard says so, still running.
      tmux('send-keys', '-t', 'dash', 'c');
      await waitFor((p) => p.includes('New ticket:'), 5000);
      tmux('send-keys', '-t', 'dash', '-l', 'Printer on fire');
      tmux('send-keys', '-t', 'dash', 'Enter');
      await waitFor((p) => /Could not create the ticket: .*403/.test(p.replace(/\n/g, ' ')), 10_000);

      tmux('send-keys', '-t', 'dash', 'q');
      expect(await exitStatus(statusFile)).toBe('0');
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // gone
      }
    }
    // An operator key may create (the viewer's refusal was the role, not the route).
    const ok = await fetch(`${base}/api/tools/tickets_create_ticket`, { method: 'POST', headers: { authorization: `Bearer ${operator}`, 'content-type': 'application/json' }, body: JSON.stringify({ text: 'From an operator', source: 'dash' }) });
    expect(ok.status).toBe(200);
  });
});
