import type http from 'node:http';
import net from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import type { Service } from '../../runtime/config.js';
import type { OpContext } from '../../runtime/context.js';
import { messageOf } from '../../runtime/errors.js';
import { serviceHealth } from '../../runtime/metrics.js';
import { redactText, redactUrl } from '../../runtime/redact.js';
import { runCommand } from '../commander/run.js';
import { Docker } from './docker.js';

export type Status = 'ok' | 'degraded' | 'down';

export interface Health {
  name: string;
  kind: Service['kind'] | 'store' | 'cache' | 'llm';
  target: string;
  status: Status;
  latencyMs: number | null;
  detail: string;
}

const since = (started: number) => Math.round((performance.now() - started) * 10) / 10;

const tcpConnect = (host: string, port: number, timeoutMs: number) =>
  new Promise<void>((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(timeoutMs);
    socket.once('connect', () => (socket.destroy(), resolve()));
    socket.once('timeout', () => (socket.destroy(), reject(new Error(`no connection within ${timeoutMs} ms`))));
    socket.once('error', reject);
  });

/** Processes by name, from /proc (Linux). */
function processesNamed(name: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (comm === name || cmdline[0]?.endsWith(`/${name}`) || cmdline[0] === name) pids.push(Number(entry));
    } catch {
      // gone, or not ours to read
    }
  }
  return pids;
}

const inRange = (status: number, healthy: Service['healthy']) => (healthy.status?.length ? healthy.status.includes(status) : status >= 200 && status < 400);

/** Checks one configured service the way its kind needs: a failure is a `down` with the reason; it throws only when the caller stops it. */
export async function checkService(ctx: OpContext, service: Service): Promise<Health> {
  // Reset once twl's own part is ready (a module loaded, a client built): the latency is the service's.
  let started = performance.now();
  const base = { name: service.name, kind: service.kind, target: redactUrl(service.target) };
  const verdict = (latencyMs: number, detail: string): Health => ({
    ...base,
    status: service.healthy.latencyMs !== undefined && latencyMs > service.healthy.latencyMs ? 'degraded' : 'ok',
    latencyMs,
    detail: service.healthy.latencyMs !== undefined && latencyMs > service.healthy.latencyMs ? `${detail}; slower than ${service.healthy.latencyMs} ms` : detail,
  });
  const down = (detail: string): Health => ({ ...base, status: 'down', latencyMs: since(started), detail: redactText(detail) });
  try {
    switch (service.kind) {
      case 'http': {
        const url = new URL(service.target);
        const client = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
        started = performance.now();
        const timeout = AbortSignal.timeout(service.timeout);
        const res = await httpGet(client, url, service.healthy.bodyMatch !== undefined, AbortSignal.any([timeout, ctx.signal])).catch((err: unknown) => {
          throw timeout.aborted && !ctx.signal.aborted ? new Error(`no answer within ${service.timeout} ms`) : err;
        });
        const latency = since(started);
        if (!inRange(res.status, service.healthy)) return down(`HTTP ${res.status} ${res.statusText}`);
        if (service.healthy.bodyMatch && !new RegExp(service.healthy.bodyMatch).test(res.body)) return down(`HTTP ${res.status}, but the body does not match /${service.healthy.bodyMatch}/`);
        return verdict(latency, `HTTP ${res.status}`);
      }
      case 'tcp': {
        const [host, port] = [service.target.slice(0, service.target.lastIndexOf(':')), Number(service.target.slice(service.target.lastIndexOf(':') + 1))];
        await tcpConnect(host.replace(/^\[|\]$/g, ''), port, service.timeout);
        return verdict(since(started), `accepts connections on ${service.target}`);
      }
      case 'process': {
        const pids = processesNamed(service.target);
        return pids.length ? verdict(since(started), `${pids.length} process${pids.length > 1 ? 'es' : ''} (pid ${pids.slice(0, 5).join(', ')})`) : down(`no process named ${service.target}`);
      }
      case 'container': {
        const info = await new Docker(ctx.config.docker.socket).inspect(service.target);
        const health = info.State.Health?.Status;
        if (!info.State.Running) return down(`container ${service.target} is ${info.State.Status}`);
        if (health === 'unhealthy') return down(`container ${service.target} is running but unhealthy`);
        return verdict(since(started), `running${health ? `, ${health}` : ''}`);
      }
      case 'systemd': {
        const r = await runCommand(ctx, { argv: ['systemctl', 'is-active', service.target], timeoutMs: service.timeout });
        const state = r.stdout.trim() || r.stderr.trim();
        return state === 'active' ? verdict(since(started), 'active') : down(`systemd unit ${service.target} is ${state || `not active (exit ${r.exitCode})`}`);
      }
      case 'postgres': {
        const { default: pg } = await import('pg');
        const client = new pg.Client({ connectionString: service.target, connectionTimeoutMillis: service.timeout, query_timeout: service.timeout });
        started = performance.now();
        try {
          await client.connect();
          await client.query('SELECT 1');
        } finally {
          await client.end().catch(() => undefined);
        }
        return verdict(since(started), 'answers SELECT 1');
      }
      case 'redis': {
        const { createClient } = await import('@redis/client');
        const client = createClient({ url: service.target, socket: { connectTimeout: service.timeout, reconnectStrategy: false } });
        client.on('error', () => undefined);
        started = performance.now();
        try {
          await client.connect();
          const pong = await client.ping();
          return verdict(since(started), `PING → ${pong}`);
        } finally {
          await client.close().catch(() => undefined);
        }
      }
    }
  } catch (err) {
    // Stopped by the caller (Ctrl-C, a cancelled MCP call): that says nothing about the service.
    if (ctx.signal.aborted) throw ctx.signal.reason instanceof Error ? ctx.signal.reason : new Error(messageOf(ctx.signal.reason));
    return down(messageOf(err));
  }
}

const bodyCap = 1024 * 1024;

/**
 * One GET with node:http(s), redirects not followed. Not fetch(): its first call in a process
 * loads and compiles undici (tens of milliseconds, more on a busy machine), which a one-shot
 * `twl monitoring health` would report as the service's latency.
 */
function httpGet(client: { get: typeof http.get }, url: URL, readBody: boolean, signal: AbortSignal): Promise<{ status: number; statusText: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = client.get(url, { signal, headers: { 'user-agent': 'twl-health' } }, (res) => {
      const status = res.statusCode ?? 0;
      const statusText = res.statusMessage ?? '';
      if (!readBody) {
        res.destroy();
        return resolve({ status, statusText, body: '' });
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (body.length < bodyCap) body += chunk;
      });
      res.once('end', () => resolve({ status, statusText, body }));
      res.once('error', reject);
    });
    req.once('error', reject);
  });
}

/**
 * How long one of twl's own dependencies may take to answer its probe. /health has to answer
 * within a load balancer's probe timeout (often 5 s) even when the store hangs instead of
 * refusing (a frozen or unreachable host: a statement on an open connection waits for ever),
 * so the probe gives up first and reports it.
 */
export const dependencyProbeMs = 3000;

/** The promise's value, or a rejection once ms have passed; the promise is left to settle on its own (its failure ignored). */
async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

type Timed = <T>(work: Promise<T>) => Promise<T>;
type Opening = { store: ReturnType<OpContext['store']>; cache: ReturnType<OpContext['cache']> };

/** Opens the store and the cache once (an open that fails is reported by its probe, not tried twice). */
const open = (ctx: OpContext): Opening => {
  const opening = { store: ctx.store(), cache: ctx.cache() };
  opening.store.catch(() => undefined);
  opening.cache.catch(() => undefined);
  return opening;
};

/**
 * twl's own dependencies: the store, the cache, and the LLM when configured; probed concurrently.
 * Each probe times what it asks (`timed`), not the opening of the store or cache: a first open of
 * the embedded store (WASM start, migrations) takes seconds, and opening has bounded timeouts of
 * its own (connect, store.lockTimeout), while a long-running process has them open already.
 */
export async function checkDependencies(ctx: OpContext, timeoutMs = dependencyProbeMs, opening: Opening = open(ctx)): Promise<Health[]> {
  const probe = async (name: string, kind: Health['kind'], target: string, fn: (timed: Timed) => Promise<string>): Promise<Health> => {
    const started = performance.now();
    let latencyMs: number | null = null;
    const timed: Timed = async (work) => {
      const asked = performance.now();
      try {
        return await within(timeoutMs, work);
      } finally {
        latencyMs = since(asked);
      }
    };
    try {
      const detail = await fn(timed);
      return { name, kind, target, status: 'ok', latencyMs: latencyMs ?? since(started), detail };
    } catch (err) {
      return { name, kind, target, status: kind === 'llm' ? 'degraded' : 'down', latencyMs: latencyMs ?? since(started), detail: redactText(messageOf(err)) };
    }
  };
  const llm = ctx.llm();
  return Promise.all([
    probe('twl-store', 'store', ctx.config.database.url ? redactUrl(ctx.config.database.url) : 'embedded', async (timed) => {
      const store = await opening.store;
      await timed(store.query('SELECT 1'));
      return `${store.backend} at ${store.location}`;
    }),
    probe('twl-cache', 'cache', ctx.config.redis.url ? redactUrl(ctx.config.redis.url) : 'store table', async (timed) => {
      const cache = await opening.cache;
      const s = await timed(cache.stats());
      return `${cache.backend}, ${s.keys} keys`;
    }),
    ...(llm ? [probe('llm', 'llm', redactUrl(llm.host), async (timed) => `Ollama ${await timed(llm.version())}, model ${llm.model}`)] : []),
  ]);
}

export const worst = (statuses: Status[]): Status => (statuses.includes('down') ? 'down' : statuses.includes('degraded') ? 'degraded' : 'ok');

/**
 * The overall status: the worst of the services and of twl's dependencies, where a dependency
 * that is down counts as degraded. twl itself still answers without its store or cache (calls
 * that need them fail with the reason, and it reconnects when they are back), so /health says
 * `degraded` with the failing dependency rather than `down`, which is for the services it watches.
 */
export const overallStatus = (services: Health[], dependencies: Health[]): Status =>
  worst([...services.map((h) => h.status), ...dependencies.map((h) => (h.status === 'down' ? 'degraded' : h.status))]);

/** Every configured service (or the ones named) and twl's dependencies, checked concurrently. */
export async function healthReport(ctx: OpContext, only?: string[]): Promise<{ status: Status; services: Health[]; dependencies: Health[] }> {
  const services = ctx.config.services.filter((s) => !only?.length || only.includes(s.name));
  // Open the store and cache before any probe starts: starting the embedded store takes the CPU
  // for a while, which would count as the services' latency (their failures go to the probes).
  const opening = only?.length ? undefined : open(ctx);
  if (opening) await Promise.allSettled([opening.store, opening.cache]);
  const [checked, dependencies] = await Promise.all([Promise.all(services.map((s) => checkService(ctx, s))), opening ? checkDependencies(ctx, dependencyProbeMs, opening) : Promise.resolve([])]);
  // twl's own store and cache too: the "store/cache degraded" alert reads them (kind store, cache).
  for (const h of [...checked, ...dependencies]) serviceHealth.set({ service: h.name, kind: h.kind }, h.status === 'ok' ? 1 : h.status === 'degraded' ? 0.5 : 0);
  return { status: overallStatus(checked, dependencies), services: checked, dependencies };
}
