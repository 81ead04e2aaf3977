import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript shared with `npm run bench -- fuzz`
import { fuzz, fuzzConfig } from '../../bench/fuzz.mjs';
import { envelope, startHttpServe, tempHome, twl } from '../helpers.js';

interface FuzzResult {
  seed: number;
  requests: number;
  statuses: Record<string, number>;
  findings: Array<{ kind: string; request: unknown; detail: string }>;
}

// A few seconds of random and malformed JSON-RPC and of schema-shaped arguments for every tool, over
// MCP and REST, as an admin, under a configuration where no command runs and nothing leaves loopback.
// One pass with a fixed seed (reproducible), one with a fresh seed; a failure names the seed to replay
// with `TWL_FUZZ_SEED=<seed> npx vitest run test/e2e/fuzz-http.test.ts` (or `npm run bench -- fuzz --seed <seed>`).
describe('fuzzing twl serve --http', () => {
  let home: string;
  let cleanup: () => void;
  let server: Awaited<ReturnType<typeof startHttpServe>>;
  let admin: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-fuzz-'));
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify(fuzzConfig(home)));
    server = await startHttpServe(home);
    admin = String((envelope((await twl(['keys', 'create', '--role', 'admin', '--json'], { home })).stdout).result as { key: string }).key);
  });
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.child;
    cleanup?.();
  });

  const seeds = [Number(process.env.TWL_FUZZ_SEED ?? 20261206), Math.floor(Math.random() * 2 ** 31)];
  it.each(seeds)('finds no crash, no 500 and no stack trace (seed %i)', async (seed) => {
    const result = (await fuzz({ url: server.url, key: admin, seed, durationMs: Number(process.env.TWL_FUZZ_MS ?? 4000) })) as FuzzResult;
    const report = result.findings.slice(0, 5).map((f) => `${f.kind}: ${JSON.stringify(f.request).slice(0, 300)} → ${f.detail.slice(0, 300)}`).join('\n');
    expect(result.findings, `seed ${seed} (replay: TWL_FUZZ_SEED=${seed}), ${result.requests} requests:\n${report}`).toEqual([]);
    expect(result.requests).toBeGreaterThan(10);
    expect((await fetch(`${server.url}/health/live`)).status).toBe(200);
  });
});
