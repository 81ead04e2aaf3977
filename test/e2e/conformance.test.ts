import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpServe, tempHome } from '../helpers.js';

// The official MCP conformance suite, run against `twl serve --http`. The scenarios that apply
// to a product server (the others call fixture tools only the suite's own server has).
const scenarios = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'resources-list',
  'resources-subscribe',
  'resources-unsubscribe',
  'prompts-list',
  'dns-rebinding-protection',
  'server-sse-multiple-streams',
];

const require = createRequire(import.meta.url);
const suitePackage = require.resolve('@modelcontextprotocol/conformance/package.json');
const suiteBin = path.join(path.dirname(suitePackage), (require(suitePackage) as { bin: Record<string, string> }).bin.conformance!);

describe('the MCP conformance suite against twl serve --http', () => {
  let home: string;
  let cleanup: () => void;
  let server: Awaited<ReturnType<typeof startHttpServe>>['child'];
  let url: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-conformance-'));
    // The suite sends no API key: this server runs keyless, on loopback only.
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    ({ child: server, url } = await startHttpServe(home));
    url = `${url}/mcp`;
  });
  afterAll(async () => {
    server.kill('SIGTERM');
    await server;
    cleanup();
  });

  it.each(scenarios)('%s passes', async (scenario) => {
    const r = await execa(process.execPath, [suiteBin, 'server', '--url', url, '--scenario', scenario], { reject: false, timeout: 120_000, env: { NO_COLOR: '1', FORCE_COLOR: '0', PATH: process.env.PATH ?? '' } });
    const out = stripVTControlCharacters(`${r.stdout}\n${r.stderr}`);
    const summary = /Passed: (\d+)\/(\d+), (\d+) failed/.exec(out);
    expect(summary, out).not.toBeNull();
    expect(Number(summary![3]), out).toBe(0);
    expect(Number(summary![1]), out).toBe(Number(summary![2]));
    expect(Number(summary![2])).toBeGreaterThan(0);
  });
});
