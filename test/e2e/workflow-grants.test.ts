import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, envelope, root, startHttpServe, stopServe, tempHome, twl } from '../helpers.js';

/**
 * A workflow's steps run within the namespaces of the key that runs it (`twl keys create
 * --namespaces`): a key granted only `workflow` cannot reach an upstream's tools through a
 * workflow, over REST or MCP, through a tool step, an orchestrator's plan, or `workflow_run`. A
 * workflow that says `grants: definer` is the explicit exception (a stored procedure), and the
 * audit rows of its steps say so.
 */
const fixture = path.join(root, 'test', 'fixtures', 'upstream-server.ts');

describe('workflow grants: steps are checked against the caller\'s namespaces', () => {
  const { home, cleanup } = tempHome('twl-wf-grants-');
  let serve: Awaited<ReturnType<typeof startHttpServe>>;
  const keys: Record<string, string> = {};
  const clients: Client[] = [];
  const run = (args: string[]) => twl(args, { home, timeout: 90_000 });
  const rest = async (key: string, tool: string, body: unknown) => {
    const res = await fetch(`${serve.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { result?: { status: string; steps: Array<{ path: string; status: string; error?: { code: string } }> }; error?: { code: string; message: string; details?: { steps?: Array<{ path: string; status: string; error?: { code: string; message: string } }> } } } };
  };
  const step = { id: 'read', kind: 'tool', tool: 'fx_read', input: { key: '{{ input.key }}' } };
  const input = { type: 'object', properties: { key: { type: 'string' } }, required: ['key'] };

  beforeAll(async () => {
    writeFileSync(
      path.join(home, '.twlrc.json'),
      JSON.stringify({
        upstreams: [{ name: 'fx', transport: 'stdio', command: process.execPath, args: [fixture] }],
        workflows: [
          { name: 'fx-read', input, steps: [step] },
          { name: 'fx-read-definer', grants: 'definer', input, steps: [step] },
          { name: 'fx-plan', input, steps: [{ id: 'plan', kind: 'orchestrator', planner: { map: '[input.key]', call: { tool: 'fx_read', input: { key: '{{ item }}' } } } }] },
        ],
      }),
    );
    serve = await startHttpServe(home);
    for (const [name, namespaces] of [['workflow', 'workflow'], ['workflow-fx', 'workflow,fx'], ['twl', 'twl']] as const) keys[name] = await createApiKey(home, name, 'admin', namespaces);
  });

  afterAll(async () => {
    await stopServe(serve, clients);
    cleanup();
  });

  it('REST: a key granted only `workflow` runs the workflow, but its step\'s tool outside the grant is refused; granted fx too, it runs', async () => {
    const refused = await rest(keys.workflow!, 'workflow_fx_read', { key: 'k1' });
    expect(refused.status).not.toBe(200);
    expect(refused.body.error?.code).toBe('TWL_WORKFLOW_FAILED');
    expect(refused.body.error?.details?.steps).toEqual([expect.objectContaining({ path: 'read', status: 'failed', error: { code: 'TWL_TOOL_UNKNOWN', message: 'No tool named "fx_read".' } })]);

    const granted = await rest(keys['workflow-fx']!, 'workflow_fx_read', { key: 'k2' });
    expect(granted.status).toBe(200);
    expect(granted.body.result?.status).toBe('completed');

    // An orchestrator's plan is held to the same grant: the tool is not in what this run may call.
    const plan = await rest(keys.workflow!, 'workflow_fx_plan', { key: 'k3' });
    expect(plan.body.error?.code).toBe('TWL_WORKFLOW_FAILED');
    expect(plan.body.error?.message).toMatch(/no such tool in the catalog/);
    expect((await rest(keys['workflow-fx']!, 'workflow_fx_plan', { key: 'k4' })).body.result?.status).toBe('completed');
  });

  it('workflow_run (a twl tool) needs the workflow namespace too, and passes the caller\'s grant on', async () => {
    const viaTwl = await rest(keys.twl!, 'workflow_run', { name: 'fx-read', input: { key: 'k5' } });
    expect(viaTwl.status).toBe(404);
    expect(viaTwl.body.error?.code).toBe('TWL_WORKFLOW_UNKNOWN');
  });

  it('MCP: the same refusal; a workflow that says `grants: definer` runs its steps in every namespace, and its audit rows say so', async () => {
    const client = new Client({ name: 'wf-grants', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${keys.workflow}` } } }));
    clients.push(client);
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed).toEqual(expect.arrayContaining(['workflow_fx_read', 'workflow_fx_read_definer']));
    expect(listed.some((n) => n.startsWith('fx_'))).toBe(false);

    const refused = await client.callTool({ name: 'workflow_fx_read', arguments: { key: 'k6' } });
    expect(refused.isError).toBe(true);
    expect(JSON.stringify(refused.content)).toMatch(/No tool named \\+"fx_read\\+"\./);
    expect(JSON.stringify(refused.content)).not.toMatch(/TWL_NAMESPACE_DENIED|namespaces this caller is granted/);

    const definer = await client.callTool({ name: 'workflow_fx_read_definer', arguments: { key: 'k7' } });
    expect(definer.isError).toBeFalsy();
    expect((definer.structuredContent as { status: string }).status).toBe('completed');

    // A successful read's audit row is written within a second or so (grouped with that second's identical calls).
    const rows = async () => {
      const audit = await run(['db', 'query', "select via, decision, error_code from twl_tool_calls where tool = 'fx_read' order by id", '--json']);
      expect(audit.exitCode, audit.stderr).toBe(0);
      return (envelope(audit.stdout).result as { rows: Array<{ via: string; decision: string; error_code: string | null }> }).rows;
    };
    await expect.poll(rows, { timeout: 15_000, interval: 500 }).toEqual(
      expect.arrayContaining([
        { via: 'workflow:fx-read', decision: 'refused', error_code: 'TWL_NAMESPACE_DENIED' },
        { via: 'workflow:fx-read', decision: 'allowed', error_code: null },
        { via: 'workflow:fx-read-definer:definer', decision: 'allowed', error_code: null },
      ]),
    );
  });

  it('a workflow whose grants is neither caller nor definer is left out, naming the choices', async () => {
    const file = path.join(home, 'bad.yaml');
    writeFileSync(file, 'name: bad-grants\ngrants: everyone\nsteps:\n  - { id: read, kind: tool, tool: fx_read, input: { key: x } }\n');
    const r = await run(['workflow', 'validate', file]);
    expect(r.exitCode).toBe(3);
    expect(r.stderr + r.stdout).toMatch(/grants: expected caller .* or definer/);
  });
});
