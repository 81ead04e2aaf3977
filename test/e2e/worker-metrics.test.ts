import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivatePostgres, requirePrivatePostgres } from '../fixtures/private-postgres.js';
import { bin, envelope, inheritedEnv, tempHome, twl } from '../helpers.js';

const canRun = requirePrivatePostgres();

/**
 * `twl worker --metrics`: a real worker process on a PostgreSQL of the test's own runs a real task;
 * its /metrics counts the run, /healthz says 200, then 503 with the reason once PostgreSQL is
 * killed, and 200 again when it is back; SIGTERM closes the listener with the worker. Bad
 * --metrics values are refused before anything runs.
 */

/** Secrets the worker is given: none may show on its endpoints or its stderr. */
const PASSWORD = 'pw-Never-Shown-7f3a';
const SECRET_KEY = 'c2VjcmV0LWtleS1uZXZlci1zaG93bi0xMjM0NTY3ODkwYWI=';

/** Polls `probe` until it returns a value (a bound on a slow machine, not a timing assertion). */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  for (const deadline = Date.now() + ms; Date.now() < deadline; await sleep(250)) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
  }
  throw new Error(`${what}: not within ${ms / 1000} s`);
}

/** The value of one sample line of a Prometheus text exposition, or undefined. */
const sample = (text: string, series: string): number | undefined => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe.skipIf(!canRun)('twl worker --metrics on PostgreSQL', () => {
  let pg: PrivatePostgres;
  let home: string;
  let cleanup: () => void;
  let child: ResultPromise;
  let stderr = '';
  let url: string;
  let dbUrl: string;
  let exited = false;

  beforeAll(async () => {
    pg = await PrivatePostgres.create();
    // Trust authentication: the password is accepted and ignored, and must never be shown.
    dbUrl = pg.url.replace('postgres@', `postgres:${PASSWORD}@`);
    ({ home, cleanup } = tempHome('twl-worker-metrics-'));
    child = execa(process.execPath, [bin, 'worker', '--name', 'metrics-w', '--concurrency', '2', '--grace', '5s', '--metrics', '127.0.0.1:0'], {
      cwd: home,
      env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1', TWL_DATABASE_URL: dbUrl, TWL_SECRET_KEY: SECRET_KEY },
      extendEnv: false,
      reject: false,
    });
    void child.finally(() => (exited = true));
    url = await new Promise<string>((resolve, reject) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        const m = /metrics at (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(stderr);
        if (m && stderr.includes('takes runs from')) resolve(m[1]!);
      });
      void child.then((r) => reject(new Error(`twl worker exited (${r.exitCode}): ${stderr}`)));
    });
  });
  afterAll(async () => {
    if (child && !exited) child.kill('SIGKILL');
    await child.catch(() => undefined);
    await pg?.destroy();
    cleanup?.();
  });

  const cli = (args: string[]) => twl(args, { home, env: { TWL_DATABASE_URL: dbUrl, TWL_SECRET_KEY: SECRET_KEY } });
  const get = (path: string, init?: RequestInit) => fetch(`${url}${path}`, init);

  it('counts a real task run on /metrics: claimed, completed, its duration, nothing left in flight', async () => {
    const created = await cli(['task', 'create', '--tool', 'sentiment-analyzer_analyze_sentiment', '--input', JSON.stringify({ text: 'all good, thanks' }), '--now', '--json']);
    expect(created.exitCode, created.stderr).toBe(0);
    const id = (envelope(created.stdout).result as { task: { id: number } }).task.id;
    await until(`task ${id} completed`, async () => {
      const shown = await cli(['task', 'show', String(id), '--json']);
      return (envelope(shown.stdout).result as { task: { status: string } }).task.status === 'completed' ? true : undefined;
    });
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    // The worker counts a run once its last record is written, so a scrape may fall between the
    // store's `completed` and the count: the scrape that has it.
    const completed = 'twl_worker_runs_finished_total{queue="default",outcome="completed"}';
    const text = await until('the run counted on /metrics', async () => {
      const scraped = await (await get('/metrics')).text();
      return sample(scraped, completed) === 1 ? scraped : undefined;
    });
    expect(sample(text, 'twl_worker_info{worker="metrics-w",queue_backend="postgres"}')).toBe(1);
    expect(sample(text, 'twl_worker_runs_claimed_total{queue="default"}')).toBe(1);
    expect(sample(text, 'twl_worker_runs_finished_total{queue="default",outcome="failed"}')).toBe(0);
    expect(sample(text, 'twl_worker_run_duration_seconds_count{queue="default",outcome="completed"}')).toBe(1);
    expect(sample(text, 'twl_worker_runs_in_flight{queue="default"}')).toBe(0);
    expect(sample(text, 'twl_worker_store_reachable')).toBe(1);
    expect(sample(text, 'twl_worker_healthy')).toBe(1);
    const lastPoll = sample(text, 'twl_worker_last_poll_timestamp_seconds{queue="default"}')!;
    expect(Math.abs(lastPoll - Date.now() / 1000)).toBeLessThan(600);
    // The op the run called, and the process's own series, from the same registry as twl serve's.
    expect(text).toMatch(/^agent_calls_total\{agent_name="sentiment-analyzer",capability="[^"]+"\} 1$/m);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    for (const secret of [PASSWORD, SECRET_KEY, String(pg.port)]) expect(text).not.toContain(secret);
  });

  it('answers /healthz, /livez and /readyz with 200 while it polls, GET and HEAD only, nothing else', async () => {
    const health = await get('/healthz');
    expect(health.status).toBe(200);
    const body = (await health.json()) as { status: string; worker: string; queues: Array<{ queue: string; lastPoll: string; busy: boolean }>; runsInFlight: number };
    expect(body).toMatchObject({ status: 'ok', worker: 'metrics-w', runsInFlight: 0, queues: [{ queue: 'default', busy: false }] });
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/livez')).status).toBe(200);
    const head = await get('/healthz', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    const post = await get('/metrics', { method: 'POST', body: '{}' });
    expect([post.status, post.headers.get('allow')]).toEqual([405, 'GET, HEAD']);
    for (const path of ['/', '/metrics/', '/health', '/api/tools', '/healthz/../metrics2']) expect((await get(path)).status, path).toBe(404);
    // Bound to loopback: a DNS name in Host (a rebinding page) is refused.
    const rebound = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1', () => socket.end('GET /metrics HTTP/1.1\r\nHost: attacker.example\r\nConnection: close\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(rebound).toMatch(/^HTTP\/1\.1 403 /);
  });

  it('answers 503 with the reason once PostgreSQL is killed, and 200 again when it is back', async () => {
    await pg.kill();
    const down = await until('/healthz 503', async () => {
      const res = await get('/healthz');
      return res.status === 503 ? ((await res.json()) as { status: string; reason: string }) : undefined;
    });
    expect(down.status).toBe('store_unreachable');
    expect(down.reason).toMatch(/^PostgreSQL has been unreachable for \d+ s/);
    expect((await get('/readyz')).status).toBe(503);
    // Alive all the same: a liveness probe must not restart a worker that waits for its store.
    expect((await get('/livez')).status).toBe(200);
    const text = await (await get('/metrics')).text();
    expect([sample(text, 'twl_worker_store_reachable'), sample(text, 'twl_worker_healthy')]).toEqual([0, 0]);
    for (const secret of [PASSWORD, SECRET_KEY, String(pg.port)]) expect(JSON.stringify(down)).not.toContain(secret);
    await pg.start();
    await until('/healthz 200 again', async () => ((await get('/healthz')).status === 200 ? true : undefined));
    expect((await get('/readyz')).status).toBe(200);
  });

  it('closes the listener with the worker on SIGTERM, exits 0, and never printed a secret', async () => {
    child.kill('SIGTERM');
    const result = await child;
    expect(result.exitCode, stderr).toBe(0);
    await expect(get('/healthz')).rejects.toThrow();
    for (const secret of [PASSWORD, SECRET_KEY]) expect(stderr).not.toContain(secret);
  });
});

describe('twl worker --metrics: bad values are refused before the worker takes a run', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => ({ home, cleanup } = tempHome('twl-worker-metrics-flag-')));
  afterAll(() => cleanup?.());

  it('refuses an address that is not [host:]port, with exit code 2 and what to write instead', async () => {
    for (const [value, message] of [
      ['nope', '--metrics "nope" does not end with a port'],
      ['70000', 'a number from 0 to 65535'],
      [':9464', 'write 0.0.0.0:PORT for every interface'],
      ['metrics.example.com:9464', 'not an IP address'],
    ] as const) {
      const r = await twl(['worker', '--metrics', value], { home });
      expect(r.exitCode, `${value}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toContain('takes runs from');
    }
  });

  it('refuses a port in use and an address not of this machine, without taking runs', async () => {
    const holder = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => holder.once('listening', r));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const inUse = await twl(['worker', '--metrics', `127.0.0.1:${port}`], { home });
      expect(inUse.exitCode, inUse.stderr).toBe(2);
      expect(inUse.stderr).toContain(`--metrics 127.0.0.1:${port}: the port is in use by another process`);
      expect(inUse.stderr).not.toContain('takes runs from');
    } finally {
      holder.close();
    }
    // TEST-NET-1 (RFC 5737): no machine has it.
    const foreign = await twl(['worker', '--metrics', '192.0.2.1:9464'], { home });
    expect(foreign.exitCode, foreign.stderr).toBe(2);
    expect(foreign.stderr).toContain('192.0.2.1 is not an address of this machine');
  });
});
