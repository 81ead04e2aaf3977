import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, tempHome, twl } from '../helpers.js';

const root = path.resolve(import.meta.dirname, '../..');
const evaluate = (args: string[]) => execa(process.execPath, ['eval/run.mjs', ...args], { cwd: root, reject: false });

let dir: string;
let home: string;
let cleanup: () => void;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'twl-eval-'));
  ({ home, cleanup } = tempHome('twl-triage-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  cleanup();
});

// The CI regression guard: every held-out figure within 3 points of the committed baseline.
describe('npm run eval -- --check', () => {
  it('passes against the committed baseline, printing the figures, confusion and calibration', async () => {
    const r = await evaluate(['--check']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/eval\/tickets\.jsonl: \d{3} tickets/);
    expect(r.stdout).toMatch(/category: confusion/);
    expect(r.stdout).toMatch(/reliability/);
    expect(r.stdout).toMatch(/no held-out figure dropped more than 3 points/);
  });

  it('fails, naming the figure, when one is more than 3 points below the baseline', async () => {
    // Today's figures, not the committed ones (which may sit below them), one of them raised by 3.5 points.
    const file = path.join(dir, 'baseline.json');
    expect((await evaluate(['--write-baseline', '--baseline', file])).exitCode).toBe(0);
    const baseline = JSON.parse(readFileSync(file, 'utf8')) as { sets: Record<string, Record<string, { accuracy: number }>> };
    baseline.sets.tickets!.priority!.accuracy += 3.5;
    writeFileSync(file, JSON.stringify(baseline));
    const r = await evaluate(['--check', '--baseline', file]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/tickets priority accuracy .* − 3/);
  });
});

describe('twl ticket classify --json', () => {
  it.each([
    ['La boutique en ligne ne charge plus', { category: 'application' }],
    ['Someone phished my password, I clicked a suspicious link and typed my credentials', { category: 'security' }],
  ])('%s', async (text, expected) => {
    const r = await twl(['ticket', 'classify', '--text', text, '--json'], { home });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = envelope(r.stdout).result as { category: string; priority: string; reasons: string[]; method: string; disagreement: unknown };
    expect(result).toMatchObject({ ...expected, method: 'rules', disagreement: null });
    expect(result.reasons.length).toBeGreaterThan(1);
    if (expected.category === 'security') expect(['urgent', 'high']).toContain(result.priority);
  });

  it('gives the README quick-start ticket a negative tone', async () => {
    const r = await twl(['ticket', 'classify', '--text', 'Application ne répond plus depuis 2h, tout le service est bloqué', '--json'], { home });
    const result = envelope(r.stdout).result as { sentiment: { sentiment: string } };
    expect(result.sentiment.sentiment).toBe('negative');
  });
});

