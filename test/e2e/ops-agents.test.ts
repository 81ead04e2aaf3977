import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, freePort, root, tempHome, twl } from '../helpers.js';

describe('a web service goes down, and the 502 ticket gets it restarted', () => {
  /** A configuration file with the suite's settings plus `extra`, for one command. */
  const writeConfig = (extra: Record<string, unknown>) => {
    const base = JSON.parse(readFileSync(path.join(home, '.twlrc.json'), 'utf8'));
    const file = path.join(home, `extra-${Object.keys(extra).join('-')}.json`);
    writeFileSync(file, JSON.stringify({ ...base, ...extra }));
    return file;
  };
  let home: string;
  let cleanup: () => void;
  let port: number;
  let pidFile: string;
  const fixture = path.join(root, 'test/fixtures/web-service.mjs');
  const stop = () => {
    if (!existsSync(pidFile)) return;
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      // already stopped
    }
  };

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-agents-'));
    port = await freePort();
    pidFile = path.join(home, 'web.pid');
    const restart = [process.execPath, fixture, '--port', String(port), '--pid', pidFile, '--detach'];
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        services: [{ name: 'web', kind: 'http', target: `http://127.0.0.1:${port}/health`, keywords: ['site web', 'website'], actions: { restart } }],
        commander: {
          cwd: [home],
          rules: [{ program: process.execPath, args: `^${fixture.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} --port \\d+ --pid \\S+ --detach$`, decision: 'allow', reason: 'restart the web service' }],
        },
      }),
    );
    execFileSync(restart[0]!, restart.slice(1));
  });
  afterAll(() => {
    stop();
    cleanup();
  });

  it('reports it healthy, then down with exit code 6 (unavailable)', async () => {
    const ok = await twl(['monitoring', 'health', '--json'], { home });
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(envelope(ok.stdout).result).toMatchObject({ status: 'ok', services: [{ name: 'web', status: 'ok', detail: 'HTTP 200' }] });
    stop();
    await sleep(300);
    const down = await twl(['monitoring', 'health', '--json'], { home });
    expect(down.exitCode).toBe(6); // unavailable: 2 is bad input for every command
    expect(envelope(down.stdout).result).toMatchObject({ status: 'down', services: [{ name: 'web', status: 'down', detail: expect.stringMatching(/ECONNREFUSED|fetch failed/) }] });
  });

  it('resolves the ticket: finds it down, restarts it through the commander, confirms with the browser', async () => {
    const created = envelope((await twl(['ticket', 'create', 'Le site web renvoie une erreur 502 depuis ce matin', '--json'], { home })).stdout).result as { id: number };
    const r = await twl(['ticket', 'resolve', String(created.id), '--yes', '--json'], { home });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const result = envelope(r.stdout).result as { outcome: string; summary: string; steps: Array<{ tool: string; kind: string; status: string; finding: string | null }> };
    expect(result.outcome).toBe('resolved');
    expect(result.summary).toMatch(/Restarted web through the commander/);
    const tools = result.steps.map((s) => `${s.kind}:${s.tool}:${s.finding ? 'fault' : s.status}`);
    expect(tools[0]).toBe('check:monitoring_health_check:fault');
    expect(tools).toContain('fix:real-desktop-commander_execute_command:ok');
    expect(tools).toContain('check:browser_browse:ok');

    const shown = envelope((await twl(['ticket', 'show', String(created.id), '--json'], { home })).stdout).result as { ticket: { status: string }; timeline: Array<{ kind: string; step: string | null; durationMs: number | null }> };
    expect(shown.ticket.status).toBe('resolved');
    const kinds = shown.timeline.map((e) => `${e.kind}:${e.step ?? ''}`);
    expect(kinds).toEqual(expect.arrayContaining(['check:monitoring_health_check', 'fix:real-desktop-commander_execute_command', 'check:browser_browse', 'resolution:']));

    const audit = envelope((await twl(['audit', 'list', '--ticket', String(created.id), '--json'], { home })).stdout).result as { entries: Array<{ program: string; outcome: string; decision: string; rule: string; exitCode: number }> };
    expect(audit.entries).toMatchObject([{ program: process.execPath, outcome: 'ran', decision: 'allow', rule: 'commander.rules[0]', exitCode: 0 }]);
    expect(envelope((await twl(['monitoring', 'health', '--json'], { home })).stdout).result).toMatchObject({ status: 'ok' });
  });

  it('browses with timings, redirects and readable text, within the host policy', async () => {
    const r = await twl(['browse', `http://127.0.0.1:${port}/moved`, '--json'], { home });
    const b = envelope(r.stdout).result as { status: number; redirects: Array<{ status: number }>; timings: { totalMs: number; firstByteMs: number }; title: string; text: string };
    expect(b).toMatchObject({ status: 200, redirects: [{ status: 302 }], title: 'Shop' });
    expect(b.text).toMatch(/checkout answers normally/);
    expect(b.timings.firstByteMs).toBeGreaterThan(0);
  });

  it('takes a screenshot with the system Chromium, and says clearly when none is configured', async () => {
    const png = path.join(home, 'shop.png');
    const noChromium = await twl(['browse', `http://127.0.0.1:${port}/health`, '--screenshot', png, '--json'], { home });
    expect(noChromium.exitCode).toBe(6);
    expect(envelope(noChromium.stdout).error).toMatchObject({ code: 'TWL_TOOL_MISSING', actions: [expect.stringMatching(/browser.chromium/)] });
    const r = await twl(['browse', `http://127.0.0.1:${port}/health`, '--screenshot', png, '--json'], { home, env: { TWL_CONFIG: writeConfig({ browser: { chromium: '/usr/bin/chromium' } }) }, timeout: 90_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(envelope(r.stdout).result).toMatchObject({ screenshot: { file: png, width: 1280, height: 800 } });
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });

  it('records op calls from every process in the store', async () => {
    const r = await twl(['db', 'query', "select count(*)::int as n, count(distinct tool)::int as tools from twl_op_calls where tool = 'monitoring_health_check'", '--json'], { home });
    expect((envelope(r.stdout).result as { rows: Array<{ n: number }> }).rows[0]!.n).toBeGreaterThan(0);
  });

  it('refuses a host outside the browse policy, and a missing Docker engine is named', async () => {
    const { home: h, cleanup: done } = tempHome('twl-deny-');
    try {
      writeFileSync(path.join(h, '.twlrc.json'), JSON.stringify({ browser: { deny: ['127.0.0.*'] }, docker: { socket: path.join(h, 'no-docker.sock') } }));
      const refused = await twl(['browse', `http://127.0.0.1:${port}/`, '--json'], { home: h });
      expect(refused.exitCode).toBe(4);
      expect(envelope(refused.stdout).error).toMatchObject({ code: 'TWL_BROWSE_REFUSED', message: expect.stringMatching(/matches browser.deny "127.0.0.\*"/) });
      const docker = await twl(['monitoring', 'containers', '--json'], { home: h });
      expect(docker.exitCode).toBe(6);
      expect(envelope(docker.stdout).error).toMatchObject({ code: 'TWL_DOCKER_UNAVAILABLE', message: expect.stringContaining(path.join(h, 'no-docker.sock')) });
    } finally {
      done();
    }
  });
});
