import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, tempHome, twl } from '../helpers.js';
import { marker, processesWith, tinyServer } from './bridge-helpers.js';

/**
 * Every TCP listener the CLI opens (`twl serve --http`, `twl bridge`, `twl worker --metrics`), on a
 * port a real socket of the test already holds, or an address it cannot bind: a TwlError naming the
 * address, the cause and what to run (exit 2), no Node error or stack, nothing left running.
 */

/** Processes (other than this test's) started with TWL_HOME or HOME home: a store host, an upstream child, a reaper. */
function processesOf(home: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const env = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (env.includes(`TWL_HOME=${home}`) || env.includes(`HOME=${home}`)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read, or not ours to read.
    }
  }
  return pids;
}

/** The raw Node failure this replaces. */
const expectNoRawError = (stderr: string) => {
  expect(stderr).not.toMatch(/Error \(E[A-Z]+\)|listen EADDR|\n\s+at /);
  expect(stderr).toMatch(/^Error \(TWL_INPUT_INVALID\): /m);
};

describe('a listener that cannot bind fails with a twl error, and leaves nothing behind', () => {
  let home: string;
  let cleanup: () => void;
  let holder: net.Server;
  let port: number;
  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-listen-errors-'));
    holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    port = (holder.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    holder?.close();
    cleanup?.();
  });

  it('twl serve --http on a port in use: exit 2, the address, the cause, who holds it; stdout clean beside --stdio', async () => {
    const r = await twl(['serve', '--http', '--stdio', '--port', String(port)], { home, input: '' });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`127.0.0.1:${port} (--host 127.0.0.1 --port ${port}): the port is in use by another process.`);
    expect(r.stderr).toContain(`ss -ltnp 'sport = :${port}'`);
    expect(r.stderr).toContain('--host 127.0.0.1 --port 0');
    expect(r.stderr).not.toContain('twl serves MCP');
    expectNoRawError(r.stderr);
    // stdout belongs to the MCP protocol: the error is not written there.
    expect(r.stdout).toBe('');
    expect(processesOf(home)).toEqual([]);
    // The store it hosted was let go: the next command opens it.
    const next = await twl(['keys', 'list', '--json'], { home });
    expect(next.exitCode, next.stderr).toBe(0);
  });

  it('twl serve --http on an address not of this machine, or a host that does not resolve', async () => {
    // TEST-NET-1 (RFC 5737): no machine has it.
    const foreign = await twl(['serve', '--http', '--host', '192.0.2.1', '--port', '0'], { home });
    expect(foreign.exitCode, foreign.stderr).toBe(2);
    expect(foreign.stderr).toContain('192.0.2.1:0 (--host 192.0.2.1 --port 0): 192.0.2.1 is not an address of this machine.');
    expectNoRawError(foreign.stderr);
    // .invalid never resolves (RFC 2606).
    const unknown = await twl(['serve', '--http', '--host', 'nowhere.invalid', '--port', '0'], { home });
    expect(unknown.exitCode, unknown.stderr).toBe(2);
    expect(unknown.stderr).toContain('"nowhere.invalid" is not an address, and does not resolve to one.');
    expectNoRawError(unknown.stderr);
    expect(processesOf(home)).toEqual([]);
  });

  it('twl bridge on a port in use: exit 2 before it starts its upstream at all', async () => {
    const mark = marker();
    // The upstream, were it started, would leave this file behind as its first act.
    const started = `${mark.file}.started`;
    writeFileSync(mark.file, `require('node:fs').writeFileSync(${JSON.stringify(started)}, String(process.pid));\n`);
    const r = await twl(['bridge', '--port', String(port), '--', ...mark.node, tinyServer], { home, timeout: 90_000 });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toContain(`127.0.0.1:${port} (--host 127.0.0.1 --port ${port}): the port is in use by another process.`);
    expect(r.stderr).toContain(`ss -ltnp 'sport = :${port}'`);
    expect(r.stderr).not.toContain('twl bridge serves MCP');
    expectNoRawError(r.stderr);
    expect(existsSync(started), 'the upstream was started although the port could not be bound').toBe(false);
    expect(processesWith(mark.file)).toEqual([]);
    expect(processesOf(home)).toEqual([]);
  });

  it('twl worker --metrics on a port in use, with --json: the envelope holds the error and its actions', async () => {
    const r = await twl(['worker', '--metrics', String(port), '--json'], { home });
    expect(r.exitCode, r.stderr).toBe(2);
    const body = envelope(r.stdout);
    expect(body.status).toBe(2);
    expect(body.error).toMatchObject({ code: 'TWL_INPUT_INVALID', exitCode: 2, message: `--metrics 127.0.0.1:${port}: the port is in use by another process.` });
    expect(body.error!.actions).toEqual([expect.stringContaining(`ss -ltnp 'sport = :${port}'`), expect.stringContaining(`--metrics 127.0.0.1:0`)]);
    expect(processesOf(home)).toEqual([]);
  });
});
