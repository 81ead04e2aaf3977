import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa, type Options } from 'execa';
import { validateConfig, type ConfigInput, type LoadedConfig } from '../src/runtime/config.js';
import { createLogger } from '../src/runtime/logger.js';
import { Runtime, type RuntimeOptions } from '../src/runtime/context.js';
import { coreOps } from '../src/ops/registry.js';
import { lazyCatalog } from '../src/tools/index.js';
import type { TwlError } from '../src/runtime/errors.js';

export const root = path.resolve(import.meta.dirname, '..');
/** The built binary (TWL_E2E_BIN runs the e2e tests against another build of it, e.g. the one before a fix). */
export const bin = process.env.TWL_E2E_BIN ?? path.join(root, 'bin', 'run.js');

export const POSTGRES_URL = process.env.TWL_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TWL_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh data directory, removed by the returned cleanup. */
export function tempHome(prefix = 'twl-test-'): { home: string; cleanup: () => void } {
  const home = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { home, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

export const quietLogger = () => createLogger(process.env.TWL_TEST_LOG ?? 'silent');

/** A runtime as the CLI builds it: with the core op registry and the tool catalog over it, acting as `test`. */
export const testRuntime = (home: string, config: ConfigInput = {}, options: RuntimeOptions = {}) =>
  new Runtime(loadedFor(home, config), quietLogger(), { actor: 'test', ops: coreOps, tools: (runtime) => lazyCatalog(runtime, options.ops ?? coreOps), ...options });

export function loadedFor(home: string, config: ConfigInput = {}): LoadedConfig {
  return validateConfig({ ...config, home }, undefined, {});
}

const reachable = (url: string) =>
  new Promise<boolean>((resolve) => {
    const { hostname, port } = new URL(url);
    const socket = net.connect({ host: hostname, port: Number(port) });
    socket.setTimeout(1500);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });

/**
 * Whether a real server is there. Under CI=true an unreachable server fails the run:
 * integration tests never pass by skipping what they exist to test.
 */
export async function requireServer(name: string, url: string): Promise<boolean> {
  const ok = await reachable(url);
  if (!ok && process.env.CI === 'true') throw new Error(`${name} at ${url} is unreachable, and CI=true requires it. Start it (see .ci/run).`);
  if (!ok) console.warn(`[twl tests] ${name} at ${url} is unreachable: its tests are skipped (they fail under CI=true).`);
  return ok;
}

export const hasPostgres = await requireServer('PostgreSQL', POSTGRES_URL);
export const hasRedis = await requireServer('Redis', REDIS_URL);

/** This process's environment without TWL_* variables, for the twl processes a test starts. */
export const inheritedEnv = (): Record<string, string> =>
  Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('TWL_') && e[1] !== undefined));

/**
 * The lowest port of the kernel's ephemeral range: the ports it hands out on its own, to
 * `listen(0)` and to the local end of every outgoing connection (32768, Linux's default, where
 * /proc cannot tell).
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 2048) return low;
  } catch {
    // not Linux, or no /proc
  }
  return 32768;
}

/** Whether `port` can be bound on `host` right now: undefined if so, else the error code. */
const bindError = (port: number, host: string) =>
  new Promise<string | undefined>((resolve) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'EUNKNOWN'));
    probe.listen({ port, host }, () => probe.close(() => resolve(undefined)));
  });

/** The ports freePort handed out in this process (one test file never gets the same one twice). */
const handedOut = new Set<number>();

/**
 * A TCP port for a process a test starts on a fixed port (or restarts on the same one), free on
 * 127.0.0.1 and on the wildcard address right now (the children bind one or the other).
 *
 * Not a `listen(0)` port closed for the child to bind later: the kernel hands that range out to
 * every outgoing connection too, and the suite opens thousands, so one took the port in the gap
 * (a child that could not bind; a server restarted after an outage that found its port taken).
 * This one is picked at random below the ephemeral range, which the kernel never hands out on
 * its own: only a process that asks for this very port can take it. Another test file running
 * in parallel that picks its ports the same way is the one collision left, and only by chance
 * (the same port drawn among ~30,000, before either is bound); in-process, `handedOut` rules it out.
 */
export async function freePort(): Promise<number> {
  const low = 1025;
  const high = ephemeralLow() - 1;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (handedOut.has(port)) continue;
    if ((await bindError(port, '127.0.0.1')) !== undefined) continue;
    // '::' is dual-stack (0.0.0.0 too); without IPv6, 0.0.0.0 itself.
    const wildcard = await bindError(port, '::');
    if (wildcard === 'EADDRINUSE' || wildcard === 'EACCES') continue;
    if (wildcard !== undefined && (await bindError(port, '0.0.0.0')) !== undefined) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port found below ${high + 1} in 200 attempts`);
}

/**
 * An HTTP service on 127.0.0.1 that takes the first request and answers it only when told to
 * (`answer`): a twl call to it (a health check of it) is in flight for as long as a test needs,
 * with no clock deciding. `arrived` resolves once the request is there.
 */
export async function heldService(): Promise<{ target: string; arrived: Promise<{ answer: (body: string) => void }>; close: () => void }> {
  let arrive!: (held: { answer: (body: string) => void }) => void;
  const arrived = new Promise<{ answer: (body: string) => void }>((resolve) => (arrive = resolve));
  const server = http.createServer((_req, res) => arrive({ answer: (body) => res.end(body) }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return { target: `http://127.0.0.1:${port}/`, arrived, close: () => (server.closeAllConnections(), server.close()) };
}

/** The commands of the README's Quick start block: the set-up line, then the main job. */
export function quickStart(readme: string): string[] {
  const section = readme.slice(readme.indexOf('## Quick start'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  if (!block) throw new Error('README.md has no ```sh block under "## Quick start"');
  return block.split('\n').filter((line) => line.trim() !== '');
}

/** Runs the built CLI as a user would, with its own data directory and no config file from the host. */
export function twl(args: string[], options: { home: string; env?: Record<string, string>; cwd?: string } & Pick<Options, 'input' | 'timeout'>) {
  const inherited = inheritedEnv();
  return execa(process.execPath, [bin, ...args], {
    cwd: options.cwd ?? options.home,
    env: { ...inherited, TWL_HOME: options.home, HOME: options.home, XDG_CONFIG_HOME: path.join(options.home, '.config'), XDG_DATA_HOME: path.join(options.home, '.data'), NO_COLOR: '1', ...options.env },
    extendEnv: false,
    reject: false,
    input: options.input,
    // A bound for a command that hangs (then it fails): a first command on a loaded machine may take tens of seconds.
    timeout: options.timeout ?? 120_000,
  });
}

export const envelope = (stdout: string) => JSON.parse(stdout) as { status: number; result?: Record<string, unknown>; error?: Record<string, unknown>; warnings: string[] };

/**
 * Starts `twl task logs ID --follow` and collects the lines it prints (with their arrival time).
 * `ready` resolves once it says on stderr that it follows (every line written after that reaches
 * it), and rejects if it ends before: start the task after it.
 */
export function followTaskLogs(home: string, id: number, env: Record<string, string> = {}) {
  const child = twl(['task', 'logs', String(id), '--follow'], { home, env });
  const printed: Array<{ line: string; at: number }> = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines.filter(Boolean)) printed.push({ line, at: Date.now() });
  });
  const ready = new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`(following task #${id},`)) resolve();
    });
    void child.then((r) => reject(new Error(`twl task logs ${id} --follow ended (${r.exitCode}) before it followed: ${err}`)));
  });
  return { child, printed, ready };
}

/** Creates an API key with the CLI (`twl keys create`) and returns it; `namespaces` as `--namespaces` takes them. */
export async function createApiKey(home: string, name: string, role: string, namespaces?: string): Promise<string> {
  const r = await twl(['keys', 'create', '--role', role, '--name', name, ...(namespaces ? ['--namespaces', namespaces] : []), '--json'], { home, timeout: 90_000 });
  if (r.exitCode !== 0) throw new Error(`twl keys create failed: ${r.stderr}`);
  return (envelope(r.stdout).result as { key: string }).key;
}

/** Polls until `probe` gives a value (not undefined), at most `ms`; resolves with it. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** State (a letter: R, S, D, Z, X…) and process group of a process, from /proc/<pid>/stat; undefined when it has none. */
export function procStat(pid: number | string): { state: string; pgrp: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command's closing parenthesis (a command may hold spaces and parentheses): state, ppid, pgrp.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    return { state: state!, pgrp: Number(pgrp) };
  } catch {
    return undefined; // no such process, or gone meanwhile
  }
}

const exitedState = (state: string) => state === 'Z' || state === 'X';

/**
 * Whether a process still runs. Gone means /proc/<pid> missing or a zombie (Z, or X): a process
 * reparented to PID 1 that died may stay a zombie for long (this machine's PID 1 does not promptly
 * reap), and signal 0 (`process.kill(pid, 0)`) still reaches a zombie, so it cannot say.
 */
export function isRunning(pid: number): boolean {
  const stat = procStat(pid);
  return stat !== undefined && !exitedState(stat.state);
}

/** The pids of the processes of a group that still run (zombies excluded, as in isRunning). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(entry);
    if (stat?.pgrp === pgid && !exitedState(stat.state)) members.push(Number(entry));
  }
  return members;
}

/** Whether any process of the group still runs (`process.kill(-pgid, 0)` also counts zombies). */
export const groupRunning = (pgid: number): boolean => groupMembers(pgid).length > 0;

async function becomes(condition: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (condition()) return true;
  return condition();
}

/** Whether a process has exited (see isRunning) within `ms`: a bound on the wait, generous for a loaded machine. */
export const exitsWithin = (pid: number, ms = 30_000): Promise<boolean> => becomes(() => !isRunning(pid), ms);

/** Whether every process of a group has exited (see groupRunning) within `ms`. */
export const groupExitsWithin = (pgid: number, ms = 30_000): Promise<boolean> => becomes(() => !groupRunning(pgid), ms);

/** Closes MCP clients, then stops a `twl serve` started by startHttpServe and waits for it to exit. */
export async function stopServe(serve: { child: ReturnType<typeof execa> } | undefined, clients: Array<{ close(): Promise<void> }> = []): Promise<void> {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  serve?.child.kill('SIGTERM');
  await serve?.child.catch(() => undefined);
}

/** Starts `twl serve --http` on a free port for a data directory (extra variables in `env`); resolves with the process and its base URL. */
export async function startHttpServe(home: string, extraArgs: string[] = [], extraEnv: Record<string, string> = {}): Promise<{ child: ReturnType<typeof execa>; url: string }> {
  const env = inheritedEnv();
  const child = execa(process.execPath, [bin, 'serve', '--http', '--port', '0', ...extraArgs], { env: { ...env, TWL_HOME: home, HOME: home, ...extraEnv }, cwd: home, extendEnv: false, reject: false });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serves MCP at (http:\/\/[^\s]+)\/mcp/.exec(err);
      if (m) resolve(m[1]!);
    });
    void child.then((r) => reject(new Error(`twl serve --http exited (${r.exitCode}) before serving: ${err}`)));
    setTimeout(() => reject(new Error(`twl serve --http did not start within 120 s: ${err}`)), 120_000).unref();
  });
  return { child, url };
}

/**
 * Starts `twl worker --name NAME` for a data directory (extra variables in `env`, extra flags in
 * `args`); resolves with the process once it takes runs, and with its --metrics URL when it has one.
 */
export async function startWorker(home: string, name: string, extraEnv: Record<string, string> = {}, args: string[] = []): Promise<{ child: ReturnType<typeof execa>; metricsUrl?: string }> {
  const child = execa(process.execPath, [bin, 'worker', '--name', name, '--concurrency', '2', '--grace', '5s', ...args], { env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, NO_COLOR: '1', ...extraEnv }, cwd: home, extendEnv: false, reject: false });
  let metricsUrl: string | undefined;
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      metricsUrl ??= /metrics at (http:\/\/\S+)\/metrics/.exec(err)?.[1];
      if (err.includes('takes runs from')) resolve();
    });
    void child.then((r) => reject(new Error(`twl worker ${name} exited (${r.exitCode}): ${err}`)));
    setTimeout(() => reject(new Error(`twl worker ${name} did not start within 60 s: ${err}`)), 60_000).unref();
  });
  // Wrapped: the child is a promise of its exit, and an async function returning it would wait for that.
  return { child, ...(metricsUrl ? { metricsUrl } : {}) };
}

type RpcResponse = { id?: number; result?: { isError?: boolean; structuredContent?: Record<string, unknown>; content?: Array<{ text?: string }> }; error?: unknown };

/**
 * One `twl serve --stdio` session as a client that writes its requests and closes stdin at once:
 * initialize, then each call (ids 2, 3, …). Resolves once the server exits, with the responses by id.
 */
export async function stdioSession(home: string, calls: Array<{ name: string; arguments: Record<string, unknown> }>, env: Record<string, string> = {}) {
  const rpc = (message: Record<string, unknown>) => `${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`;
  const input = [
    rpc({ id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'twl-test', version: '1' } } }),
    rpc({ method: 'notifications/initialized', params: {} }),
    ...calls.map((c, i) => rpc({ id: i + 2, method: 'tools/call', params: c })),
  ].join('');
  const r = await execa(process.execPath, [bin, 'serve', '--stdio'], { env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, ...env }, cwd: home, extendEnv: false, reject: false, input, timeout: 90_000 });
  const messages = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as RpcResponse);
  return { exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout, byId: new Map(messages.filter((m) => m.id !== undefined).map((m) => [m.id!, m])) };
}

/** The error a promise rejects with; fails the test when it resolves. */
export async function errorOf(p: Promise<unknown>): Promise<TwlError> {
  try {
    await p;
  } catch (err) {
    return err as TwlError;
  }
  throw new Error('expected a refusal');
}

/** Runs one statement as the shared PostgreSQL's admin (outside any database a test uses): CREATE or DROP DATABASE. */
export async function postgresAdmin(sql: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * A database of the test's own on the shared PostgreSQL, for tests that change or delete rows
 * that other test files (running at the same time on the shared database) read. `drop` removes it.
 */
export async function scratchDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await postgresAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => postgresAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/**
 * A runtime on a data directory of its own and, on PostgreSQL, a scratch database of its own (for
 * tests that delete rows other test files read); `close` closes it and removes both.
 */
export async function isolatedRuntime(backend: string, prefix: string, config: ConfigInput = {}, options: RuntimeOptions = {}): Promise<{ runtime: Runtime; close: () => Promise<void> }> {
  const t = tempHome(`${prefix}-`);
  const database = backend === 'postgres' ? await scratchDatabase(prefix.replaceAll('-', '_')) : undefined;
  const runtime = testRuntime(t.home, { ...config, ...(database && { database: { url: database.url } }) }, options);
  return {
    runtime,
    close: async () => {
      await runtime.close();
      await database?.drop();
      t.cleanup();
    },
  };
}

/**
 * Runs `p`, with the longest the event loop stood still meanwhile (a 5 ms heartbeat measures it):
 * how the tests of a linear-time guard say a hostile pattern did not hold the process. A
 * backtracking engine would hold it for hours; `STALL_BOUND_MS` is slack for a loaded machine, not
 * a speed goal. (A timer set before the call and checked after it was the earlier oracle: a call
 * answered within the same turn of the loop left it unfired, and such a test failed on a fast answer.)
 */
export async function stalledDuring<T>(p: () => Promise<T>): Promise<{ value?: T; error?: TwlError; stalledMs: number }> {
  let last = performance.now();
  let stalledMs = 0;
  const beat = () => {
    const now = performance.now();
    stalledMs = Math.max(stalledMs, now - last);
    last = now;
  };
  const heartbeat = setInterval(beat, 5);
  const settled = await p().then(
    (value) => ({ value }),
    (err: unknown) => ({ error: err as TwlError }),
  );
  clearInterval(heartbeat);
  beat(); // the stretch since the last heartbeat counts too
  return { ...settled, stalledMs };
}
export const STALL_BOUND_MS = 10_000;
