import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { POSTGRES_URL, bin as builtBin, envelope, hasPostgres, tempHome, twl } from '../helpers.js';
import { Tmux, exitStatus, hasTmux, shellQuote } from '../tmux.js';

// The built binary (TWL_E2E_BIN runs the test against another build of it).
const bin = process.env.TWL_E2E_BIN ?? builtBin;

let tmux: Tmux | undefined;
let done: (() => void) | undefined;
afterEach(() => {
  tmux?.kill();
  done?.();
});

const backends = [
  { name: 'embedded store', available: true, env: {} as Record<string, string> },
  { name: 'PostgreSQL', available: hasPostgres, env: { TWL_DATABASE_URL: POSTGRES_URL } as Record<string, string> },
];

describe.skipIf(!hasTmux)('twl dash in a terminal', () => {
  for (const backend of backends) {
    it.skipIf(!backend.available)(`shows a ticket created by another process, and q restores the terminal (${backend.name})`, async () => {
      const t = tempHome('twl-dash-e2e-');
      done = t.cleanup;
      const { home } = t;
      tmux = new Tmux();
      const env: Record<string, string> = { TWL_HOME: home, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_DATA_HOME: path.join(home, '.data'), TERM: 'xterm-256color', NO_COLOR: '1', PATH: process.env.PATH ?? '', ...backend.env };
      const assignments = Object.entries(env).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
      // The shell records the dashboard's exit status in a file: tmux's own pane status is not always set in time.
      const statusFile = path.join(home, 'dash.status');
      tmux.start(`cd ${shellQuote(home)} && env -i ${assignments} ${shellQuote(process.execPath)} ${shellQuote(bin)} dash; echo $? > ${shellQuote(statusFile)}`);

      // Every panel is there once the first data came in. The bounds are for a dashboard that never
      // gets there: on the embedded store, the store host it starts first creates a new store, which
      // takes tens of seconds on a loaded machine.
      const first = await tmux.waitFor((p) => /Tickets/.test(p) && /Events/.test(p) && /Health/.test(p) && /Agents/.test(p) && /Activity/.test(p) && /\d\d:\d\d:\d\d/.test(p.split('\n')[0] ?? ''), 120_000);
      expect(first).toMatch(/twl dash · (embedded store|PostgreSQL) at /);

      // Another process creates a ticket (through the dashboard's store host on the embedded store).
      // Short: on a shared PostgreSQL it may only be in the event log, whose lines are cut to the panel.
      const title = `Fire ${Math.random().toString(36).slice(2, 7)}`;
      const created = await twl(['ticket', 'create', title, '--json'], { home, env: backend.env });
      expect(created.exitCode, created.stderr).toBe(0);
      const id = (envelope(created.stdout).result as { id: number }).id;
      const pane = await tmux.waitFor((p) => p.includes(title), 60_000);
      expect(pane).toContain(`#${id}`);

      tmux.run('send-keys', '-t', 'dash', 'q');
      expect(await exitStatus(statusFile)).toBe('0');
      // The alternate screen is gone: the pane is back to what it was (empty), not a frozen dashboard.
      expect(tmux.pane()).not.toContain('Tickets');
    }, 300_000);
  }

  it('prints one snapshot and exits 0 when stdout is not a terminal', async () => {
    const t = tempHome('twl-dash-pipe-');
    done = t.cleanup;
    await twl(['ticket', 'create', 'Disk full on srv-02'], { home: t.home });
    const r = await twl(['dash'], { home: t.home });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^twl dash — embedded store at /);
    expect(r.stdout).toContain('Disk full on srv-02');
    const json = await twl(['dash', '--json'], { home: t.home });
    expect(envelope(json.stdout).result).toMatchObject({ tickets: { open: 1, total: 1 }, errors: {} });
    // --key belongs to --url; --url without a key says where to get one.
    const keyOnly = await twl(['dash', '--key', 'k'], { home: t.home });
    expect(keyOnly.exitCode).toBe(2);
    expect(keyOnly.stderr).toMatch(/--key goes with --url/);
    const noKey = await twl(['dash', '--url', 'http://127.0.0.1:30080'], { home: t.home });
    expect(noKey.exitCode).toBe(4);
    expect(noKey.stderr).toMatch(/twl keys create --role viewer/);
  });
});
