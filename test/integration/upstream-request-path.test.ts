import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { registry } from '../../src/runtime/metrics.js';
import type { Cache } from '../../src/runtime/cache.js';
import type { TwlError } from '../../src/runtime/errors.js';
import { SecretBox, openUpstreams, upstreamConfigSchema, type Upstream, type UpstreamConfigInput, type UpstreamSet } from '../../src/upstream/index.js';
import { quietLogger, root, tempHome, waitFor } from '../helpers.js';
import { cacheBackends, unique } from './backends.js';

/** The request path of an upstream (queue, single flight, entity lock, timeouts, breaker, retries, cache) on a real child. */
const server = path.join(root, 'test', 'fixtures', 'upstream-server.ts');
const { home, cleanup } = tempHome();
const opened: UpstreamSet[] = [];
const open = (extra: Partial<UpstreamConfigInput> = {}, cache?: () => Promise<Cache>): Upstream => {
  const set = openUpstreams([upstreamConfigSchema.parse({ name: 'fx', transport: 'stdio', command: process.execPath, args: [server], ...extra })], {
    logger: quietLogger(),
    secrets: new SecretBox({ home }),
    cache,
  });
  opened.push(set);
  return set.get(extra.name ?? 'fx')!;
};
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  cleanup();
});

const textOf = (r: { content: unknown[] }) => JSON.parse((r.content[0] as { text: string }).text) as Record<string, unknown>;
const stats = async (fx: Upstream) => textOf(await fx.callTool('stats', {})) as { calls: Record<string, number>; overlaps: number; maxParallelWrites: number };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as TwlError);

describe('upstream request path', () => {
  it('a read-only tool called twice within its TTL reaches the upstream once', async () => {
    const fx = open({ cache: { read: { ttl: '30s' } } });
    const first = await fx.callTool('read', { key: 'a' });
    const second = await fx.callTool('read', { key: 'a' });
    expect(second).toEqual(first);
    expect((await stats(fx)).calls.read).toBe(1);
    expect(fx.status().cache).toMatchObject({ l1Hits: 1, entries: 1 });
    // Other arguments are another entry; argument order does not matter.
    await fx.callTool('read', { key: 'b' });
    expect((await stats(fx)).calls.read).toBe(2);
    // noCache bypasses the lookup.
    await fx.callTool('read', { key: 'a' }, { noCache: true });
    expect((await stats(fx)).calls.read).toBe(3);
  });

  it('exports its metrics: queue wait, children by state, restarts, cache by level, breaker, call latency', async () => {
    const fx = open({ name: 'metered', cache: { read: { ttl: '30s' } }, restart: { backoff: '10ms' } });
    await fx.callTool('read', { key: 'm' });
    await fx.callTool('read', { key: 'm' });
    const pid = fx.status().children[0]!.pid!;
    process.kill(pid, 'SIGKILL');
    await fx.callTool('pid', {}).catch(() => fx.callTool('pid', {}));
    const text = await registry.metrics();
    expect(text).toMatch(/upstream_queue_wait_seconds_count\{upstream="metered"\} [1-9]/);
    expect(text).toMatch(/upstream_children\{upstream="metered",state="ready"\} 1/);
    expect(text).toMatch(/upstream_restarts_total\{upstream="metered"\} 1/);
    expect(text).toMatch(/upstream_cache_requests_total\{upstream="metered",level="l1",result="hit"\} 1/);
    expect(text).toMatch(/upstream_breaker_state\{upstream="metered",state="closed"\} 1/);
    expect(text).toMatch(/upstream_call_duration_seconds_count\{upstream="metered",outcome="ok"\} [1-9]/);
  });

  it('after its TTL a cached result is fetched again', async () => {
    const fx = open({ cache: { 're*': { ttl: '150ms' } } });
    await fx.callTool('read', { key: 'a' });
    await sleep(250);
    await fx.callTool('read', { key: 'a' });
    expect((await stats(fx)).calls.read).toBe(2);
  });

  it('10 identical concurrent calls of a read-only tool reach the upstream once (single flight, no cache configured)', async () => {
    const fx = open();
    const results = await Promise.all(Array.from({ length: 10 }, () => fx.callTool('read', { key: 'same', delayMs: 200 })));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    expect((await stats(fx)).calls.read).toBe(1);
    // Without overlap in time they are separate calls (nothing cached).
    await fx.callTool('read', { key: 'same', delayMs: 1 });
    expect((await stats(fx)).calls.read).toBe(2);
  });

  it('writes to the same entity never overlap with entityKey; without it they do', async () => {
    const locked = open({ entityKey: { write: 'entity' } });
    await Promise.all(Array.from({ length: 8 }, () => locked.callTool('write', { entity: 'ticket-1', delayMs: 30 })));
    expect(await stats(locked)).toMatchObject({ calls: { write: 8 }, overlaps: 0 });
    expect((await stats(locked)).maxParallelWrites).toBe(1);
    // Different entities still run side by side: not a global lock.
    await Promise.all(Array.from({ length: 8 }, (_, i) => locked.callTool('write', { entity: `t-${i}`, delayMs: 100 })));
    expect((await stats(locked)).maxParallelWrites).toBeGreaterThan(1);

    const unlocked = open();
    await Promise.all(Array.from({ length: 8 }, () => unlocked.callTool('write', { entity: 'ticket-1', delayMs: 30 })));
    expect((await stats(unlocked)).overlaps).toBeGreaterThan(0);
  });

  it('a hanging upstream: calls time out with the configured timeout, the breaker opens (status, metrics), and closes when it answers', async () => {
    const hangFile = path.join(home, `hang-${Date.now()}`);
    fs.writeFileSync(hangFile, '');
    const fx = open({ env: { HANG_FILE: hangFile }, timeout: '300ms', breaker: { failures: 3, halfOpenAfter: '500ms' } });
    for (let i = 0; i < 3; i++) {
      const err = await failure(fx.callTool('maybe_hang', {}));
      expect(err?.code).toBe('TWL_UPSTREAM_TIMEOUT');
      expect(err?.message).toBe('upstream fx: tools/call maybe_hang timed out after 300 ms.');
    }
    expect(fx.status().breaker).toBe('open');
    expect(await registry.getSingleMetricAsString('upstream_breaker_state')).toContain('upstream_breaker_state{upstream="fx",state="open"} 1');
    const refused = await failure(fx.callTool('maybe_hang', {}));
    expect(refused?.code).toBe('TWL_UPSTREAM_BREAKER_OPEN');
    expect(refused?.message).toMatch(/^upstream fx: the circuit breaker is open after 3 failed calls in a row \(last: upstream fx: tools\/call maybe_hang timed out after 300 ms\.\)/);
    fs.rmSync(hangFile);
    await sleep(600);
    expect((await fx.callTool('maybe_hang', {})).content).toEqual([{ type: 'text', text: 'answered' }]);
    expect(fx.status().breaker).toBe('closed');
    expect(await registry.getSingleMetricAsString('upstream_breaker_state')).toContain('upstream_breaker_state{upstream="fx",state="closed"} 1');
  });

  it('per-tool timeouts and per-call overrides', async () => {
    const fx = open({ toolTimeouts: { slow: '200ms' } });
    expect((await failure(fx.callTool('slow', { ms: 1000 })))?.message).toBe('upstream fx: tools/call slow timed out after 200 ms.');
    expect(textOf(await fx.callTool('slow', { ms: 300 }, { timeoutMs: 60_000 }))).toEqual({ slept: 300 });
  });

  it('the queue: a full queue refuses at once, higher priority runs first', async () => {
    const fx = open({ queue: { concurrency: 1, max: 2 } });
    await fx.listTools();
    const order: string[] = [];
    // Long enough to still be running when the queue is looked at, however loaded the machine.
    const running = fx.callTool('slow', { ms: 3000 }).then(() => order.push('running'));
    await sleep(50);
    const low = fx.callTool('slow', { ms: 10 }, { priority: 0 }).then(() => order.push('low'));
    const high = fx.callTool('slow', { ms: 11 }, { priority: 10 }).then(() => order.push('high'));
    await sleep(20);
    expect(fx.status().queue).toEqual({ waiting: 2, running: 1, capacity: 2 });
    const full = await failure(fx.callTool('slow', { ms: 12 }));
    expect(full?.code).toBe('TWL_UPSTREAM_QUEUE_FULL');
    expect(full?.message).toMatch(/^upstream fx: 2 calls are already waiting \(queue\.max 2\)/);
    await Promise.all([running, low, high]);
    expect(order).toEqual(['running', 'high', 'low']);
  });

  it('a call cancelled by its signal fails as interrupted and leaves the upstream usable', async () => {
    const fx = open();
    await fx.listTools();
    const controller = new AbortController();
    const call = failure(fx.callTool('slow', { ms: 60_000 }, { signal: controller.signal }));
    await sleep(200);
    controller.abort();
    expect((await call)?.code).toBe('TWL_INTERRUPTED');
    expect(textOf(await fx.callTool('slow', { ms: 1 }))).toEqual({ slept: 1 });
  });

  it('single flight: a caller giving up does not cancel the call for the others; the last one does', async () => {
    const fx = open();
    await fx.listTools();
    const quitter = new AbortController();
    const stayer = new AbortController();
    const a = failure(fx.callTool('read', { key: 'sf', delayMs: 3000 }, { signal: quitter.signal }));
    const b = fx.callTool('read', { key: 'sf', delayMs: 3000 }, { signal: stayer.signal });
    await sleep(100);
    quitter.abort();
    expect((await a)?.code).toBe('TWL_INTERRUPTED');
    expect(textOf(await b)).toMatchObject({ key: 'sf', n: 1 });
    // Both give up: the shared call is cancelled (the next identical call is a new one).
    const c1 = new AbortController();
    const c2 = new AbortController();
    const c = failure(fx.callTool('read', { key: 'sf2', delayMs: 60_000 }, { signal: c1.signal }));
    const d = failure(fx.callTool('read', { key: 'sf2', delayMs: 60_000 }, { signal: c2.signal }));
    await sleep(100);
    c1.abort();
    c2.abort();
    expect([(await c)?.code, (await d)?.code]).toEqual(['TWL_INTERRUPTED', 'TWL_INTERRUPTED']);
    expect(textOf(await fx.callTool('read', { key: 'sf2' }))).toMatchObject({ n: 3 });
  });

  it('progress from the upstream is forwarded', async () => {
    const fx = open();
    const seen: unknown[] = [];
    await fx.callTool('slow', { ms: 50 }, { progress: (p) => seen.push(p) });
    expect(seen).toEqual([{ progress: 0, total: 1, message: 'sleeping' }]);
  });

  it('an idempotent call is retried after the child dies mid-call; a write is not', async () => {
    const fx = open({ retries: 2, restart: { backoff: '10ms' } });
    const pid = (textOf(await fx.callTool('pid', {})).pid as number) || 0;
    const read = fx.callTool('read', { key: 'r', delayMs: 4000 });
    await sleep(300);
    process.kill(pid, 'SIGKILL');
    expect(textOf(await read)).toMatchObject({ key: 'r', n: 1 }); // counted by the new child
    const pid2 = textOf(await fx.callTool('pid', {})).pid as number;
    const write = failure(fx.callTool('write', { entity: 'w', delayMs: 60_000 }));
    await sleep(300);
    process.kill(pid2, 'SIGKILL');
    expect((await write)?.code).toBe('TWL_UPSTREAM_UNAVAILABLE');
  });

  it('serve stale on error: past its TTL a cached result is served while the upstream fails; without staleIfError it fails fast with the reason', async () => {
    const exitFile = path.join(home, `exit-${Date.now()}`);
    const stale = open({ env: { FIXTURE_MODE: 'exit-if-file', EXIT_FILE: exitFile }, cache: { read: { ttl: '100ms', staleIfError: '1m' } }, retries: 0, restart: { backoff: '10ms' } });
    const fresh = await stale.callTool('read', { key: 's' });
    const pid = textOf(await stale.callTool('pid', {})).pid as number;
    fs.writeFileSync(exitFile, '');
    process.kill(pid, 'SIGKILL');
    await sleep(200);
    expect(await stale.callTool('read', { key: 's' })).toEqual(fresh);

    const strict = open({ name: 'fx', env: { FIXTURE_MODE: 'exit-if-file', EXIT_FILE: `${exitFile}-2` }, cache: { read: { ttl: '100ms' } }, retries: 0, restart: { backoff: '10ms' } });
    await strict.callTool('read', { key: 's' });
    const pid2 = textOf(await strict.callTool('pid', {})).pid as number;
    fs.writeFileSync(`${exitFile}-2`, '');
    process.kill(pid2, 'SIGKILL');
    // Once the kill is processed and the restarted child has exited (the file is there): before that, the call would meet the killed child.
    await waitFor('the restarted child to exit with code 3', () => (/exited with code 3/.test(strict.status().reason ?? '') ? true : undefined));
    const err = await failure(strict.callTool('read', { key: 's' }));
    expect(err?.code).toMatch(/^TWL_UPSTREAM_(UNAVAILABLE|CRASH_LOOP)$/);
    expect(err?.message).toMatch(/^upstream fx.*exited with code 3/);
  });

  it('tools/list is cached until the upstream says list_changed', async () => {
    const fx = open();
    const before = (await fx.listTools()).map((t) => t.name);
    expect((await fx.listTools()).map((t) => t.name)).toEqual(before);
    const changed = new Promise<void>((resolve) => fx.onToolsChanged(resolve));
    await fx.callTool('add_tool', { name: 'late_tool' });
    await changed;
    expect((await fx.listTools()).map((t) => t.name)).toContain('late_tool');
    expect((await fx.callTool('late_tool', {})).content).toEqual([{ type: 'text', text: 'late_tool' }]);
  });
});

describe.each(cacheBackends.filter((b) => b.available))('upstream response cache, L2 on $name', (backend) => {
  it('a second twl process (another child) is served from L2 without reaching its upstream', async () => {
    const { cache, done } = await backend.open();
    try {
      const key = unique('k');
      const first = open({ cache: { read: { ttl: '30s' } } }, () => Promise.resolve(cache));
      const result = await first.callTool('read', { key });
      const second = open({ cache: { read: { ttl: '30s' } } }, () => Promise.resolve(cache));
      expect(await second.callTool('read', { key })).toEqual(result);
      expect(second.status().cache).toMatchObject({ l1Hits: 0, l2Hits: 1, misses: 0 });
      expect((await stats(second)).calls.read).toBeUndefined();
    } finally {
      await done();
    }
  });
});
