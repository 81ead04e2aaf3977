import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envelope, root, startHttpServe, stdioSession, tempHome, twl } from '../helpers.js';

/**
 * The acceptance of the catalog with a real upstream: @modelcontextprotocol/server-everything
 * (a devDependency) configured under `upstreams:`, its tools called from every face and from a
 * runbook step, with the same role checks and an audit row each time, and a recognisable secret
 * that never shows.
 */
const everything = path.join(root, 'node_modules', '.bin', 'mcp-server-everything');
const SECRET = 'twl-secret-RECOGNISABLE-5f3a9c71';

type Row = { tool: string; face: string; via: string | null; role: string | null; source: string; decision: string; outcome: string; error_code: string | null; input_sha256: string | null };

describe('upstream tools through the catalog (server-everything as a real child)', () => {
  const { home, cleanup } = tempHome('twl-tools-upstream-');
  const outputs: string[] = [];
  /** Runs twl and keeps everything it printed, to look for the secret at the end. */
  const run = async (args: string[], input?: string) => {
    const r = await twl(args, { home, input, timeout: 90_000 });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const auditRows = async (where: string): Promise<Row[]> => {
    const r = await run(['db', 'query', `select tool, face, via, role, source, decision, outcome, error_code, input_sha256 from twl_tool_calls where ${where} order by id`, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return (envelope(r.stdout).result as { rows: Row[] }).rows;
  };
  /** Read-only calls' rows are written within a second: poll for them. */
  const eventually = async (where: string, count: number): Promise<Row[]> => {
    for (let i = 0; ; i++) {
      const rows = await auditRows(where);
      if (rows.length >= count || i > 20) return rows;
      await new Promise((r) => setTimeout(r, 500));
    }
  };

  beforeAll(() => {
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        upstreams: [{ name: 'ev', transport: 'stdio', command: everything, args: ['stdio'], env: { EV_PLAIN_VALUE: SECRET } }],
        runbooks: [
          {
            name: 'echo probe',
            when: { keywords: ['echo probe'] },
            steps: [
              { tool: 'ev_echo', input: { message: 'from the runbook' } },
              { tool: 'ev_toggle-simulated-logging', input: {} },
            ],
            resolution: 'The upstream answered the probe.',
          },
        ],
      }),
    );
  });
  afterAll(() => cleanup());

  it('lists the upstream tools beside twl\'s own, with their source, role and approval', async () => {
    const r = await run(['tools', 'list', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const tools = (envelope(r.stdout).result as { tools: Array<{ name: string; source: string; minRole: string; needsApproval: boolean; inputSchema: { type: string } }> }).tools;
    expect(tools.find((t) => t.name === 'cache_cache_get')).toMatchObject({ source: 'twl' });
    expect(tools.find((t) => t.name === 'ev_echo')).toMatchObject({ source: 'upstream:ev', minRole: 'viewer', needsApproval: false, inputSchema: { type: 'object' } });
    expect(tools.find((t) => t.name === 'ev_toggle-simulated-logging')).toMatchObject({ source: 'upstream:ev', minRole: 'operator', needsApproval: true });
    const only = envelope((await run(['tools', 'list', '--source', 'upstream:ev', '--json'])).stdout).result as { tools: Array<{ source: string }> };
    expect(only.tools.length).toBeGreaterThan(5);
    expect(only.tools.every((t) => t.source === 'upstream:ev')).toBe(true);
  });

  it('twl tools call: calls an upstream tool, asks before one that writes (refused without --yes), and audits each', async () => {
    const echo = await run(['tools', 'call', 'ev_echo', '--input', '{"message":"hello catalog"}']);
    expect(echo.exitCode, echo.stderr).toBe(0);
    expect(echo.stdout.trim()).toBe('Echo: hello catalog');
    const piped = await run(['tools', 'call', 'ev_get-sum', '--input', '-', '--json'], '{"a":2,"b":40}');
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(JSON.stringify(envelope(piped.stdout).result)).toContain('42');

    const refused = await run(['tools', 'call', 'ev_toggle-simulated-logging', '--json']);
    expect(refused.exitCode).toBe(4);
    expect(envelope(refused.stdout).error).toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
    const approved = await run(['tools', 'call', 'ev_toggle-simulated-logging', '--yes']);
    expect(approved.exitCode, approved.stderr).toBe(0);

    const toolError = await run(['tools', 'call', 'ev_get-sum', '--input', '{"a":"two"}', '--json']);
    expect(toolError.exitCode).toBe(1);
    expect(envelope(toolError.stdout).error).toMatchObject({ code: 'TWL_TOOL_ERROR' });

    const rows = await eventually("face = 'cli' and via is null and tool like 'ev_%'", 5);
    expect(rows.map((r) => [r.tool, r.source, r.decision, r.outcome])).toEqual([
      ['ev_echo', 'upstream:ev', 'allowed', 'ok'],
      ['ev_get-sum', 'upstream:ev', 'allowed', 'ok'],
      ['ev_toggle-simulated-logging', 'upstream:ev', 'refused', 'refused'],
      ['ev_toggle-simulated-logging', 'upstream:ev', 'approval', 'ok'],
      ['ev_get-sum', 'upstream:ev', 'allowed', 'error'],
    ]);
    expect(rows[0]!.input_sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('a runbook step is an upstream tool: ticket resolve runs it through the catalog (asking for the one that writes)', async () => {
    const id = (envelope((await run(['ticket', 'create', 'Please run the echo probe on the app', '--json'])).stdout).result as { id: number }).id;
    const waiting = await run(['ticket', 'resolve', String(id), '--json']);
    expect(envelope(waiting.stdout).result).toMatchObject({ outcome: 'waiting_approval' });
    const resolved = await run(['ticket', 'resolve', String(id), '--yes', '--json']);
    expect(resolved.exitCode, resolved.stderr).toBe(0);
    const result = envelope(resolved.stdout).result as { outcome: string; steps: Array<{ tool: string; status: string }> };
    expect(result.outcome).toBe('resolved');
    expect(result.steps.filter((s) => s.tool.startsWith('ev_'))).toEqual([expect.objectContaining({ tool: 'ev_echo', status: 'ok' }), expect.objectContaining({ tool: 'ev_toggle-simulated-logging', status: 'ok' })]);
    const show = await run(['ticket', 'show', String(id), '--json']);
    expect(JSON.stringify(envelope(show.stdout).result)).toContain('Echo: from the runbook');
    const rows = await eventually("via = 'maestro' and tool like 'ev_%'", 3);
    expect(rows.map((r) => [r.tool, r.face, r.decision, r.outcome])).toEqual(expect.arrayContaining([['ev_echo', 'cli', 'allowed', 'ok'], ['ev_toggle-simulated-logging', 'cli', 'approval', 'ok']]));
  });

  it('over MCP stdio: listed and callable, audited as mcp', async () => {
    const session = await stdioSession(home, [{ name: 'ev_echo', arguments: { message: 'over stdio' } }]);
    outputs.push(session.stderr, session.stdout);
    expect(session.byId.get(2)?.result?.content?.[0]?.text).toBe('Echo: over stdio');
    const rows = await eventually("face = 'mcp' and tool = 'ev_echo' and role is null", 1);
    expect(rows[0]).toMatchObject({ source: 'upstream:ev', outcome: 'ok' });
  });

  describe('over HTTP (twl serve --http): REST and MCP with role checks', () => {
    let child: Awaited<ReturnType<typeof startHttpServe>>['child'];
    let base: string;
    const keys: Record<string, string> = {};

    beforeAll(async () => {
      for (const role of ['viewer', 'operator']) keys[role] = (envelope((await run(['keys', 'create', '--role', role, '--json'])).stdout).result as { key: string }).key;
      ({ child, url: base } = await startHttpServe(home, ['--verbose']));
    });
    afterAll(async () => {
      child.kill('SIGTERM');
      const done = await child;
      outputs.push(String(done.stderr), String(done.stdout));
    });

    const post = async (url: string, body: unknown, role: string) => {
      const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${keys[role]}` } });
      const text = await res.text();
      outputs.push(text);
      return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
    };

    it('REST: a viewer calls a read-only upstream tool, and gets 403 for one that writes; the operator is asked and cannot answer', async () => {
      const echo = await post(`${base}/api/tools/ev_echo`, { message: 'over rest' }, 'viewer');
      expect(echo.status).toBe(200);
      expect(echo.body.content).toEqual([{ type: 'text', text: 'Echo: over rest' }]);
      const denied = await post(`${base}/api/tools/ev_toggle-simulated-logging`, {}, 'viewer');
      expect(denied.status).toBe(403);
      expect(JSON.stringify(denied.body)).toContain('needs the operator role');
      const unanswered = await post(`${base}/api/tools/ev_toggle-simulated-logging`, {}, 'operator');
      expect(unanswered.status).toBe(403);
      expect(unanswered.body.error).toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
      const listed = await fetch(`${base}/api/tools`, { headers: { authorization: `Bearer ${keys.viewer}` } }).then((r) => r.json() as Promise<{ tools: Array<{ name: string }> }>);
      expect(listed.tools.map((t) => t.name)).toContain('ev_echo');
      expect(listed.tools.map((t) => t.name)).not.toContain('ev_toggle-simulated-logging');
      const rows = await eventually("face = 'rest' and tool like 'ev_%'", 3);
      expect(rows.map((r) => [r.tool, r.role, r.decision, r.outcome, r.error_code])).toEqual([
        ['ev_echo', 'viewer', 'allowed', 'ok', null],
        ['ev_toggle-simulated-logging', 'viewer', 'refused', 'refused', 'TWL_ROLE_DENIED'],
        ['ev_toggle-simulated-logging', 'operator', 'refused', 'refused', 'TWL_APPROVAL_REQUIRED'],
      ]);
    });

    it('MCP: the official client with a viewer key sees and calls the read-only tool; a call beyond its role is refused and audited', async () => {
      const client = new Client({ name: 'viewer-client', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${keys.viewer}` } } }));
      try {
        const { tools } = await client.listTools();
        const names = tools.map((t) => t.name);
        expect(names).toContain('ev_echo');
        expect(names).toContain('cache_cache_get');
        expect(names).not.toContain('ev_toggle-simulated-logging');
        expect(tools.find((t) => t.name === 'ev_echo')?.annotations).toMatchObject({ readOnlyHint: true });
        const result = await client.callTool({ name: 'ev_echo', arguments: { message: 'over mcp' } });
        expect(result.content).toEqual([{ type: 'text', text: 'Echo: over mcp' }]);
      } finally {
        await client.close();
      }
      const refused = await post(`${base}/mcp`, { jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'ev_toggle-simulated-logging', arguments: {} } }, 'viewer');
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: -32003 });
      const rows = await eventually("face = 'mcp' and role = 'viewer' and tool like 'ev_%'", 2);
      expect(rows.map((r) => [r.tool, r.decision, r.outcome])).toEqual([
        ['ev_echo', 'allowed', 'ok'],
        ['ev_toggle-simulated-logging', 'refused', 'refused'],
      ]);
    });

    it('/mcp/status shows the upstream ready after a call, /health lists it as a dependency, and neither shows its env secret', async () => {
      const echo = await post(`${base}/api/tools/ev_echo`, { message: 'before status' }, 'viewer');
      expect(echo.status).toBe(200);
      const get = async (route: string) => {
        const res = await fetch(`${base}${route}`, { headers: { authorization: `Bearer ${keys.viewer}` } });
        const text = await res.text();
        outputs.push(text);
        expect(text).not.toContain(SECRET);
        expect(text).not.toContain('EV_PLAIN_VALUE');
        return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
      };
      const status = await get('/mcp/status');
      expect(status.status).toBe(200);
      const upstreams = status.body.upstreams as Array<Record<string, unknown>>;
      expect(upstreams).toHaveLength(1);
      expect(upstreams[0]).toMatchObject({ name: 'ev', transport: 'stdio', sharing: 'shared', state: 'ready', health: 'ok', restarts: 0, breaker: 'closed', queue: { waiting: 0, running: 0 } });
      expect(upstreams[0]!.children).toEqual([expect.objectContaining({ state: 'ready', in_flight: 0, pid: expect.any(Number) })]);
      expect(upstreams[0]!.cache).toMatchObject({ misses: expect.any(Number), entries: expect.any(Number) });
      expect(Object.keys(upstreams[0]!)).not.toContain('env');
      // twl's own sections stay: the ticket queue and twl's cache.
      expect(status.body.queue).toHaveProperty('by_priority');
      const health = await get('/health');
      expect(health.status).toBe(200);
      const deps = health.body.dependencies as Array<{ name: string; kind: string; status: string; detail: string }>;
      expect(deps.find((d) => d.name === 'upstream:ev')).toMatchObject({ kind: 'upstream', target: 'stdio (shared)', status: 'ok' });
      expect(deps.find((d) => d.name === 'upstream:ev')!.detail).toMatch(/^ready, breaker closed, 1 child/);
      expect(deps.some((d) => d.kind !== 'upstream')).toBe(true);
    });
  });

  it('a recognisable secret never shows: upstream list, config show, logs, errors, the stored row', async () => {
    const added = await run(['upstream', 'add', 'docs', '--url', 'http://127.0.0.1:9/mcp', '--header', `Authorization=Bearer ${SECRET}`, '--json']);
    expect(added.exitCode, added.stderr).toBe(0);
    const list = await run(['upstream', 'list', '--json']);
    expect(list.exitCode, list.stderr).toBe(0);
    const upstreams = (envelope(list.stdout).result as { upstreams: Array<{ name: string; origin: string; env: Record<string, string>; headers: Record<string, string> }> }).upstreams;
    expect(upstreams.find((u) => u.name === 'ev')).toMatchObject({ origin: 'config', env: { EV_PLAIN_VALUE: '[plain]' } });
    expect(upstreams.find((u) => u.name === 'docs')).toMatchObject({ origin: 'store', headers: { Authorization: '[encrypted]' } });
    const show = await run(['config', 'show', '--json']);
    expect(show.exitCode).toBe(0);
    const stored = await run(['db', 'query', 'select entry::text as entry from twl_upstreams', '--json']);
    expect(stored.stdout).toContain('twl:enc:v1:');
    // An upstream that cannot be reached fails with the reason, not the secret.
    const unreachable = await run(['upstream', 'test', 'docs', '--json']);
    expect(unreachable.exitCode).not.toBe(0);
    const call = await run(['tools', 'call', 'docs_anything', '--json']);
    expect(call.exitCode).not.toBe(0);
    await run(['upstream', 'status', '--verbose']);
    for (const text of outputs) expect(text).not.toContain(SECRET);
    const removed = await run(['upstream', 'remove', 'docs', '--json']);
    expect(removed.exitCode, removed.stderr).toBe(0);
    const fromFile = await run(['upstream', 'remove', 'ev', '--json']);
    expect(fromFile.exitCode).toBe(2);
    expect(JSON.stringify(envelope(fromFile.stdout).error)).toContain('configuration file');
  });
});
