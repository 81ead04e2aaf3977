import http from 'node:http';
import net from 'node:net';
import { TwlError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { collectProcessMetrics, registry } from '../runtime/metrics.js';
import type { WorkerHealth } from '../studio/worker.js';
import { hostHeaderCount, parseHost } from './headers.js';
import { authority, listenOn, type ListenAddress } from './listen.js';

export { authority, type ListenAddress } from './listen.js';

/**
 * `twl worker --metrics [host:]port`: a small listener beside the worker with GET /metrics (the
 * process's Prometheus registry: the worker's series, the ops its runs call, the process's own),
 * /healthz (200 while the worker's queue loops poll and its store answers, 503 with the reason
 * otherwise), /livez (503 only when a loop stalled) and /readyz (503 also while starting or stopping). No key: it shows counts, timings and the worker's name, never a secret
 * or an address of the store. Bound to loopback unless an address is given.
 */

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
export const isLoopback = (host: string): boolean => LOOPBACK.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);

/**
 * `[host:]port` of a listening flag: a port (0–65535; 0 is any free port) on 127.0.0.1, or an
 * IPv4 address, `localhost` or a bracketed IPv6 address, a colon and the port. Host names are
 * refused (a listener binds an address), and so is `:port`, which some tools read as every
 * interface and others as loopback: the address is said.
 */
export function parseListenAddress(value: string, flag = '--metrics'): ListenAddress {
  const shown = JSON.stringify(value.slice(0, 60));
  const bad = (why: string) =>
    new TwlError('TWL_INPUT_INVALID', `${flag} ${shown} ${why}`, {
      actions: [`Give a port (${flag} 9464, on 127.0.0.1) or an address and a port (${flag} 0.0.0.0:9464 for every IPv4 interface, ${flag} [::1]:9464).`],
    });
  const m = /^(?:(.*):)?([^:\]]*)$/.exec(value);
  if (!value || !m) throw bad('is not [host:]port.');
  const [, rawHost, rawPort] = m;
  if (!/^\d{1,5}$/.test(rawPort!) || Number(rawPort) > 65_535) throw bad(`does not end with a port: expected a number from 0 to 65535 (0: any free port), not ${JSON.stringify(rawPort!.slice(0, 20))}.`);
  const port = Number(rawPort);
  if (rawHost === undefined) return { host: '127.0.0.1', port };
  if (rawHost === '') throw bad('has no address before the colon: write 0.0.0.0:PORT for every interface, or 127.0.0.1:PORT for this machine only.');
  const bracketed = /^\[(.+)\]$/.exec(rawHost);
  if (bracketed) {
    if (net.isIPv6(bracketed[1]!)) return { host: bracketed[1]!.toLowerCase(), port };
    throw bad(`has ${JSON.stringify(rawHost.slice(0, 50))} in brackets, which is not an IPv6 address.`);
  }
  if (net.isIPv6(rawHost) || /^[0-9a-f:.]*:[0-9a-f:.]*$/i.test(rawHost)) throw bad('has an IPv6 address without brackets: write it as [ADDRESS]:PORT.');
  if (net.isIPv4(rawHost) || rawHost.toLowerCase() === 'localhost') return { host: rawHost.toLowerCase(), port };
  throw bad(`names ${JSON.stringify(rawHost.slice(0, 50))}, which is not an IP address: give the address to bind (an IPv4 address, [IPv6], or localhost).`);
}

type Probe = '/healthz' | '/livez' | '/readyz';
/**
 * Which statuses each probe answers 200. /healthz: working, or stopping (alive, finishing its runs:
 * no restart wanted). /livez, for a liveness probe: anything but a stalled loop, since a worker
 * waiting for its store is doing what it should (killing it would cut the runs that wait to record
 * their results, which would then run twice). /readyz: working, nothing else.
 */
const answers: Record<Probe, (status: WorkerHealth['status']) => boolean> = {
  '/healthz': (s) => s === 'ok' || s === 'stopping',
  '/livez': (s) => s !== 'stalled',
  '/readyz': (s) => s === 'ok',
};

export interface WorkerEndpoint {
  /** http://host:port, the port the system chose when 0 was asked. */
  url: string;
  /** Stops listening and ends open connections (keep-alive scrapes included). */
  close(): Promise<void>;
}

const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(`${JSON.stringify(body)}\n`);
};

/**
 * Starts the listener. `health` is the worker's, once it runs (undefined while it starts: /healthz
 * and /readyz answer 503 "starting").
 */
export async function startWorkerEndpoint(options: ListenAddress & { health: () => WorkerHealth | undefined; logger: Logger; flag?: string }): Promise<WorkerEndpoint> {
  collectProcessMetrics();
  // Bound to loopback, only loopback names and IP literals are answered: a page that rebinds its
  // own DNS name to 127.0.0.1 cannot read the worker through a browser.
  const local = isLoopback(options.host);
  const server = http.createServer((req, res) => {
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    const target = req.url ?? '/';
    if (!target.startsWith('/')) return json(res, 400, { error: { code: 'HTTP_400', message: 'The request target must be a path.' } });
    if (local) {
      const host = hostHeaderCount(req) === 1 ? parseHost(req.headers.host) : undefined;
      if (host === undefined || !(isLoopback(host) || net.isIP(host))) return json(res, 403, { error: { code: 'HTTP_403', message: 'This listener answers loopback names and IP addresses only.' } });
    }
    const path = target.split('?')[0];
    if (path !== '/metrics' && path !== '/healthz' && path !== '/livez' && path !== '/readyz') return json(res, 404, { error: { code: 'HTTP_404', message: 'Nothing here: a twl worker answers GET /metrics, /healthz, /livez and /readyz.' } });
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: { code: 'HTTP_405', message: `Use GET ${path}.` } }, { allow: 'GET, HEAD' });
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (err: unknown) => {
          options.logger.warn({ err: (err as Error).message }, 'worker /metrics failed');
          json(res, 500, { error: { code: 'HTTP_500', message: 'The metrics could not be collected; see the worker\'s log.' } });
        },
      );
      return;
    }
    const health = options.health() ?? { status: 'starting' as const, reason: 'the worker is starting: its queue loops are not running yet' };
    return json(res, answers[path as Probe](health.status) ? 200 : 503, health);
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.maxConnections = 64;
  const flag = options.flag ?? '--metrics';
  const { port } = await listenOn(server, options, { where: `${flag} ${authority(options)}`, flags: (a) => `${flag} ${authority(a)}` });
  return {
    url: `http://${authority({ host: options.host, port })}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
