import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import typescript from 'typescript';
import { Ajv } from 'ajv';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeSource, capFindings, reviewCode, scanCode } from '../../../src/agents/code-review/analyze.js';
import { findingsFromAudit } from '../../../src/agents/code-review/audit.js';
import { acceptLlmFindings } from '../../../src/agents/code-review/llm-review.js';
import type { Finding } from '../../../src/agents/code-review/rules.js';
import { toSarif, toUriReference, twlToolInfo } from '../../../src/agents/code-review/sarif.js';
import { findSecrets, looksRandom, maskSecret, shannonEntropy } from '../../../src/agents/code-review/secrets.js';
import { analyzeText } from '../../../src/agents/code-review/text.js';
import { analyzeTypeScript, cyclomaticComplexity, scriptKindOf } from '../../../src/agents/code-review/typescript.js';
import { walk } from '../../../src/agents/code-review/walk.js';
import { invoke } from '../../../src/ops/invoke.js';
import reviewOp from '../../../src/ops/code/review.js';
import scanOp from '../../../src/ops/code/scan.js';
import { Llm } from '../../../src/runtime/llm.js';
import { Runtime } from '../../../src/runtime/context.js';
import { FakeOllama } from '../../fixtures/ollama-server.js';
import { loadedFor, quietLogger, root, tempHome } from '../../helpers.js';

const fixtures = path.join(root, 'test/fixtures/code/project');
const fixture = (name: string) => readFileSync(path.join(fixtures, name), 'utf8');
const ts = (code: string, file = 'x.ts') => analyzeTypeScript(file, code, scriptKindOf(file)!);
const rulesOf = (findings: Finding[]) => findings.map((f) => f.rule);
const at = (findings: Finding[], rule: string) => findings.filter((f) => f.rule === rule).map((f) => [f.line, f.column]);

// The official SARIF 2.1.0 schema (OASIS, $id …/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json), as shipped
// in the npm package @datadog/datadog-ci@2.44.0 (dist/commands/sarif/json-schema/sarif-schema-2.1.0.json), unchanged.
const sarifValidator = () => {
  const ajv = new Ajv({ strict: false });
  formats.default(ajv);
  return ajv.compile(JSON.parse(readFileSync(path.join(root, 'test/fixtures/sarif-schema-2.1.0.json'), 'utf8')) as object);
};

describe('TypeScript/JavaScript checks', () => {
  it('finds unreachable code after return, throw, break and continue, but not hoisted functions', () => {
    const findings = ts(`function a() {
  return 1;
  console.log('dead');
}
function b(x: number) {
  if (x) { throw new Error('x'); } else { return 2; }
  x++;
}
function c() {
  for (const i of [1]) { continue; i; }
  return helper();
  function helper() { return 3; }
}
switch (1) { case 1: break; foo(); }`);
    expect(at(findings, 'ts/unreachable-code')).toEqual([
      [3, 3],
      [7, 3],
      [10, 36],
      [14, 29],
    ]);
  });

  it('measures cyclomatic complexity per function, not counting nested ones', () => {
    expect(ts(fixture('src/legacy.js'), 'legacy.js').find((f) => f.rule === 'ts/complexity')?.message).toMatch(/price has a cyclomatic complexity of 17/);
    const simple = analyzeTypeScript('s.ts', 'const f = (a: number) => a > 0 ? 1 : 2;', scriptKindOf('s.ts')!, { complexity: 1, functionLines: 80 });
    expect(simple.find((f) => f.rule === 'ts/complexity')?.message).toMatch(/Function f has a cyclomatic complexity of 2 \(more than 1\)/);
    const nested = analyzeTypeScript('n.ts', 'function outer() { const inner = () => a && b || c; return inner; }', scriptKindOf('n.ts')!, { complexity: 2, functionLines: 80 });
    expect(nested.filter((f) => f.rule === 'ts/complexity').map((f) => f.message)).toEqual([expect.stringMatching(/inner has a cyclomatic complexity of 3/)]);
  });

  it('counts branches the McCabe way', () => {
    const sf = typescript.createSourceFile('c.ts', 'function f(a, b) { if (a) {} else if (b) {} while (a) {} try {} catch {} return a ?? b; }', typescript.ScriptTarget.Latest, true);
    const fn = sf.statements[0] as typescript.FunctionDeclaration;
    expect(cyclomaticComplexity(fn.body!)).toBe(6);
  });

  it('reports very long functions', () => {
    const body = Array.from({ length: 90 }, (_, i) => `  const v${i} = ${i};`).join('\n');
    const findings = ts(`export function big() {\n${body}\n}\n`);
    expect(findings.find((f) => f.rule === 'ts/long-function')).toMatchObject({ line: 1, severity: 'warning', message: expect.stringMatching(/big is 92 lines long/) });
  });

  it('reads TODO/FIXME/XXX/HACK from comments only, including one before a closing brace', () => {
    const findings = ts(`// TODO: first
const s = 'TODO: not a comment';
function f() {
  /* FIXME broken */
  // HACK: around the bug
}
`);
    expect(findings.map((f) => [f.rule, f.line, f.severity, f.message])).toEqual([
      ['comment/todo', 1, 'note', 'TODO: first'],
      ['comment/fixme', 4, 'warning', 'FIXME: broken'],
      ['comment/fixme', 5, 'warning', 'HACK: around the bug'],
    ]);
  });

  it('flags eval, new Function, innerHTML from values and casts to any', () => {
    const findings = ts(`eval(userInput);
const f = new Function('a', body);
el.innerHTML = html;
el.innerHTML = '<b>static</b>';
const x = data as any;`);
    expect(rulesOf(findings)).toEqual(['dangerous/eval', 'dangerous/new-function', 'dangerous/inner-html', 'ts/any-cast']);
  });

  it('flags shell commands built from interpolated input, from child_process only', () => {
    const findings = ts(`import { exec, execFile } from 'node:child_process';
import * as cp from 'child_process';
import { exec as run } from './db.js';
exec(\`rm \${x}\`);
cp.execSync('ls ' + dir);
execFile('rm', [x]);
exec('ls -la');
run(\`select \${x}\`);
regex.exec(\`\${x}\`);`);
    expect(at(findings, 'dangerous/shell-exec-interpolation')).toEqual([
      [4, 1],
      [5, 1],
    ]);
  });

  it('flags SQL built by concatenation or interpolation, more severely inside quotes, and leaves tagged templates alone', () => {
    const findings = ts(`db.query("SELECT * FROM users WHERE name = '" + name + "'");
db.query(\`DELETE FROM \${table} WHERE id = $1\`, [id]);
db.query(sql\`SELECT * FROM users WHERE id = \${id}\`);
const msg = \`selected \${n} items from the list\`;
db.query('SELECT 1');`);
    expect(findings.filter((f) => f.rule === 'dangerous/sql-concatenation').map((f) => [f.line, f.severity])).toEqual([
      [1, 'error'],
      [2, 'warning'],
    ]);
  });

  it('knows which files are TypeScript or JavaScript', () => {
    expect(['a.ts', 'b.TSX', 'c.mjs', 'd.cjs', 'e.jsx', 'f.mts'].map((f) => scriptKindOf(f) !== undefined)).toEqual([true, true, true, true, true, true]);
    expect(scriptKindOf('a.py')).toBeUndefined();
    expect(scriptKindOf('Makefile')).toBeUndefined();
  });
});

describe('language-agnostic checks', () => {
  it('finds TODO/FIXME, long lines (a few, then a count) and whitespace notes', () => {
    const long = 'x'.repeat(250);
    const text = ['# TODO: write this', 'ok', ...Array.from({ length: 7 }, () => long), 'trailing   ', '\tindented', '    spaced', 'FIXME: later'].join('\n');
    const findings = analyzeText('notes.py', text);
    expect(findings.filter((f) => f.rule === 'text/long-line')).toHaveLength(5);
    expect(findings.filter((f) => f.rule === 'text/long-line').at(-1)!.message).toMatch(/2 more lines are longer than 200/);
    expect(findings.find((f) => f.rule === 'comment/todo')).toMatchObject({ line: 1, column: 3, severity: 'note' });
    expect(findings.find((f) => f.rule === 'comment/fixme')).toMatchObject({ line: 13, severity: 'warning' });
    expect(findings.find((f) => f.rule === 'text/trailing-whitespace')).toMatchObject({ line: 10, severity: 'note', message: expect.stringMatching(/^1 line ends in whitespace/) });
    expect(findings.find((f) => f.rule === 'text/mixed-indentation')).toMatchObject({ line: 11, severity: 'note' });
  });

  it('expects tabs in a Makefile', () => {
    expect(rulesOf(analyzeText('Makefile', 'all:\n\techo hi\n    x'))).not.toContain('text/mixed-indentation');
  });
});

describe('secrets', () => {
  const key = 'AKIAIOSFODNN7EXAMPLE';
  const awsSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  const ghToken = `ghp_${'A1b2C3d4E5'.repeat(3)}abcdef`;
  const slack = 'xoxb-123456789012-abcdefABCDEF';

  it('finds the well-known shapes, each once, with line and column', () => {
    const text = [
      `const id = '${key}';`,
      `aws_secret_access_key = "${awsSecret}"`,
      `token: ${ghToken}`,
      `SLACK=${slack}`,
      '-----BEGIN RSA PRIVATE KEY-----',
      'const password = "hunter2hunter2";',
      'const apiKey = "${API_KEY}";',
      'const password = process.env.PASSWORD;',
    ].join('\n');
    const hits = findSecrets(text);
    expect(hits.map((h) => [h.rule, h.line])).toEqual([
      ['secret/aws-access-key', 1],
      ['secret/aws-secret-key', 2],
      ['secret/github-token', 3],
      ['secret/slack-token', 4],
      ['secret/private-key', 5],
      ['secret/hardcoded-credential', 6],
    ]);
    expect(hits[0]).toMatchObject({ column: 13, severity: 'error' });
  });

  it('measures entropy and flags random-looking strings only', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
    expect(looksRandom('k8Qz1VvR3nLw9XpT2bYc7HdA5mJe0sGu')).toBe(true);
    expect(looksRandom('this-is-a-long-kebab-case-identifier')).toBe(false);
    expect(looksRandom('SOME_CONSTANT_NAME_THAT_IS_LONG')).toBe(false);
    expect(looksRandom('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(findSecrets(`const k = "k8Qz1VvR3nLw9XpT2bYc7HdA5mJe0sGu";`).map((h) => h.rule)).toEqual(['secret/high-entropy-string']);
  });

  it('never outputs a secret in full, in any finding of the file', () => {
    const code = `import { exec } from 'child_process';\nexec(\`curl -H "Authorization: ${ghToken}" \${url}\`);\nconst id = "${key}";\n`;
    const { findings } = analyzeSource('a.ts', code);
    expect(rulesOf(findings).sort()).toEqual(['dangerous/shell-exec-interpolation', 'secret/aws-access-key', 'secret/github-token']);
    const out = JSON.stringify(findings);
    for (const secret of [ghToken, key]) expect(out).not.toContain(secret);
    expect(out).toContain('ghp_***');
    expect(maskSecret(key)).toBe('AKIA***');
    expect(maskSecret('short1')).toBe('s***');
  });
});

describe('walking a tree', () => {
  let dir: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ home: dir, cleanup } = tempHome('twl-code-'));
    for (const d of ['src', 'node_modules/pkg', '.git', 'dist', 'coverage']) mkdirSync(path.join(dir, d), { recursive: true });
    for (const f of ['src/a.ts', 'src/b.ts', 'src/c.ts', 'node_modules/pkg/index.js', '.git/config', 'dist/a.js', 'coverage/x.js']) writeFileSync(path.join(dir, f), 'export const x = 1;\n');
    writeFileSync(path.join(dir, 'src/logo.bin'), Buffer.from([1, 0, 2, 3]));
    writeFileSync(path.join(dir, 'src/big.txt'), 'x'.repeat(2 * 1024 * 1024));
    writeFileSync(path.join(dir, 'package-lock.json'), '{"lockfileVersion":3,"packages":{}}');
  });
  afterAll(() => cleanup());

  it('skips dependencies, VCS data, build output, binaries, large and generated files', async () => {
    const r = await walk(dir);
    expect(r.files.map((f) => f.relative)).toEqual(['src/a.ts', 'src/b.ts', 'src/c.ts']);
    expect(r.skipped).toEqual({ binary: 1, tooLarge: 1, generated: 1, unreadable: 0 });
    expect(r.root).toBe(dir);
    expect(r.notes).toEqual([expect.stringMatching(/Skipped 1 file larger than 1024 kB/)]);
  });

  it('stops at the file limit and says so', async () => {
    const r = await walk(dir, { maxFiles: 2, maxBytes: 1024 * 1024 });
    expect(r.files).toHaveLength(2);
    expect(r.limitReached).toBe(true);
    expect(r.warnings[0]).toMatch(/Stopped after 2 files \(the file limit\)/);
  });

  it('fails with TWL_PATH_NOT_FOUND for a path that does not exist', async () => {
    await expect(walk(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'TWL_PATH_NOT_FOUND', exitCode: 7, message: expect.stringMatching(/No such file or directory/) });
  });

  it('reports npm audit as unavailable, never as clean, when npm cannot run', async () => {
    const r = await scanCode(dir, { audit: true, maxFindings: 100, npm: path.join(dir, 'no-such-npm') });
    expect(r.audit).toMatchObject({ status: 'unavailable', lockfile: expect.stringMatching(/package-lock\.json$/), vulnerabilities: 0, detail: expect.stringMatching(/could not run/) });
    expect(r.warnings[0]).toMatch(/Dependency audit unavailable: .*NOT checked/);
  });
});

describe('the scan and the review on the fixture project', () => {
  it('reports the planted AWS key and the interpolated exec with file and line, and skips npm audit without a lockfile', async () => {
    const r = await scanCode(fixtures, { audit: true, maxFindings: 100 });
    expect(r.findings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ file: 'test/fixtures/code/project/src/deploy.ts', line: 4, rule: 'secret/aws-access-key', severity: 'error' }),
        expect.objectContaining({ file: 'test/fixtures/code/project/src/deploy.ts', line: 7, rule: 'dangerous/shell-exec-interpolation', severity: 'error' }),
      ]),
    );
    expect(r.findings.every((f) => !f.rule.startsWith('comment/') && !f.rule.startsWith('ts/'))).toBe(true);
    expect(JSON.stringify(r)).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(r.audit).toMatchObject({ status: 'skipped', lockfile: null, detail: expect.stringMatching(/no package-lock\.json/) });
    expect(r.notes).toContain('npm audit skipped: no package-lock.json or npm-shrinkwrap.json in test/fixtures/code/project.');
    expect(r.filesScanned).toBe(4);
  });

  it('reviews: unreachable code, TODO, complexity; the clean file has no finding', async () => {
    const r = await reviewCode({ path: fixtures }, { maxFindings: 500, useLlm: true });
    const legacy = r.findings.filter((f) => f.file.endsWith('legacy.js')).map((f) => [f.rule, f.line]);
    expect(legacy).toEqual([
      ['comment/todo', 1],
      ['ts/complexity', 2],
      ['ts/unreachable-code', 5],
      ['comment/fixme', 29],
    ]);
    expect(r.findings.filter((f) => f.file.endsWith('clean.ts'))).toEqual([]);
    expect(r.llm).toEqual({ status: 'not_configured', model: null, filesReviewed: 0, findings: 0 });
    expect(r.notes).toContain('LLM review skipped: no LLM is configured (llm.host); the findings are the static checks.');
  });

  it('caps the findings, keeping the most severe, and counts them all', () => {
    const f = (severity: Finding['severity'], line: number): Finding => ({ file: 'a', line, column: 1, rule: 'r', severity, message: 'm', snippet: null, source: 'static' });
    const capped = capFindings([f('note', 1), f('error', 9), f('warning', 5), f('note', 2)], 2);
    expect(capped.findings.map((x) => x.line)).toEqual([5, 9]);
    expect(capped).toMatchObject({ total: 4, truncated: true, counts: { error: 1, warning: 1, note: 2 } });
  });
});

describe('npm audit reports', () => {
  it('turns each vulnerable package into a finding at its lockfile line', () => {
    const lock = '{\n  "packages": {\n    "": {},\n    "node_modules/minimist": {\n      "version": "0.0.8"\n    }\n  }\n}\n';
    const findings = findingsFromAudit(
      {
        vulnerabilities: {
          minimist: {
            name: 'minimist',
            severity: 'critical',
            isDirect: true,
            range: '<0.2.4',
            via: [{ title: 'Prototype Pollution in minimist', url: 'https://github.com/advisories/GHSA-xvch-5gv4-984h', severity: 'critical' }],
            nodes: ['node_modules/minimist'],
            fixAvailable: { name: 'minimist', version: '1.2.8', isSemVerMajor: true },
          },
          mkdirp: { name: 'mkdirp', severity: 'moderate', via: ['minimist'], nodes: ['node_modules/mkdirp'], fixAvailable: true },
        },
      },
      'package-lock.json',
      lock,
    );
    expect(findings).toEqual([
      expect.objectContaining({ file: 'package-lock.json', line: 4, rule: 'dependency/npm-audit', severity: 'error', source: 'npm-audit', message: expect.stringMatching(/minimist <0\.2\.4 has a known critical vulnerability \(direct dependency\): Prototype Pollution.*fix: minimist@1\.2\.8 \(major upgrade\)/) }),
      expect.objectContaining({ line: 1, severity: 'warning', message: expect.stringMatching(/mkdirp .*through minimist; fix available/) }),
    ]);
  });
});

describe('SARIF', () => {
  it('validates against the official SARIF 2.1.0 schema, with relative forward-slash URIs', async () => {
    const r = await scanCode(fixtures, { audit: false, maxFindings: 100 });
    const log = toSarif(r.findings, twlToolInfo());
    const validate = sarifValidator();
    expect(validate(log), JSON.stringify(validate.errors)).toBe(true);
    const run = log.runs[0]!;
    expect(run.tool.driver).toMatchObject({ name: 'twl', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(run.tool.driver.rules.map((x) => x.id)).toEqual(['dangerous/shell-exec-interpolation', 'dangerous/sql-concatenation', 'secret/aws-access-key']);
    const exec = run.results.find((x) => x.ruleId === 'dangerous/shell-exec-interpolation')!;
    expect(exec).toMatchObject({ level: 'error', locations: [{ physicalLocation: { artifactLocation: { uri: 'test/fixtures/code/project/src/deploy.ts' }, region: { startLine: 7, startColumn: 3 } } }] });
    expect(run.tool.driver.rules[exec.ruleIndex]!.id).toBe(exec.ruleId);
    expect(JSON.stringify(log)).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('is also valid with no findings, and the validator rejects a broken log', () => {
    const validate = sarifValidator();
    expect(validate(toSarif([], { version: '1.0.0', informationUri: 'https://example.com/twl' }))).toBe(true);
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(toUriReference('src\\a b/c.ts')).toBe('src/a%20b/c.ts');
  });
});

describe('LLM review', () => {
  let ollama: FakeOllama;
  beforeAll(async () => (ollama = await new FakeOllama().start()));
  afterAll(() => ollama.stop());
  const code = 'const id = "AKIAIOSFODNN7EXAMPLE";\nexport function f(a: number) {\n  return a / 0;\n}\n';

  it('accepts only well-formed findings', () => {
    const lines = code.split('\n');
    const { findings, rejected } = acceptLlmFindings(
      { findings: [{ line: 3, severity: 'warning', message: 'Division by zero.' }, { line: 99, severity: 'error', message: 'out of range' }, { line: 2, severity: 'critical', message: 'bad severity' }, { line: 2, severity: 'note', message: '' }, 'nonsense'] },
      'a.ts',
      lines,
      [],
      10,
    );
    expect(findings).toEqual([{ file: 'a.ts', line: 3, column: 1, rule: 'llm/review', severity: 'warning', message: 'Division by zero.', snippet: 'return a / 0;', source: 'llm' }]);
    expect(rejected).toBe(4);
    expect(acceptLlmFindings({ verdict: 'fine' }, 'a.ts', lines, [], 10)).toEqual({ findings: [], rejected: 1 });
  });

  it('adds the model\'s findings as llm/review, after masking secrets in what it sends', async () => {
    ollama.onChat({ content: JSON.stringify({ findings: [{ line: 3, severity: 'warning', message: 'Division by zero always gives Infinity.' }, { line: 0, severity: 'note', message: 'bad line' }] }) });
    const r = await reviewCode({ code, filename: 'calc.ts' }, { maxFindings: 100, useLlm: true, llm: new Llm(ollama.url, 'llama3.1:8b', 5000) });
    expect(r.llm).toEqual({ status: 'used', model: 'llama3.1:8b', filesReviewed: 1, findings: 1 });
    expect(r.findings.filter((f) => f.source === 'llm')).toEqual([expect.objectContaining({ file: 'calc.ts', line: 3, rule: 'llm/review', severity: 'warning' })]);
    expect(r.findings.some((f) => f.rule === 'secret/aws-access-key')).toBe(true);
    expect(r.notes).toContain('Dropped 1 malformed LLM finding (no valid line, severity or message).');
    const sent = ollama.chats().at(-1)!;
    expect(sent.format).toBe('json');
    expect(sent.messages[0]!.content).toContain('2| export function f(a: number) {');
    expect(sent.messages[0]!.content).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('keeps the static findings and says why when the LLM fails', async () => {
    const r = await reviewCode({ code, filename: 'calc.ts' }, { maxFindings: 100, useLlm: true, llm: new Llm('http://127.0.0.1:1', 'llama3.1:8b', 2000) });
    expect(r.llm.status).toBe('failed');
    expect(r.findings.some((f) => f.rule === 'secret/aws-access-key')).toBe(true);
    expect(r.warnings[0]).toMatch(/LLM review stopped at calc\.ts \(LLM unavailable at http:\/\/127\.0\.0\.1:1.*the static findings are complete/);
  });
});

describe('the code ops', () => {
  let runtime: Runtime;
  let cleanup: () => void;
  beforeAll(() => {
    const t = tempHome();
    cleanup = t.cleanup;
    runtime = new Runtime(loadedFor(t.home), quietLogger());
  });
  afterAll(async () => {
    await runtime.close();
    cleanup();
  });

  it('code.scan returns the findings, the counts and, in sarif format, the log', async () => {
    const r = await invoke(scanOp, runtime, { path: fixtures, format: 'sarif' });
    expect(r.counts.error).toBeGreaterThanOrEqual(2);
    expect(r.sarif).toMatchObject({ version: '2.1.0' });
    expect(sarifValidator()(r.sarif)).toBe(true);
    expect((await invoke(scanOp, runtime, { path: fixtures, audit: false })).sarif).toBeNull();
  });

  it('code.review takes exactly one of path and code', async () => {
    const r = await invoke(reviewOp, runtime, { code: 'function f() { return 1; f(); }', filename: 'f.js' });
    expect(r.findings).toEqual([expect.objectContaining({ file: 'f.js', line: 1, rule: 'ts/unreachable-code' })]);
    await expect(invoke(reviewOp, runtime, { path: fixtures, code: 'x' })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/exactly one of path and code/) });
    await expect(invoke(reviewOp, runtime, {})).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
  });

  it('fails clearly on a path that does not exist', async () => {
    await expect(invoke(scanOp, runtime, { path: 'no/such/dir' })).rejects.toMatchObject({ code: 'TWL_PATH_NOT_FOUND', exitCode: 7 });
    await expect(invoke(reviewOp, runtime, { path: 'no/such/file.ts' })).rejects.toMatchObject({ code: 'TWL_PATH_NOT_FOUND' });
  });
});
