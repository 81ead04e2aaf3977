import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TwlError } from '../../src/runtime/errors.js';
import { SecretBox, openUpstreams, upstreamConfigSchema, type UpstreamConfigInput, type UpstreamSet } from '../../src/upstream/index.js';
import { groupMembers, quietLogger, root, tempHome } from '../helpers.js';

/** Supervision of real child processes: the fixture server of test/fixtures/upstream-server.ts. */
const server = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const fixture = (extra: Partial<UpstreamConfigInput> = {}): UpstreamConfigInput => ({ name: 'fx', transport: 'stdio', command: process.execPath, args: [server], ...extra });
const { home, cleanup } = tempHome();
const opened: UpstreamSet[] = [];
const open = (entries: UpstreamConfigInput[], maxChildren?: number) => {
  const set = openUpstreams(
    entries.map((e) => upstreamConfigSchema.parse(e)),
    { logger: quietLogger(), secrets: new SecretBox({ home }), maxChildren },
  );
  opened.push(set);
  return set;
};
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  cleanup();
});

async function until<T>(probe: () => T | undefined | false, what: string, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A twl-side process holding upstream children (test/fixtures/upstream-host.ts), once it has printed their pids. */
async function startHost(env: Record<string, string>) {
  const host = execa(process.execPath, ['--import', 'tsx', path.join(root, 'test', 'fixtures', 'upstream-host.ts')], { env: { TWL_HOME: home, ...env }, cwd: root, buffer: false, reject: false });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    host.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    void host.then((r) => reject(new Error(`host ended: ${r.exitCode} ${String(r.stderr)}`)));
  });
  return { host, pids: (JSON.parse(line) as { pids: number[] }).pids };
}

const textOf = (r: { content: unknown[] }) => JSON.parse((r.content[0] as { text: string }).text) as Record<string, unknown>;

describe('upstream supervision (real processes)', () => {
  it('SIGKILL of the child with 32 calls in flight fails every one at once, naming the upstream; the next call succeeds after the respawn', async () => {
    const fx = open([fixture({ restart: { backoff: '50ms' }, retries: 0 })]).get('fx')!;
    await fx.listTools();
    const pid = fx.status().children[0]!.pid!;
    const calls = Array.from({ length: 32 }, (_, i) => fx.callTool('slow', { ms: 20_000 + i }, { timeoutMs: 25_000 }).then(() => undefined, (err: unknown) => ({ err: err as TwlError, at: Date.now() })));
    await until(() => fx.status().children[0]!.inFlight === 32, '32 calls in flight');
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const outcomes = await Promise.all(calls);
    for (const outcome of outcomes) {
      expect(outcome).toBeDefined();
      expect(outcome!.err).toBeInstanceOf(TwlError);
      expect(outcome!.err.code).toBe('TWL_UPSTREAM_UNAVAILABLE');
      expect(outcome!.err.message).toMatch(/^upstream fx: tools\/call slow failed: the upstream \(pid \d+\) was killed by SIGKILL/);
      // The acceptance bound: every in-flight call errors within 1 s of the kill (not at its 25 s timeout).
      expect(outcome!.at - killedAt).toBeLessThan(1000);
    }
    const next = await fx.callTool('pid', {});
    expect(textOf(next).pid).not.toBe(pid);
    expect(fx.status()).toMatchObject({ state: 'ready', restarts: 1 });
  });

  it('a child that exits at once on every start reaches crash-loop, and calls then fail fast saying so', async () => {
    const fx = open([fixture({ env: { FIXTURE_MODE: 'exit-at-once' }, restart: { maxRestarts: 2, backoff: '10ms', crashLoopFor: '60s' } })]).get('fx')!;
    await expect(fx.listTools()).rejects.toMatchObject({ code: 'TWL_UPSTREAM_UNAVAILABLE', message: expect.stringMatching(/^upstream fx failed to start: .*exited with code 3/) });
    await until(() => fx.status().state === 'crash-loop', 'crash-loop');
    const status = fx.status();
    expect(status.reason).toMatch(/exited with code 3/);
    expect(status.restarts).toBe(3);
    const started = Date.now();
    const err = (await fx.callTool('read', { key: 'a' }).catch((e: unknown) => e)) as TwlError;
    expect(err.code).toBe('TWL_UPSTREAM_CRASH_LOOP');
    expect(err.message).toMatch(/^upstream fx is in crash-loop/);
    expect(err.message).toMatch(/exited with code 3/);
    expect(Date.now() - started).toBeLessThan(1000); // refused, not spawned
  });

  it('crash-loop ends when its period passes: a fixed server is started again', async () => {
    const exitFile = path.join(home, 'exit-now');
    fs.writeFileSync(exitFile, '');
    const fx = open([fixture({ env: { FIXTURE_MODE: 'exit-if-file', EXIT_FILE: exitFile }, restart: { maxRestarts: 1, backoff: '10ms', crashLoopFor: '1s' } })]).get('fx')!;
    await fx.listTools().catch(() => {});
    await until(() => fx.status().state === 'crash-loop', 'crash-loop');
    fs.rmSync(exitFile);
    await expect(fx.callTool('read', { key: 'a' })).rejects.toMatchObject({ code: 'TWL_UPSTREAM_CRASH_LOOP' });
    await new Promise((r) => setTimeout(r, 1100));
    expect(textOf(await fx.callTool('read', { key: 'a' }))).toMatchObject({ key: 'a' });
    expect(fx.status().state).toBe('ready');
  });

  it('stop kills the whole process group (the server and what it started)', async () => {
    const set = open([fixture({ env: { FIXTURE_MODE: 'grandchild' } })]);
    const fx = set.get('fx')!;
    const { pid, grandchild } = textOf(await fx.callTool('pid', {})) as { pid: number; grandchild: number };
    expect(fx.status().children[0]!.pid).toBe(pid); // the server itself, not a launcher
    expect(groupMembers(pid).sort()).toEqual([pid, grandchild].sort());
    await set.close();
    expect(groupMembers(pid)).toEqual([]);
  });

  it('stop: a server and grandchild that ignore SIGTERM are SIGKILLed once the grace period has passed', async () => {
    const set = open([fixture({ env: { FIXTURE_MODE: 'stubborn' }, killGrace: '300ms' })]);
    const fx = set.get('fx')!;
    const { pid, grandchild } = textOf(await fx.callTool('pid', {})) as { pid: number; grandchild: number };
    expect(groupMembers(pid).sort()).toEqual([pid, grandchild].sort());
    // SIGTERM alone ends neither (the group is still whole a moment after it).
    process.kill(-pid, 'SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(groupMembers(pid).sort()).toEqual([pid, grandchild].sort());
    await set.close();
    expect(groupMembers(pid)).toEqual([]);
  });

  it('SIGKILL of twl itself leaves no upstream process behind (the watchdog reaps every group)', async () => {
    const { host, pids } = await startHost({ CHILDREN: '3' });
    expect(pids).toHaveLength(3);
    // Each child leads its own group, with its `sleep` grandchild: six processes.
    expect(pids.flatMap(groupMembers)).toHaveLength(6);
    host.kill('SIGKILL');
    await host;
    await until(() => pids.flatMap(groupMembers).length === 0, 'every upstream process gone');
  });

  it('SIGKILL of twl itself: children that ignore SIGTERM are SIGKILLed by the watchdog after the grace period', async () => {
    const { host, pids } = await startHost({ CHILDREN: '2', FIXTURE_MODE: 'stubborn' });
    expect(pids.flatMap(groupMembers)).toHaveLength(4);
    host.kill('SIGKILL');
    await host;
    await until(() => pids.flatMap(groupMembers).length === 0, 'every stubborn upstream process gone');
  });

  it('an idle child is reaped (health pings do not count as use) and started again on the next call', async () => {
    const fx = open([fixture({ idleTimeout: '600ms', healthInterval: '100ms' })]).get('fx')!;
    const first = textOf(await fx.callTool('pid', {})).pid as number;
    await until(() => fx.status().state === 'stopped', 'idle reaping');
    await until(() => groupMembers(first).length === 0, 'the idle child gone');
    const second = textOf(await fx.callTool('pid', {})).pid as number;
    expect(second).not.toBe(first);
    expect(fx.status().restarts).toBe(0); // reaping is not a crash
  });

  it('a child that stops answering the health ping is restarted', async () => {
    const fx = open([fixture({ healthInterval: '200ms', timeout: '500ms', restart: { backoff: '10ms' } })]).get('fx')!;
    const first = textOf(await fx.callTool('pid', {})).pid as number;
    process.kill(first, 'SIGSTOP');
    await until(() => fx.status().restarts === 1 && fx.status().state === 'ready', 'the restart after a failed ping');
    await until(() => groupMembers(first).length === 0, 'the hung child killed');
    expect(textOf(await fx.callTool('pid', {})).pid).not.toBe(first);
  });

  it('pool mode grows to max under load (least in flight first) and keeps min warm', async () => {
    const fx = open([fixture({ sharing: 'pool', pool: { min: 1, max: 3 } })]).get('fx')!;
    // Different arguments: identical read-only calls would share one upstream call (single flight).
    await Promise.all(Array.from({ length: 6 }, (_, i) => fx.callTool('slow', { ms: 300 + i })));
    const status = fx.status();
    expect(status.children).toHaveLength(3);
    expect(new Set(status.children.map((c) => c.pid)).size).toBe(3);
  });

  it('a command that does not exist is named at once', async () => {
    const fx = open([fixture({ command: 'no-such-program-twl-test', args: [], restart: { backoff: '10ms' } })]).get('fx')!;
    await expect(fx.listTools()).rejects.toMatchObject({ code: 'TWL_UPSTREAM_UNAVAILABLE', message: 'upstream fx failed to start: could not be started: no-such-program-twl-test was not found in PATH' });
  });

  it('the cap on children across upstreams refuses a start with a clear reason', async () => {
    const set = open([fixture({ name: 'one' }), fixture({ name: 'two' })], 1);
    await set.get('one')!.listTools();
    await expect(set.get('two')!.listTools()).rejects.toMatchObject({ code: 'TWL_UPSTREAM_UNAVAILABLE', message: expect.stringContaining('the cap on children across all upstreams is reached') });
  });

  it('isolated mode forwards the upstream\'s elicitation and sampling to the session\'s onRequest hook; shared mode does not offer them', async () => {
    const fx = open([fixture({ sharing: 'isolated' })]).get('fx')!;
    const asked: Array<{ method: string; params?: Record<string, unknown> }> = [];
    const onRequest = async ({ method, params }: { method: string; params?: Record<string, unknown> }) => {
      asked.push({ method, params });
      return method === 'elicitation/create' ? { action: 'accept', content: { approve: true } } : { role: 'assistant', content: { type: 'text', text: 'sampled' }, model: 'downstream-model' };
    };
    const result = textOf(await fx.callTool('ask', { question: 'Restart nginx?' }, { sessionKey: 's1', onRequest }));
    expect(result).toEqual({ answer: { action: 'accept', content: { approve: true } }, sample: { type: 'text', text: 'sampled' } });
    expect(asked.map((a) => a.method)).toEqual(['elicitation/create', 'sampling/createMessage']);
    expect(asked[0]!.params).toMatchObject({ message: 'Restart nginx?' });

    const shared = open([fixture({ name: 'sh' })]).get('sh')!;
    const refused = await shared.callTool('ask', { question: 'x' }, { onRequest });
    expect(refused.isError).toBe(true); // the server's own error: the client declared no elicitation
    expect(asked).toHaveLength(2);
  });

  it('isolated mode: one child per session, closeSession ends it', async () => {
    const fx = open([fixture({ sharing: 'isolated' })]).get('fx')!;
    const a = textOf(await fx.callTool('pid', {}, { sessionKey: 'a' })).pid as number;
    const b = textOf(await fx.callTool('pid', {}, { sessionKey: 'b' })).pid as number;
    expect(a).not.toBe(b);
    expect(textOf(await fx.callTool('pid', {}, { sessionKey: 'a' })).pid).toBe(a);
    await fx.closeSession('a');
    expect(groupMembers(a)).toEqual([]);
    expect(fx.status().children.map((c) => c.sessionKey)).not.toContain('a');
  });
});
