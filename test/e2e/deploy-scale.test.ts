import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replicasConf } from '../../deploy/nginx/replicas.mjs';
import { POSTGRES_URL, REDIS_URL, bin, envelope, freePort, hasPostgres, hasRedis, inheritedEnv, postgresAdmin, root, startWorker, tempHome, twl } from '../helpers.js';

// Scale-out on one machine: 3 `twl serve --http` replicas and 2 `twl worker`s sharing one
// PostgreSQL database (fresh for this run) and Redis (a prefix of its own), the replicas behind
// Debian's nginx running deploy/nginx.conf as shipped (only the listen port is this test's; the
// replica list is written by deploy/nginx/replicas.mjs).

const NGINX = '/usr/sbin/nginx';
const hasNginx = existsSync(NGINX);
if (!hasNginx && process.env.CI === 'true') throw new Error('nginx is missing, and CI=true requires it: apt-get install nginx (see .ci/run)');
const REVISION = '2026-07-28';

interface Replica {
  name: string;
  url: string;
  child: ResultPromise;
}

interface Cluster {
  lb: string;
  replicas: Replica[];
  stop(): Promise<void>;
}

/** Starts 3 replicas with this config and nginx in front, all sharing the database and Redis prefix. */
async function startCluster(home: string, env: Record<string, string>, config: Record<string, unknown>, label: string): Promise<Cluster> {
  const dir = path.join(home, label);
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  const configFile = path.join(dir, 'twl.config.json');
  writeFileSync(configFile, JSON.stringify(config));
  const replicas = await Promise.all(
    ['r1', 'r2', 'r3'].map(async (name) => {
      // --port 0: each replica binds a port of its own and says which (no port picked here for it to bind later).
      const child = execa(process.execPath, [bin, 'serve', '--http', '--port', '0'], {
        env: { ...inheritedEnv(), ...env, TWL_CONFIG: configFile, TWL_REPLICA: name, TWL_HOME: path.join(dir, name), HOME: path.join(dir, name) },
        extendEnv: false,
        reject: false,
      });
      const url = await new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          const m = /serves MCP at (http:\/\/[^\s]+)\/mcp/.exec(err);
          if (m) resolve(m[1]!);
        });
        void child.then(() => reject(new Error(`replica ${name} exited: ${err}`)));
      });
      return { name, url, child };
    }),
  );
  const lbPort = await freePort();
  const shipped = readFileSync(path.join(root, 'deploy', 'nginx.conf'), 'utf8');
  expect(shipped).toMatch(/listen 8080;/);
  writeFileSync(path.join(dir, 'nginx.conf'), shipped.replace('listen 8080;', `listen 127.0.0.1:${lbPort};`));
  writeFileSync(path.join(dir, 'twl-replicas.conf'), replicasConf(replicas.map((r) => ({ name: r.name, address: r.url.replace('http://', '') }))));
  execFileSync(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-t'], { stdio: 'pipe' });
  const nginx = execa(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { reject: false });
  const lb = `http://127.0.0.1:${lbPort}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${lb}/health/live`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    lb,
    replicas,
    stop: async () => {
      nginx.kill('SIGQUIT');
      for (const r of replicas) r.child.kill('SIGTERM');
      await Promise.all([nginx, ...replicas.map((r) => r.child)]);
    },
  };
}

const meta = { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientInfo': { name: 'scale-test', version: '1' }, 'io.modelcontextprotocol/clientCapabilities': {} };
/** A 2026-07-28 tools/call: no session, the _meta envelope on the request. */
const call2026 = (base: string, key: string, text = 'This is great!') =>
  fetch(`${base}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': REVISION, 'mcp-method': 'tools/call', 'mcp-name': 'sentiment-analyzer_analyze_sentiment' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'sentiment-analyzer_analyze_sentiment', arguments: { text }, _meta: meta } }),
  });

/** Requests on a route answered by a replica so far, from its own /metrics. */
async function served(r: Replica, key: string, route = '/mcp'): Promise<number> {
  const text = await (await fetch(`${r.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })).text();
  const line = new RegExp(`^http_request_duration_seconds_count\\{[^}]*route="${route.replace(/\//g, '\\/')}"[^}]*\\} (\\d+)`, 'gm');
  return [...text.matchAll(line)].reduce((n, m) => n + Number(m[1]), 0);
}

describe.skipIf(!hasPostgres || !hasRedis || !hasNginx)('scale-out: 3 replicas behind nginx (deploy/nginx.conf) and 2 workers, one PostgreSQL and Redis', () => {
  const database = `twl_scale_${process.pid}`;
  let home: string;
  let cleanup: () => void;
  let env: Record<string, string>;
  let admin: string;
  let cluster: Cluster;
  let limited: Cluster;
  let limitedKey: string;
  let workers: Array<{ child: ReturnType<typeof execa> }> = [];

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-scale-'));
    await postgresAdmin(`CREATE DATABASE ${database}`);
    env = { TWL_DATABASE_URL: POSTGRES_URL.replace(/\/[^/]*$/, `/${database}`), TWL_REDIS_URL: REDIS_URL, TWL_REDIS_PREFIX: `twl-scale-${process.pid}:`, TWL_SECRET_KEY: 'scale-test-secret' };
    // The first twl process migrates the fresh database; the replicas then start together.
    const created = await twl(['keys', 'create', '--role', 'admin', '--name', 'scale', '--json'], { home, env });
    expect(created.exitCode, created.stderr).toBe(0);
    admin = (envelope(created.stdout).result as { key: string }).key;
    limitedKey = (envelope((await twl(['keys', 'create', '--role', 'viewer', '--name', 'limited', '--json'], { home, env })).stdout).result as { key: string }).key;
    // Two clusters started together: the main one, with limits the load tests never reach, and
    // one whose per-key budget is 30 requests (the rate-limit test).
    [cluster, limited] = await Promise.all([
      startCluster(home, env, { http: { rateLimit: { key: { capacity: 100_000, refillPerMinute: 100_000 } } } }, 'main'),
      startCluster(home, env, { http: { rateLimit: { key: { capacity: 30, refillPerMinute: 0.01 } } } }, 'limited'),
    ]);
    // Two workers on the same database, running for the whole suite (the load tests included).
    for (const name of ['w1', 'w2']) mkdirSync(path.join(home, name));
    workers = await Promise.all(['w1', 'w2'].map((name) => startWorker(path.join(home, name), name, env)));
  });
  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGTERM');
    await Promise.all([cluster?.stop(), limited?.stop(), ...workers.map((w) => w.child)]);
    await postgresAdmin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    cleanup?.();
  });

  it('spreads 2026-07-28 calls over every replica, and every one succeeds', async () => {
    const before = await Promise.all(cluster.replicas.map((r) => served(r, admin)));
    const answers = await Promise.all(Array.from({ length: 60 }, () => call2026(cluster.lb, admin)));
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(200));
    for (const a of answers) expect(((await a.json()) as { result: { structuredContent: { sentiment: string } } }).result.structuredContent.sentiment).toBe('positive');
    const after = await Promise.all(cluster.replicas.map((r) => served(r, admin)));
    const counts = after.map((n, i) => n - before[i]!);
    expect(counts.reduce((a, b) => a + b)).toBe(60);
    for (const n of counts) expect(n).toBeGreaterThanOrEqual(10);
  });

  it('keeps each 2025 session on the replica that opened it', async () => {
    const headers = { authorization: `Bearer ${admin}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const owners = new Set<string>();
    for (let s = 0; s < 6; s++) {
      const init = await fetch(`${cluster.lb}/mcp`, { method: 'POST', headers, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'scale', version: '1' } } }) });
      expect(init.status).toBe(200);
      const id = init.headers.get('mcp-session-id')!;
      expect(id).toMatch(/^r[123]\.[0-9a-f-]{36}$/);
      owners.add(id.split('.')[0]!);
      await init.text();
      const session = { ...headers, 'mcp-session-id': id, 'mcp-protocol-version': '2025-06-18' };
      expect((await fetch(`${cluster.lb}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) })).status).toBe(202);
      // Round-robin would send two calls in three elsewhere, where the session does not exist (404).
      for (let c = 0; c < 6; c++) {
        const res = await fetch(`${cluster.lb}/mcp`, { method: 'POST', headers: session, body: JSON.stringify({ jsonrpc: '2.0', id: 2 + c, method: 'tools/call', params: { name: 'sentiment-analyzer_analyze_sentiment', arguments: { text: 'merci, parfait' } } }) });
        expect(res.status, await res.clone().text()).toBe(200);
        await res.text();
      }
    }
    // The initialize requests themselves were spread round-robin.
    expect(owners.size).toBeGreaterThan(1);
  });

  it('a ticket created through one replica is read through another', async () => {
    const post = (r: Replica, tool: string, body: unknown) => fetch(`${r.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const created = (await (await post(cluster.replicas[0]!, 'tickets_create_ticket', { text: 'The VPN drops every hour since this morning' })).json()) as { result: { id: number } };
    const id = created.result.id;
    const read = await post(cluster.replicas[1]!, 'tickets_get_ticket', { id });
    expect(read.status).toBe(200);
    expect(JSON.stringify(await read.json())).toContain('VPN drops every hour');
  });

  it('tasks created through the load balancer are each run once, by both workers', async () => {
    const post = async (tool: string, body: unknown) => {
      const res = await fetch(`${cluster.lb}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, tool).toBe(200);
      return ((await res.json()) as { result: Record<string, unknown> }).result;
    };
    // A worker claims up to --concurrency × 4 runs at once (each of its 2 loops takes a batch of 4 and
    // runs it in turn, a second each): 16 tasks are more than one worker can hold, so the other one
    // takes the rest at its next poll, whatever the timing.
    const ids: number[] = [];
    for (let i = 0; i < 16; i++) ids.push(((await post('task_create', { tool: 'database_execute_query', input: { sql: `select pg_sleep(1), ${i} as n` }, now: true, retries: 0 })) as { task: { id: number } }).task.id);
    type Shown = { task: { status: string }; executions: Array<{ status: string; worker: string }> };
    const shown = async () => Promise.all(ids.map(async (id) => (await post('task_show', { id })) as Shown));
    await expect.poll(async () => (await shown()).map((s) => s.task.status), { timeout: 90_000, interval: 500 }).toEqual(Array(16).fill('completed'));
    const all = await shown();
    for (const s of all) expect(s.executions.map((e) => e.status)).toEqual(['completed']);
    expect(new Set(all.map((s) => s.executions[0]!.worker))).toEqual(new Set(['w1', 'w2']));
  });

  it('SIGTERM of one replica under c=16 load for 20 s: no failed request, nginx routes around it', async () => {
    const counts = { ok: 0, retryable: 0, failed: 0 };
    const failures: string[] = [];
    const deadline = Date.now() + 20_000;
    const victim = cluster.replicas[2]!;
    setTimeout(() => victim.child.kill('SIGTERM'), 5_000);
    const worker = async () => {
      while (Date.now() < deadline) {
        try {
          const res = await call2026(cluster.lb, admin);
          const body = await res.text();
          if (res.status === 200 && body.includes('"sentiment"')) counts.ok++;
          // A draining twl's 503 says Retry-After: the client may send it again (nginx already did).
          else if (res.status === 503 && res.headers.get('retry-after')) counts.retryable++;
          else {
            counts.failed++;
            failures.push(`${res.status} ${body.slice(0, 200)}`);
          }
        } catch (err) {
          counts.failed++;
          failures.push(String(err));
        }
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const exited = await victim.child;
    expect(exited.exitCode, exited.stderr?.toString().slice(-500)).toBe(0);
    expect(failures.slice(0, 5)).toEqual([]);
    expect(counts.failed).toBe(0);
    expect(counts.ok).toBeGreaterThan(100);
    console.info(`[scale] SIGTERM under c=16: ${JSON.stringify(counts)}`);
    // After it left, the two others answer everything.
    const after = await Promise.all(Array.from({ length: 20 }, () => call2026(cluster.lb, admin)));
    expect(after.map((a) => a.status)).toEqual(Array(20).fill(200));
  });

  it('holds the per-key rate limit across replicas: 429 after the shared budget, not three times it', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 90; i++) {
      const res = await fetch(`${limited.lb}/api/tools`, { headers: { authorization: `Bearer ${limitedKey}` } });
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get('retry-after')).toBeTruthy();
      await res.text();
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(30);
    expect(statuses.filter((s) => s === 429)).toHaveLength(60);
    // Every replica answered its share: per-process buckets would have let 30 through on each.
    for (const r of limited.replicas) expect(await served(r, admin, '/api/tools')).toBeGreaterThanOrEqual(20);
  });
});
