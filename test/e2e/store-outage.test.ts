import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivatePostgres, requirePrivatePostgres } from '../fixtures/private-postgres.js';
import { envelope, startHttpServe, tempHome, twl } from '../helpers.js';

const canRun = requirePrivatePostgres();

/** A line of a stack trace, however many times it was JSON-escaped. */
const stackFrame = /\bat .+\.[cm]?[jt]s:\d+:\d+/;

interface HealthBody {
  status: string;
  dependencies: Array<{ name: string; status: string; detail: string }>;
}

/** Polls until `done` holds for the answer, or the time is up; resolves with the last answer and when it came. */
async function pollUntil<T>(ask: () => Promise<T>, done: (answer: T) => boolean, withinMs: number): Promise<{ answer: T; afterMs: number }> {
  const started = performance.now();
  for (;;) {
    const answer = await ask();
    const afterMs = performance.now() - started;
    if (done(answer) || afterMs > withinMs) return { answer, afterMs };
    await sleep(100);
  }
}

/**
 * The acceptance point: with TWL_DATABASE_URL set, killing PostgreSQL under `twl serve --http`
 * turns /health degraded within 5 s, store-backed calls fail with a clear error, the server
 * stays up, and it recovers by itself once PostgreSQL is back. The cluster is the test's own:
 * the shared one on 5432 serves other test files meanwhile.
 */
describe.skipIf(!canRun)('twl serve --http when its PostgreSQL dies', () => {
  let pg: PrivatePostgres;
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let base: string;
  let mcp: Client;
  let exited: string | undefined;
  let key: string;

  // 90 s: past startHttpServe's own 60 s, so a server that never starts fails with its stderr, not a bare hook timeout.
  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    ({ home, cleanup } = tempHome('twl-outage-'));
    // API keys live in the store too: while it is down nobody can be authenticated, and /health
    // must still answer degraded.
    key = String((envelope((await twl(['keys', 'create', '--role', 'admin', '--json'], { home, env: { TWL_DATABASE_URL: pg.url } })).stdout).result as { key: string }).key);
    ({ child, url: base } = await startHttpServe(home, [], { TWL_DATABASE_URL: pg.url }));
    void child.then((r) => (exited = `exit code ${r.exitCode ?? r.signal}: ${r.stderr}`));
    mcp = new Client({ name: 'outage-test', version: '1' });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  });
  afterAll(async () => {
    await mcp?.close().catch(() => undefined);
    child?.kill('SIGTERM');
    await child;
    await pg?.destroy();
    cleanup?.();
  });

  const health = async () => {
    // A hung /health would fail the timing below anyway; the abort keeps the poll from waiting on it forever.
    const res = await fetch(`${base}/health`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: (await res.json()) as HealthBody };
  };
  const call = async (tool: string, input: unknown) => {
    const res = await fetch(`${base}/api/tools/${tool}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(input) });
    return { status: res.status, text: await res.text() };
  };
  const storeOf = (body: HealthBody) => body.dependencies.find((d) => d.name === 'twl-store');
  const expectAlive = async () => {
    expect(exited, 'twl serve exited').toBeUndefined();
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
  };
  const expectRecovered = async (value: string) => {
    const { answer, afterMs } = await pollUntil(health, (h) => h.body.status === 'ok', 10_000);
    expect(answer, `not ok again ${Math.round(afterMs)} ms after PostgreSQL came back`).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(storeOf(answer.body)).toMatchObject({ status: 'ok' });
    // Store-backed calls work again, on the same process and the same data.
    const set = await call('cache_cache_set', { key: `after-${value}`, value });
    expect(set.status, set.text).toBe(200);
    expect(JSON.parse((await call('cache_cache_get', { key: 'before' })).text)).toMatchObject({ result: { found: true, value: 'kept' } });
    const viaMcp = await mcp.callTool({ name: 'cache_cache_get', arguments: { key: `after-${value}` } });
    expect(viaMcp.isError ?? false).toBe(false);
    expect(viaMcp.structuredContent).toMatchObject({ found: true, value });
  };

  it('is healthy with its PostgreSQL up', async () => {
    expect(await health()).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect((await call('cache_cache_set', { key: 'before', value: 'kept' })).status).toBe(200);
  });

  it('turns degraded within 5 s of a kill, fails store calls clearly, stays up, and recovers by itself', async () => {
    await pg.kill();
    const { answer, afterMs } = await pollUntil(health, (h) => h.body.status === 'degraded', 5000);
    expect(answer.body.status, `still ${answer.body.status} ${Math.round(afterMs)} ms after the kill`).toBe('degraded');
    expect(afterMs).toBeLessThan(5000);
    // Degraded, not down: twl answers (200), and names the dependency that fails and why.
    expect(answer.status).toBe(200);
    expect(storeOf(answer.body)).toMatchObject({ status: 'down', detail: expect.stringMatching(/ECONNREFUSED|unreachable|terminat/i) });

    const failed = await call('cache_cache_set', { key: 'during', value: 'lost' });
    expect(failed.status).toBe(503);
    const { error } = JSON.parse(failed.text) as { error: { code: string; message: string; actions: string[] } };
    expect(error.code).toBe('TWL_STORE_UNAVAILABLE');
    expect(error.message).toContain(`PostgreSQL at ${pg.url} is unreachable`);
    expect(error.actions.join(' ')).toMatch(/TWL_DATABASE_URL/);
    expect(error.actions.join(' ')).toMatch(/without a restart/);
    expect(failed.text).not.toMatch(stackFrame);
    // The same over MCP: a tool error with the code and the reason, not a protocol failure.
    const viaMcp = await mcp.callTool({ name: 'cache_cache_get', arguments: { key: 'before' } });
    expect(viaMcp.isError).toBe(true);
    const text = JSON.stringify(viaMcp.content);
    expect(text).toContain('TWL_STORE_UNAVAILABLE');
    expect(text).not.toMatch(stackFrame);
    await expectAlive();

    await pg.start();
    await expectRecovered('after-kill');
    await expectAlive();
  });

  it('turns degraded within 5 s when PostgreSQL hangs instead of refusing, and recovers when it answers', async () => {
    pg.freeze();
    try {
      const { answer, afterMs } = await pollUntil(health, (h) => h.body.status === 'degraded', 5000);
      expect(answer.body.status, `still ${answer.body.status} ${Math.round(afterMs)} ms after the freeze`).toBe('degraded');
      expect(afterMs).toBeLessThan(5000);
      expect(storeOf(answer.body)).toMatchObject({ status: 'down', detail: expect.stringMatching(/no answer within|timeout/i) });
      // /metrics still answers: the ticket series it reads from the store give up and keep their last values.
      const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(15_000) });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^twl_ticket_escalations \d+$/m);
      await expectAlive();
    } finally {
      pg.thaw();
    }
    await expectRecovered('after-freeze');
  });
});
