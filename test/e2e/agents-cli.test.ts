import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeOllama, type ChatRequest } from '../fixtures/ollama-server.js';
import { envelope, startHttpServe, tempHome, twl } from '../helpers.js';

/*
 * Agents through the built CLI (real processes, the embedded store) and over REST with API keys
 * (`twl serve --http`), with the Ollama-speaking test server as the model: the commands, their
 * --json envelopes and exit codes, the invalid input, and the roles (viewer reads, operator
 * runs, manager creates; a run's tools are cut to the caller's role).
 */

const SENTIMENT = 'sentiment-analyzer_analyze_sentiment';
// A tool for managers: beyond an operator's role.
const APPROVE = 'tickets_approve_ticket';
const agentOfChat = (req: ChatRequest) => /^You are ([a-z0-9_-]+),/.exec(req.messages[0]?.content ?? '')?.[1] ?? '?';
const toolTurns = (req: ChatRequest) => req.messages.filter((m) => m.role === 'tool').length;
const call = (name: string, args: Record<string, unknown>) => ({ function: { name, arguments: args } });

describe('twl agent …', () => {
  let home: string;
  let cleanup: () => void;
  let ollama: FakeOllama;
  let env: Record<string, string>;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-agents-e2e-'));
    ollama = await new FakeOllama().start();
    env = { TWL_LLM_HOST: ollama.url, TWL_LLM_MODEL: 'llama3.1:8b' };
    ollama.onChat((req) => {
      const agent = agentOfChat(req);
      if (toolTurns(req) > 0) return { content: `${agent}: done` };
      if (agent === 'lead') return { tool_calls: [call('delegate_team', { prompt: 'look at the mood' })] };
      if (agent === 'team') return { tool_calls: [call('delegate_mood', { prompt: 'how does the user feel?' })] };
      return { tool_calls: [call(SENTIMENT, { text: 'this is terrible' }), call(APPROVE, { id: 1 })] };
    });
  });
  afterAll(async () => {
    await ollama?.stop();
    cleanup?.();
  });

  const run = (args: string[]) => twl(args, { home, env });

  it('creates, lists, activates and runs a hierarchy; every step is in the --json result', async () => {
    writeFileSync(path.join(home, 'mood.md'), 'You judge how users feel.\n');
    expect((await run(['agent', 'create', 'lead', '--kind', 'master', '--json'])).exitCode).toBe(0);
    expect((await run(['agent', 'create', 'team', '--kind', 'supervisor', '--parent', 'lead'])).stdout).toContain('agent team (supervisor under lead) pending_validation');
    const mood = envelope((await run(['agent', 'create', 'mood', '--kind', 'worker', '--parent', 'team', '--tools', `${SENTIMENT},cache_cache_get`, '--instructions', '@mood.md', '--json'])).stdout);
    expect(mood.result).toMatchObject({ agent: { name: 'mood', tools: [SENTIMENT, 'cache_cache_get'], instructions: 'You judge how users feel.\n', status: 'pending_validation' } });
    for (const name of ['lead', 'team', 'mood']) expect((await run(['agent', 'activate', name])).stdout).toContain(`agent ${name}`);

    const list = await run(['agent', 'list']);
    expect(list.stdout).toMatch(/mood\s+worker\s+team\s+active/);

    const ran = await run(['agent', 'run', 'lead', 'A user is unhappy: find out how unhappy', '--json']);
    expect(ran.exitCode, ran.stderr).toBe(0);
    const result = envelope(ran.stdout).result as { run: { status: string; output: string }; steps: Array<{ agent: string; kind: string; name: string; ok: boolean }> };
    expect(result.run).toMatchObject({ status: 'completed', output: 'lead: done' });
    expect(result.steps.filter((s) => s.kind !== 'model').map((s) => [s.agent, s.kind, s.name, s.ok])).toEqual([
      ['mood', 'tool', SENTIMENT, true],
      ['mood', 'refused', APPROVE, false],
      ['team', 'delegate', 'mood', true],
      ['lead', 'delegate', 'team', true],
    ]);

    const text = await run(['agent', 'run', 'mood', 'how does the user feel?']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/refused\s+tickets_approve_ticket\s+no/);
    expect(text.stdout).toContain('mood: done');

    const shown = await run(['agent', 'show', 'mood']);
    expect(shown.stdout).toContain('may become: busy, error, inactive, pending_validation');
    expect(shown.stdout).toMatch(/#\d+\s+completed\s+llm/);
  });

  it('refuses invalid input with the problem, the fix and an exit code', async () => {
    const unknown = await run(['agent', 'run', 'mod', 'x', '--json']);
    expect(unknown.exitCode).toBe(7);
    expect(envelope(unknown.stdout).error).toMatchObject({ code: 'TWL_AGENT_NOT_FOUND', message: 'There is no agent "mod". Did you mean mood?' });

    expect((await run(['agent', 'create', 'sub', '--kind', 'supervisor', '--parent', 'team'])).exitCode).toBe(0);
    const cycle = await run(['agent', 'edit', 'team', '--parent', 'sub']);
    expect(cycle.exitCode).toBe(2);
    expect(cycle.stderr).toContain('would close a cycle: team → sub → team');

    const del = await run(['agent', 'delete', 'team', '--json']);
    expect(del.exitCode).toBe(4);
    expect(envelope(del.stdout).error).toMatchObject({ code: 'TWL_AGENT_STATE', details: { children: ['mood', 'sub'] } });

    const task = await run(['task', 'create', '--agent', 'nobody', '--prompt', 'x', '--now', '--json']);
    expect(task.exitCode).toBe(7);
    expect(envelope((await run(['task', 'list', '--json'])).stdout).result).toMatchObject({ tasks: [] });

    const again = await run(['agent', 'deactivate', 'sub']);
    expect(again.exitCode).toBe(0);
    const twice = await run(['agent', 'deactivate', 'sub', '--json']);
    expect(twice.exitCode).toBe(4);
    expect(envelope(twice.stdout).error).toMatchObject({ code: 'TWL_AGENT_STATE', message: 'Agent sub is inactive already.' });
    expect((await run(['agent', 'delete', 'sub'])).stdout).toContain('deleted agent sub');
  });

  describe('over REST, by role', () => {
    let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
    let base: string;
    const keys: Record<string, string> = {};

    beforeAll(async () => {
      ({ child, url: base } = await startHttpServe(home, [], env));
      for (const role of ['viewer', 'operator', 'manager']) keys[role] = (envelope((await twl(['keys', 'create', '--role', role, '--json'], { home })).stdout).result as { key: string }).key;
    });
    afterAll(async () => {
      child?.kill('SIGTERM');
      await child;
    });

    const post = async (role: string, tool: string, input: Record<string, unknown>) => {
      const r = await fetch(`${base}/api/tools/${tool}`, { method: 'POST', body: JSON.stringify(input), headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[role]}` } });
      const json = (await r.json()) as { result?: Record<string, unknown> };
      return { status: r.status, body: json.result ?? (json as Record<string, unknown>) };
    };

    it('viewer reads, operator runs (with tools cut to its role), manager creates and edits', async () => {
      expect((await post('viewer', 'agent_list', {})).status).toBe(200);
      expect((await post('viewer', 'agent_show', { name: 'mood' })).status).toBe(200);
      expect((await post('viewer', 'agent_run', { name: 'mood', prompt: 'x' })).status).toBe(403);
      expect((await post('operator', 'agent_create', { name: 'extra', kind: 'worker', parent: 'team' })).status).toBe(403);
      expect((await post('operator', 'agent_edit', { name: 'mood', instructions: 'x' })).status).toBe(403);
      expect((await post('operator', 'agent_delete', { name: 'mood' })).status).toBe(403);

      // mood may approve tickets (manager) by its globs: the operator's run neither offers it nor lets it through.
      expect((await post('manager', 'agent_edit', { name: 'mood', tools: [SENTIMENT, APPROVE] })).status).toBe(200);
      expect((await post('manager', 'agent_activate', { name: 'mood' })).status).toBe(200);
      const before = ollama.chats().length;
      const ran = await post('operator', 'agent_run', { name: 'mood', prompt: 'how does the user feel?' });
      expect(ran.status, JSON.stringify(ran.body)).toBe(200);
      const steps = (ran.body as { steps: Array<{ kind: string; name: string; error: string | null }> }).steps;
      expect(steps.filter((s) => s.kind !== 'model').map((s) => [s.kind, s.name])).toEqual([
        ['tool', SENTIMENT],
        ['refused', APPROVE],
      ]);
      expect(steps.find((s) => s.kind === 'refused')!.error).toContain('within the operator role');
      expect((ollama.chats()[before]!.tools ?? []).map((t) => t.function.name)).toEqual([SENTIMENT]);
      expect((await post('manager', 'agent_create', { name: 'extra', kind: 'worker', parent: 'team' })).status).toBe(200);
      expect((await post('manager', 'agent_delete', { name: 'extra' })).status).toBe(200);
    });

    it('runs one prompt at a time per agent across processes: a CLI run and a server run of the same agent never overlap', async () => {
      ollama.chatDelay = (req) => (agentOfChat(req) === 'mood' ? 400 : 0);
      try {
        type Steps = Array<{ at: string; runId: number }>;
        const [cli, rest] = await Promise.all([
          run(['agent', 'run', 'mood', 'from the command line', '--json']),
          (async () => {
            await new Promise((r) => setTimeout(r, 150));
            return post('operator', 'agent_run', { name: 'mood', prompt: 'from the server' });
          })(),
        ]);
        expect(cli.exitCode, cli.stderr).toBe(0);
        expect(rest.status, JSON.stringify(rest.body)).toBe(200);
        const a = (envelope(cli.stdout).result as { steps: Steps }).steps;
        const b = (rest.body as { steps: Steps }).steps;
        const [first, second] = a[0]!.runId < b[0]!.runId ? [a, b] : [b, a];
        // Every step of the later run comes after the last step of the earlier one.
        expect(second[0]!.at > first.at(-1)!.at, JSON.stringify({ first, second })).toBe(true);
        expect(envelope((await run(['agent', 'show', 'mood', '--json'])).stdout).result).toMatchObject({ agent: { status: 'active' } });
      } finally {
        ollama.chatDelay = undefined;
      }
    });
  });
});
