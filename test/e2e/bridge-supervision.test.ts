// `twl bridge` supervising its upstream, with real processes: a child killed with 32 calls in
// flight, a child that exits at once on every start (crash-loop), a child that hangs (timeouts,
// then the breaker), 1,000 downstream sessions abandoned in isolated sharing, and the bridge itself
// killed. Upstream processes are counted by a marker in their command line (see bridge-helpers).
// No timing is asserted: waits are bounded polls.
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isRunning, tempHome } from '../helpers.js';
import { eventually, fixtureServer, marker, processesWith, request, restCall, startBridge, tinyServer } from './bridge-helpers.js';

type Bridge = Awaited<ReturnType<typeof startBridge>>;
const running: Array<{ bridge: Bridge; cleanup: () => void }> = [];
afterEach(async () => {
  for (const { bridge, cleanup } of running.splice(0)) {
    bridge.child.kill('SIGTERM');
    await bridge.child;
    cleanup();
  }
});

/** A bridge of the upstream `entry` (an `upstreams:` entry) in a fresh keyless data directory. */
async function bridgeOf(entry: Record<string, unknown>, http: Record<string, unknown> = {}, args: string[] = []) {
  const { home, cleanup } = tempHome('twl-bridge-sup-');
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none', ...http }, upstreams: [{ approval: 'never', ...entry }] }));
  const bridge = await startBridge(home, ['--upstream', String(entry.name), ...args]);
  running.push({ bridge, cleanup });
  return { bridge, home };
}

const status = async (base: string) => (await request(`${base}/mcp/status`, { method: 'GET' })).body as { bridge: { status: string; upstream: { state: string; breaker: string; reason?: string } }; queue: { processing: number }; sessions: Record<string, unknown> };

describe('twl bridge supervises its upstream', () => {
  it('a child SIGKILLed with 32 calls in flight fails every one of them with an error naming the upstream; the next call is served by a new child', async () => {
    const mark = marker();
    const hangFile = path.join(path.dirname(mark.file), 'hang');
    writeFileSync(hangFile, '');
    const { bridge } = await bridgeOf({ name: 'fx', transport: 'stdio', command: process.execPath, args: ['--require', mark.file, fixtureServer], env: { HANG_FILE: hangFile }, timeout: '120s', retries: 0 });
    const [first] = await eventually(() => processesWith(mark.file, [bridge.child.pid]), 'the upstream child started');
    // 32 calls that hang in the child (a write, so none is shared or retried).
    const calls = Array.from({ length: 32 }, () => restCall(bridge.url, 'maybe_hang'));
    await eventually(async () => (await status(bridge.url)).queue.processing === 32, '32 calls in flight at the upstream');
    process.kill(first!, 'SIGKILL');
    const answers = await Promise.all(calls);
    for (const a of answers) {
      expect(a.status).toBe(503);
      expect((a.body.error as { code: string; message: string }).code).toBe('TWL_UPSTREAM_UNAVAILABLE');
      expect((a.body.error as { message: string }).message).toMatch(/upstream fx/);
    }
    rmSync(hangFile);
    const next = await eventually(async () => {
      const r = await restCall(bridge.url, 'read', { key: 'after' });
      return r.status === 200 ? r : undefined;
    }, 'a call after the respawn succeeded');
    expect(JSON.stringify(next!.body.content)).toContain('after');
    const [second] = processesWith(mark.file, [bridge.child.pid]);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    expect((await status(bridge.url)).bridge.upstream.state).toBe('ready');
  });

  it('a child that exits at once on every start reaches crash-loop: calls fail fast saying so, /health says down with the reason', async () => {
    const mark = marker();
    const { bridge } = await bridgeOf({ name: 'crashy', transport: 'stdio', command: process.execPath, args: ['--require', mark.file, fixtureServer], env: { FIXTURE_MODE: 'exit-at-once' }, restart: { maxRestarts: 3, window: '60s', backoff: '50ms', crashLoopFor: '60s' } });
    await eventually(async () => {
      await restCall(bridge.url, 'read', { key: 'x' });
      return (await status(bridge.url)).bridge.upstream.state === 'crash-loop';
    }, 'the upstream reached crash-loop');
    const call = await restCall(bridge.url, 'read', { key: 'x' });
    expect(call.status).toBe(503);
    expect((call.body.error as { code: string }).code).toBe('TWL_UPSTREAM_CRASH_LOOP');
    expect((call.body.error as { message: string }).message).toMatch(/crash/i);
    const s = await status(bridge.url);
    expect(s.bridge.status).toBe('down');
    expect(s.bridge.upstream.reason).toBeTruthy();
    const health = await request(`${bridge.url}/health`, { method: 'GET' });
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'down', dependencies: { upstream: { status: 'down', state: 'crash-loop' } } });
    // Nothing of it keeps running.
    expect(processesWith(mark.file, [bridge.child.pid])).toEqual([]);
  });

  it('an upstream that hangs: calls time out, the breaker opens (in /metrics and /mcp/status), and closes again once it answers', async () => {
    const mark = marker();
    const hangFile = path.join(path.dirname(mark.file), 'hang');
    writeFileSync(hangFile, '');
    const { bridge } = await bridgeOf({ name: 'hang', transport: 'stdio', command: process.execPath, args: ['--require', mark.file, fixtureServer], env: { HANG_FILE: hangFile }, timeout: '500ms', retries: 0, breaker: { failures: 3, halfOpenAfter: '1s' } });
    for (let i = 0; i < 3; i++) {
      const r = await restCall(bridge.url, 'maybe_hang');
      expect(r.status).toBe(504);
      expect((r.body.error as { code: string }).code).toBe('TWL_UPSTREAM_TIMEOUT');
    }
    const refused = await restCall(bridge.url, 'maybe_hang');
    expect((refused.body.error as { code: string }).code).toBe('TWL_UPSTREAM_BREAKER_OPEN');
    expect((await status(bridge.url)).bridge.upstream.breaker).toBe('open');
    const metrics = async () => (await fetch(`${bridge.url}/metrics`)).text();
    expect(await metrics()).toMatch(/upstream_breaker_state\{upstream="hang",state="open"\} 1/);
    expect((await request(`${bridge.url}/health`, { method: 'GET' })).status).toBe(503);
    // It answers again: after halfOpenAfter one trial call goes through, and the breaker closes.
    rmSync(hangFile);
    await eventually(async () => (await restCall(bridge.url, 'maybe_hang')).status === 200, 'a call succeeded once the upstream answered');
    expect((await status(bridge.url)).bridge.upstream.breaker).toBe('closed');
    expect(await metrics()).toMatch(/upstream_breaker_state\{upstream="hang",state="closed"\} 1/);
  });
});

describe('twl bridge leaves no upstream process behind', () => {
  it('1,000 downstream sessions opened and abandoned without DELETE (isolated sharing): the idle reaper ends every child', { timeout: 600_000 }, async () => {
    const mark = marker();
    // Sessions expire after 10 s without a request: short, so the test does not wait long for the
    // last ones, but not 1 s, which a loaded machine can spend between one session's initialize and its call.
    const { bridge } = await bridgeOf({ name: 'tiny', transport: 'stdio', command: process.execPath, args: ['--require', mark.file, tinyServer], sharing: 'isolated', pool: { min: 0, max: 8 } }, { timeouts: { sessionIdle: 10 } });
    const url = `${bridge.url}/mcp`;
    const headers = { accept: 'application/json, text/event-stream' };
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, processesWith(mark.file, [bridge.child.pid]).length)), 100);
    const sessions = new Set<string>();
    const open = async (i: number) => {
      const init = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: `abandoner-${i}`, version: '1' } } }) });
      const id = init.headers.get('mcp-session-id');
      await init.text();
      expect(id).toBeTruthy();
      sessions.add(id!);
      const session = { ...headers, 'content-type': 'application/json', 'mcp-session-id': id!, 'mcp-protocol-version': '2025-06-18' };
      await (await fetch(url, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).text();
      // One call each: in isolated sharing, the session's own child answers it.
      const call = await request(url, { headers: session, body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hello', arguments: {} } } });
      expect(JSON.stringify(call.body)).toMatch(/hello from \d+/);
    };
    try {
      let next = 0;
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (next < 1000) await open(next++);
      }));
      expect(sessions.size).toBe(1000);
      // No DELETE: the sessions are left to expire (http.timeouts.sessionIdle), and their children with them.
      await eventually(() => processesWith(mark.file, [bridge.child.pid]).length === 0, 'every upstream child ended', 60_000);
      await eventually(async () => ((await status(bridge.url)).sessions as { active: number }).active === 0, 'every session expired');
    } finally {
      clearInterval(sampler);
    }
    // At most pool.max children at once (plus the ones being stopped to make room), never one per session.
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(16);
  });

  it('isolated sharing: a 2025 session has its own child, and DELETE of the session ends it', async () => {
    const mark = marker();
    const { bridge } = await bridgeOf({ name: 'tiny', transport: 'stdio', command: process.execPath, args: ['--require', mark.file, tinyServer], sharing: 'isolated' });
    const url = `${bridge.url}/mcp`;
    const open = async () => {
      const init = await fetch(url, { method: 'POST', headers: { accept: 'application/json, text/event-stream', 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'one', version: '1' } } }) });
      await init.text();
      const headers = { accept: 'application/json, text/event-stream', 'mcp-session-id': init.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
      const call = await request(url, { headers, body: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'hello', arguments: {} } } });
      return { headers, pid: Number(/hello from (\d+)/.exec(JSON.stringify(call.body))?.[1]) };
    };
    const a = await open();
    const b = await open();
    expect(a.pid).not.toBe(b.pid);
    expect(processesWith(mark.file, [bridge.child.pid]).sort()).toEqual([a.pid, b.pid].sort());
    expect((await fetch(url, { method: 'DELETE', headers: a.headers })).status).toBe(200);
    await eventually(() => !isRunning(a.pid), 'the deleted session\'s child ended');
    expect(isRunning(b.pid)).toBe(true);
  });

  it('SIGKILL of twl bridge itself: every upstream child and what it started end too', async () => {
    const mark = marker();
    const { home, cleanup } = tempHome('twl-bridge-kill-');
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    const bridge = await startBridge(home, ['--sharing', 'isolated', '--env', 'FIXTURE_MODE=grandchild', '--', ...mark.node, fixtureServer]);
    try {
      const started: number[] = [];
      for (const session of ['a', 'b', 'c']) {
        const r = await restCall(bridge.url, 'pid', {}, { 'x-session-id': session });
        expect(r.status).toBe(200);
        const { pid, grandchild } = JSON.parse((r.body.content as Array<{ text: string }>)[0]!.text) as { pid: number; grandchild: number };
        started.push(pid, grandchild);
      }
      expect(new Set(started).size).toBe(6);
      expect(processesWith(mark.file, [bridge.child.pid])).toHaveLength(3);
      bridge.child.kill('SIGKILL');
      await bridge.child;
      await eventually(() => started.every((pid) => !isRunning(pid)), 'every child and grandchild ended');
      expect(processesWith(mark.file)).toEqual([]);
    } finally {
      cleanup();
    }
  });
});
