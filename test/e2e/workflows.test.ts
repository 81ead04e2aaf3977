import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { execa } from 'execa';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, inheritedEnv, tempHome, twl } from '../helpers.js';
import { Tmux, exitStatus, hasTmux, shellQuote } from '../tmux.js';

/*
 * Workflows through the built CLI (`twl workflow …`) and over MCP (`workflow_<name>` with the 1.x SDK
 * client): a gate that stops a chain, a parallel step with a failing branch, approvals (terminal,
 * --yes, elicitation, nobody to answer), Ctrl-C and MCP cancellation, a broken file that validation
 * names and that `twl serve` skips while starting anyway.
 */

const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';

const workflows: Record<string, string> = {
  'gated.yaml': `
name: gated
title: Stop when calm
input: { type: object, properties: { text: { type: string } }, required: [text] }
steps:
  - id: seq
    kind: chain
    steps:
      - { id: tone, kind: tool, tool: ${SENTIMENT}, input: { text: "{{ input.text }}" } }
      - { id: stop_here, kind: gate, if: "steps.tone.sentiment = 'positive'", then: stop, message: "calm: {{ steps.tone.sentiment }}" }
      - { id: after, kind: tool, tool: cache_cache_stats }
  - { id: last, kind: tool, tool: cache_cache_stats }
`,
  'fan.yaml': `
name: fan
steps:
  - id: fan
    kind: parallel
    concurrency: 2
    branches:
      - { id: ok_one, kind: tool, tool: cache_cache_stats }
      - { id: bad, kind: tool, tool: database_execute_query, input: { sql: "select * from no_such_table" } }
      - { id: ok_two, kind: tool, tool: ${SENTIMENT}, input: { text: "fine" } }
    aggregate: "{ 'ok': ok, 'failed': failed.id }"
`,
  'touch.yaml': `
name: touch
input: { type: object, properties: { file: { type: string } }, required: [file] }
steps:
  - { id: touch_it, kind: tool, tool: real-desktop-commander_execute_command, input: { command: ["touch", "{{ input.file }}"] } }
`,
  'slow.yaml': `
name: slow
steps:
  - { id: first, kind: tool, tool: cache_cache_stats }
  - { id: nap, kind: tool, tool: database_execute_query, input: { sql: "select pg_sleep(30)", timeout_ms: 60000 } }
  - { id: never, kind: tool, tool: cache_cache_stats }
`,
  'broken.yaml': `
name: broken
steps:
  - { id: one, kind: tool, tool: cache_cache_stat }
  - { id: two, kind: gate, if: "steps.nothere.x = 1", then: stop }
`,
};

let home: string;
let cleanup: () => void;
const env = { TWL_STORE_LOCK_TIMEOUT: '20s' };

beforeAll(() => {
  ({ home, cleanup } = tempHome('twl-wf-e2e-'));
  writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ commander: { cwd: [home], rules: [{ program: 'touch', decision: 'ask', reason: 'it writes a file' }] } }));
  mkdirSync(path.join(home, 'workflows'));
  for (const [name, text] of Object.entries(workflows)) writeFileSync(path.join(home, 'workflows', name), text);
});
afterAll(() => cleanup?.());

const run = (args: string[], options: { input?: string } = {}) => twl(['workflow', ...args], { home, env, ...options });
const show = async (id: number) => envelope((await run(['show', String(id), '--json'])).stdout).result as { run: { status: string; step: string | null; error: { code: string; message: string } | null }; steps: Array<{ path: string; status: string; error: { code: string } | null }> };

describe('twl workflow (the built CLI)', () => {
  it('fails validation of a broken file naming the file, line, step and problem; lists the others and says which it skipped', async () => {
    const r = await run(['validate']);
    expect(r.exitCode).toBe(3);
    const file = path.join(home, 'workflows', 'broken.yaml');
    expect(r.stderr).toContain(`${file}:4: workflow broken, step one: tool: unknown tool "cache_cache_stat"; did you mean cache_cache_stats?`);
    expect(r.stderr).toMatch(/broken\.yaml:5: workflow broken, step two: if: names steps\.nothere, but no step has the id nothere/);
    const json = envelope((await run(['validate', '--json'])).stdout);
    expect(json.error).toMatchObject({ code: 'TWL_WORKFLOW_INVALID', details: { problems: expect.arrayContaining([expect.objectContaining({ file, step: 'one', line: 4 })]) } });
    expect((await run(['validate', path.join(home, 'workflows', 'fan.yaml')])).exitCode).toBe(0);

    const list = await run(['list', '--json']);
    expect(list.exitCode).toBe(0);
    const result = envelope(list.stdout).result as { workflows: Array<{ name: string }>; skipped: Array<{ workflow: string }> };
    expect(result.workflows.map((w) => w.name).sort()).toEqual(['fan', 'gated', 'slow', 'touch']);
    expect(result.skipped.map((p) => p.workflow)).toContain('broken');
  });

  it('stops a chain at a gate: the run is stopped, the gate named, later steps not run', async () => {
    const r = await run(['run', 'gated', '--input', '{"text":"Thanks, everything works great, nice job"}', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = envelope(r.stdout).result as { run: number; status: string; step: string; message: string; steps: Array<{ path: string; status: string }> };
    expect(out).toMatchObject({ status: 'stopped', step: 'seq/stop_here', message: 'calm: positive' });
    expect(out.steps.map((s) => s.path)).toEqual(['seq', 'seq/tone', 'seq/stop_here']);
    expect((await show(out.run)).run).toMatchObject({ status: 'stopped', step: 'seq/stop_here' });

    // The other way, read from stdin: the gate passes, every step runs.
    const all = await run(['run', 'gated', '--input', '-', '--json'], { input: '{"text":"The server is down again, this is terrible"}' });
    expect((envelope(all.stdout).result as { status: string; steps: unknown[] }).status).toBe('completed');
    expect((envelope(all.stdout).result as { steps: unknown[] }).steps).toHaveLength(5);
  });

  it('runs a parallel step to the end when one branch fails, and reports that branch', async () => {
    const r = await run(['run', 'fan', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const out = envelope(r.stdout).result as { run: number; status: string; output: { ok: string[]; failed: string }; steps: Array<{ path: string; status: string; error?: { code: string } }> };
    expect(out.status).toBe('completed');
    expect(out.output).toEqual({ ok: ['ok_one', 'ok_two'], failed: 'bad' });
    expect(out.steps.find((s) => s.path === 'fan/bad')).toMatchObject({ status: 'failed', error: { code: expect.stringMatching(/^TWL_/), message: expect.stringMatching(/no_such_table/) } });
    const human = await run(['show', String(out.run)]);
    expect(human.stdout).toMatch(/fan\/bad \[tool\] failed/);
    expect(human.stdout).toMatch(/decision: 2 of 3 branches ok/);
  });

  it('asks for approval: refused without anyone to answer (waiting_approval, how to go on), run with --yes', async () => {
    const file = path.join(home, 'approved.txt');
    const waiting = await run(['run', 'touch', '--input', JSON.stringify({ file }), '--json']);
    expect(waiting.exitCode).toBe(4);
    const err = envelope(waiting.stdout).error as { code: string; message: string; details: { run: number; status: string; step: string } };
    expect(err).toMatchObject({ code: 'TWL_APPROVAL_REQUIRED', details: { status: 'waiting_approval', step: 'touch_it' } });
    expect(err.message).toMatch(/--yes/);
    expect(existsSync(file)).toBe(false);
    expect((await show(err.details.run)).run).toMatchObject({ status: 'waiting_approval', step: 'touch_it' });

    const yes = await run(['run', 'touch', '--input', JSON.stringify({ file }), '--yes']);
    expect(yes.exitCode, yes.stderr).toBe(0);
    expect(yes.stdout).toMatch(/Run \d+: completed/);
    expect(existsSync(file)).toBe(true);

    const runs = envelope((await run(['runs', 'touch', '--json'])).stdout).result as { runs: Array<{ status: string }> };
    expect(runs.runs.map((r) => r.status)).toEqual(['completed', 'waiting_approval']);
  });

  describe.runIf(hasTmux)('on a terminal', () => {
    let tmux: Tmux | undefined;
    afterEach(() => tmux?.kill());

    it('asks the question on the terminal, and y runs the step', async () => {
      const file = path.join(home, 'terminal.txt');
      tmux = new Tmux();
      const vars: Record<string, string> = { ...inheritedEnv(), ...env, TWL_HOME: home, HOME: home, TERM: 'xterm-256color', NO_COLOR: '1' };
      const assignments = Object.entries(vars).filter(([k]) => /^[A-Z_][A-Z0-9_]*$/.test(k)).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
      const statusFile = path.join(home, 'tty.status');
      tmux.start(`cd ${shellQuote(home)} && env -i ${assignments} ${shellQuote(process.execPath)} ${shellQuote(bin)} workflow run touch --input ${shellQuote(JSON.stringify({ file }))}; echo $? > ${shellQuote(statusFile)}`, 160, 40);
      await tmux.waitFor((p) => /touch.*\[y\/N\]/s.test(p), 60_000);
      tmux.run('send-keys', '-t', 'dash', 'y', 'Enter');
      expect(await exitStatus(statusFile)).toBe('0');
      expect(existsSync(file)).toBe(true);
    });
  });

  it('stops the running step on Ctrl-C (SIGINT), and the record says which step was running', async () => {
    const child = execa(process.execPath, [bin, 'workflow', 'run', 'slow'], { cwd: home, env: { ...inheritedEnv(), ...env, TWL_HOME: home, HOME: home, NO_COLOR: '1' }, extendEnv: false, reject: false });
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the slow step did not start: ${stderr}`)), 60_000);
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (/nap: calling database_execute_query/.test(stderr)) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await sleep(300);
    const started = Date.now();
    child.kill('SIGINT');
    const r = await child;
    expect(Date.now() - started).toBeLessThan(8000);
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/Interrupted/);
    const id = Number(/run (\d+)/.exec(r.stderr)?.[1]);
    expect(id).toBeGreaterThan(0);
    const shown = await show(id);
    expect(shown.run).toMatchObject({ status: 'cancelled', step: 'nap', error: { code: 'TWL_INTERRUPTED' } });
    expect(shown.steps.map((s) => [s.path, s.status])).toEqual([
      ['first', 'completed'],
      ['nap', 'cancelled'],
    ]);
  });
});

describe('workflow_<name> over MCP (twl serve --stdio, the 1.x SDK client)', () => {
  let stderr = '';
  const start = async (capabilities: Record<string, unknown>) => {
    const client = new Client({ name: 'twl-wf', version: '1.0.0' }, { capabilities });
    const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: { ...inheritedEnv(), ...env, TWL_HOME: home, HOME: home }, cwd: home, stderr: 'pipe' });
    transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await client.connect(transport);
    return client;
  };

  it('serves each valid workflow as a tool with its input schema, and says which workflow it skipped', async () => {
    const client = await start({});
    try {
      const { tools } = await client.listTools();
      const names = tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['workflow_fan', 'workflow_gated', 'workflow_slow', 'workflow_touch', 'workflow_run', 'workflow_list']));
      expect(names).not.toContain('workflow_broken');
      expect(tools.find((t) => t.name === 'workflow_gated')!.inputSchema).toMatchObject({ type: 'object', required: ['text'] });
      expect(tools.find((t) => t.name === 'workflow_touch')!.annotations).toMatchObject({ readOnlyHint: false });
      expect(stderr).toMatch(/workflow skipped: .*broken\.yaml:4: workflow broken, step one/);

      const gated = await client.callTool({ name: 'workflow_gated', arguments: { text: 'Thanks, everything works great, nice job' } });
      expect(gated.isError).toBeFalsy();
      expect(gated.structuredContent).toMatchObject({ status: 'stopped', step: 'seq/stop_here' });
      const run = (gated.structuredContent as { run: number }).run;
      const resource = await client.readResource({ uri: `twl://workflows/${run}` });
      const record = JSON.parse(String((resource.contents[0] as { text: string }).text)) as { run: { status: string }; steps: Array<{ path: string }> };
      expect(record.run.status).toBe('stopped');
      expect(record.steps.map((s) => s.path)).toEqual(['seq', 'seq/tone', 'seq/stop_here']);
    } finally {
      await client.close();
    }
  });

  it('asks for approval through elicitation; without elicitation the run waits for approval', async () => {
    const file = path.join(home, 'elicited.txt');
    const asked: string[] = [];
    const client = await start({ elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push(String(request.params.message));
      return { action: 'accept', content: { approve: true } };
    });
    try {
      const r = await client.callTool({ name: 'workflow_touch', arguments: { file } });
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'completed' });
      expect(asked.join(' ')).toMatch(/touch/);
      expect(existsSync(file)).toBe(true);
    } finally {
      await client.close();
    }

    const other = path.join(home, 'not-elicited.txt');
    const plain = await start({});
    try {
      const r = await plain.callTool({ name: 'workflow_touch', arguments: { file: other } });
      expect(r.isError).toBe(true);
      const body = JSON.parse(String((r.content as Array<{ text: string }>)[0]!.text)) as { error: { code: string; details: { status: string; step: string } } };
      expect(body.error).toMatchObject({ code: 'TWL_APPROVAL_REQUIRED', details: { status: 'waiting_approval', step: 'touch_it' } });
      expect(existsSync(other)).toBe(false);
    } finally {
      await plain.close();
    }
  });

  it('stops the running step on MCP cancellation, and the record says where', async () => {
    const client = await start({});
    try {
      const controller = new AbortController();
      const call = client.callTool({ name: 'workflow_slow', arguments: {} }, undefined, {
        signal: controller.signal,
        onprogress: (p) => {
          if (/nap: calling/.test(String(p.message))) setTimeout(() => controller.abort('the user cancelled'), 200);
        },
      });
      await expect(call).rejects.toThrow(/cancelled/);
      let runs: Array<{ id: number; status: string; step: string | null }> = [];
      await expect
        .poll(
          async () => {
            runs = ((await client.callTool({ name: 'workflow_runs', arguments: { workflow: 'slow', limit: 1 } })).structuredContent as { runs: typeof runs }).runs;
            return runs[0]?.status;
          },
          { timeout: 15_000 },
        )
        .toBe('cancelled');
      expect(runs[0]!.step).toBe('nap');
      // The server is still there.
      expect((await client.callTool({ name: 'cache_cache_stats', arguments: {} })).isError).toBeFalsy();
    } finally {
      await client.close();
    }
  });
});
