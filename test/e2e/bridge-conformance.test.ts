// The official MCP conformance suite against `twl bridge -- <server-everything stdio>`, compared
// with server-everything served by its own Streamable HTTP transport, in the same run: the bridge
// passes at least every scenario the server passes on its own.
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, inheritedEnv, tempHome } from '../helpers.js';
import { eventually, everything, startBridge } from './bridge-helpers.js';

const require = createRequire(import.meta.url);
const suitePackage = require.resolve('@modelcontextprotocol/conformance/package.json');
const suiteBin = path.join(path.dirname(suitePackage), (require(suitePackage) as { bin: Record<string, string> }).bin.conformance!);

/** Every scenario of the suite's active set against `url`, by name: passed or not. */
async function conformance(url: string): Promise<Map<string, boolean>> {
  const r = await execa(process.execPath, [suiteBin, 'server', '--url', url], { reject: false, timeout: 300_000, env: { NO_COLOR: '1', FORCE_COLOR: '0', PATH: process.env.PATH ?? '' } });
  const out = stripVTControlCharacters(`${r.stdout}\n${r.stderr}`);
  const summary = out.slice(out.indexOf('=== SUMMARY ==='));
  const results = new Map<string, boolean>();
  for (const m of summary.matchAll(/^[✓✗] ([\w-]+): (\d+) passed, (\d+) failed/gm)) results.set(m[1]!, Number(m[3]) === 0 && Number(m[2]) > 0);
  if (!results.size) throw new Error(`no summary from the conformance suite: ${out.slice(-2000)}`);
  return results;
}

describe('the MCP conformance suite: twl bridge against server-everything on its own HTTP transport', () => {
  let cleanup: () => void;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let own: ReturnType<typeof execa>;
  let ownUrl: string;

  beforeAll(async () => {
    const made = tempHome('twl-bridge-conformance-');
    cleanup = made.cleanup;
    // The suite sends no API key: this bridge runs keyless, on loopback only.
    writeFileSync(path.join(made.home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    bridge = await startBridge(made.home, ['--', process.execPath, everything, 'stdio']);
    const port = await freePort();
    own = execa(process.execPath, [everything, 'streamableHttp'], { env: { ...inheritedEnv(), PORT: String(port) }, extendEnv: false, reject: false });
    ownUrl = `http://localhost:${port}/mcp`;
    await eventually(() => fetch(ownUrl, { method: 'GET' }).then(() => true), 'server-everything listens');
  });
  afterAll(async () => {
    bridge?.child.kill('SIGTERM');
    own?.kill('SIGTERM');
    await Promise.all([bridge?.child, own]);
    cleanup();
  });

  it('passes every scenario server-everything passes by itself', async () => {
    const [theirs, ours] = await Promise.all([conformance(ownUrl), conformance(`${bridge.url}/mcp`)]);
    const theyPass = [...theirs].filter(([, ok]) => ok).map(([name]) => name);
    // The comparison means something only if the server passes scenarios of its own.
    expect(theyPass.length).toBeGreaterThan(5);
    const missed = theyPass.filter((name) => !ours.get(name));
    expect(missed, `passed by server-everything, not through the bridge: ${missed.join(', ')}`).toEqual([]);
    // And the bridge adds the DNS-rebinding protection the server lacks.
    expect(ours.get('dns-rebinding-protection')).toBe(true);
  });
});
