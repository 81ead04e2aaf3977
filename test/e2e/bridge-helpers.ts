// Shared by the `twl bridge` end-to-end tests: start a bridge as a user would, and find the
// upstream processes it started, by a marker in their command line (a `--require` of an empty
// file made for the test), so a child re-parented after its bridge died is still found.
import { execa } from 'execa';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bin, inheritedEnv, root } from '../helpers.js';

export const everything = path.join(root, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const fixtureServer = path.join(root, 'test/fixtures/upstream-server.ts');
export const tinyServer = path.join(root, 'test/fixtures/tiny-mcp.mjs');

/** A marker file for one test's upstream processes; the upstream command starts with `node --require <marker>`. */
export function marker(): { file: string; node: string[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'twl-bridge-mark-'));
  const file = path.join(dir, 'upstream.cjs');
  writeFileSync(file, '// marks the upstream processes of one test\n');
  return { file, node: [process.execPath, '--require', file] };
}

/** Pids of the processes with `file` as one of their arguments, but `except` (the bridge, whose own arguments name it). */
export function processesWith(file: string, except: Array<number | undefined> = []): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || except.includes(Number(entry))) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(file)) pids.push(Number(entry));
    } catch {
      // Gone between the listing and the read.
    }
  }
  return pids;
}

/** Polls `check` until it holds, or throws with `what` after `ms` (a bound on the wait, not a timing assertion). */
export async function eventually<T>(check: () => T | Promise<T>, what: string, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`${what}: still not so after ${ms / 1000} s${last ? ` (${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `twl bridge --port 0 <args>` for a data directory; resolves with the process and its base URL. */
export async function startBridge(home: string, args: string[], extraEnv: Record<string, string> = {}) {
  const child = execa(process.execPath, [bin, 'bridge', '--port', '0', ...args], { env: { ...inheritedEnv(), TWL_HOME: home, HOME: home, ...extraEnv }, cwd: home, extendEnv: false, reject: false });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /serves MCP at (http:\/\/[^\s]+)\/mcp/.exec(output);
      if (m) resolve(m[1]!);
    });
    void child.then((r) => reject(new Error(`twl bridge exited (${r.exitCode ?? r.signal}) before serving: ${output}`)));
    setTimeout(() => reject(new Error(`twl bridge did not start within 90 s: ${output}`)), 90_000);
  });
  return { child, url, output: () => output };
}

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/** One JSON request; the answer's status and parsed body. */
export async function request(url: string, init: { method?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<Answer> {
  const r = await fetch(url, { method: init.method ?? 'POST', headers: { 'content-type': 'application/json', ...init.headers }, ...(init.body === undefined ? {} : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }) });
  const text = await r.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text };
  }
  return { status: r.status, body };
}

/** POST /mcp/tools/call on the bridge's REST face. */
export const restCall = (base: string, name: string, args: Record<string, unknown> = {}, headers: Record<string, string> = {}) => request(`${base}/mcp/tools/call`, { headers, body: { name, arguments: args } });
