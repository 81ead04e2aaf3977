import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, root, tempHome, twl } from '../helpers.js';

let home: string;
let cleanup: () => void;
beforeAll(() => ({ home, cleanup } = tempHome('twl-e2e-code-')));
afterAll(() => cleanup());

const project = 'test/fixtures/code/project';
// Run from the repository root, so finding paths are relative to it (as in CI).
const code = (args: string[], input?: string) => twl(['code', ...args], { home, cwd: root, input });

describe('twl code scan', () => {
  it('reports the planted AWS key and the interpolated exec with file and line, exit code 1', async () => {
    const r = await code(['scan', project]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^test\/fixtures\/code\/project\/src\/deploy\.ts:4:\d+ +error +secret\/aws-access-key +Hard-coded AWS access key id: AKIA\*\*\*/m);
    expect(r.stdout).toMatch(/^test\/fixtures\/code\/project\/src\/deploy\.ts:7:3 +error +dangerous\/shell-exec-interpolation /m);
    expect(r.stdout).toMatch(/errors?, \d+ warnings?, \d+ notes? in 4 files\./);
    expect(r.stdout + r.stderr).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(r.stderr).toMatch(/npm audit skipped: no package-lock\.json/);
  });

  it('--format sarif prints a SARIF 2.1.0 log on stdout that validates against the official schema', async () => {
    const r = await code(['scan', project, '--format', 'sarif']);
    expect(r.exitCode, r.stderr).toBe(1);
    const log = JSON.parse(r.stdout) as { version: string; runs: Array<{ results: Array<{ ruleId: string; locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }> }> }> };
    const ajv = new Ajv({ strict: false });
    formats.default(ajv);
    const validate = ajv.compile(JSON.parse(readFileSync(path.join(root, 'test/fixtures/sarif-schema-2.1.0.json'), 'utf8')) as object);
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const where = log.runs[0]!.results.map((x) => `${x.ruleId} ${x.locations[0]!.physicalLocation.artifactLocation.uri}:${x.locations[0]!.physicalLocation.region.startLine}`);
    expect(where).toEqual(expect.arrayContaining(['secret/aws-access-key test/fixtures/code/project/src/deploy.ts:4', 'dangerous/shell-exec-interpolation test/fixtures/code/project/src/deploy.ts:7']));
    expect(r.stdout).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('--json gives the envelope, with the status of the exit code', async () => {
    const r = await code(['scan', project, '--json']);
    expect(r.exitCode).toBe(1);
    const body = envelope(r.stdout);
    expect(body.status).toBe(1);
    expect(body.result).toMatchObject({ format: 'json', sarif: null, audit: { status: 'skipped' }, filesScanned: 4 });
    expect((body.result!.counts as { error: number }).error).toBeGreaterThanOrEqual(2);
  });

  it('a clean file exits 0', async () => {
    const r = await code(['scan', `${project}/src/clean.ts`]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toContain('0 errors, 0 warnings, 0 notes in 1 file.');
  });

  it('a path that does not exist is a clear TWL_PATH_NOT_FOUND with exit code 7', async () => {
    const r = await code(['scan', 'no/such/dir']);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toMatch(/Error \(TWL_PATH_NOT_FOUND\): No such file or directory: no\/such\/dir/);
    const json = await code(['scan', 'no/such/dir', '--json']);
    expect(json.exitCode).toBe(7);
    expect(envelope(json.stdout).error).toMatchObject({ code: 'TWL_PATH_NOT_FOUND' });
  });
});

describe('twl code review', () => {
  it('groups findings by file: unreachable code, TODO, complexity', async () => {
    const r = await code(['review', project, '--no-llm']);
    expect(r.exitCode, r.stderr).toBe(1); // the planted secret is an error
    expect(r.stdout).toMatch(/^test\/fixtures\/code\/project\/src\/legacy\.js:5:5 +warning +ts\/unreachable-code /m);
    expect(r.stdout).toMatch(/^test\/fixtures\/code\/project\/src\/legacy\.js:1:4 +note +comment\/todo +TODO: replace this module/m);
    expect(r.stdout).toMatch(/legacy\.js:2:1 +warning +ts\/complexity +Function price has a cyclomatic complexity of 17/);
    expect(r.stdout).not.toContain('clean.ts');
  });

  it('reads code from stdin with -, exit code 0 without errors', async () => {
    const r = await code(['review', '-', '--filename', 'app.js', '--json'], 'function f() {\n  return 1;\n  f();\n}\n');
    expect(r.exitCode, r.stderr).toBe(0);
    const body = envelope(r.stdout);
    expect(body.result).toMatchObject({ target: 'app.js', root: null, findings: [{ file: 'app.js', line: 3, rule: 'ts/unreachable-code', severity: 'warning' }] });
  });

  it('a file that does not exist fails with TWL_PATH_NOT_FOUND', async () => {
    const r = await code(['review', 'missing.ts']);
    expect(r.exitCode).toBe(7);
    expect(r.stderr).toContain('TWL_PATH_NOT_FOUND');
  });
});
