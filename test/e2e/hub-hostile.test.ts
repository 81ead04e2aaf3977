import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_NS, LONG_TOOL, hostileListing, hostileUpstream } from '../fixtures/hostile-listing.js';
import { createApiKey, envelope, startHttpServe, stopServe, tempHome, twl, waitFor } from '../helpers.js';

/**
 * The hostile hub corpus (test/fixtures/hostile-listing.ts) through `twl serve --http`: what MCP
 * and REST clients see of an upstream that claims other names, lies about a tool that writes, and
 * changes its definitions while served (the catalog's own face: test/integration/hub-hostile.test.ts).
 */
const ns = (tool: string) => `${HOSTILE_NS}_${tool}`;

describe('the hub over MCP and REST with a hostile upstream', () => {
  const { home, cleanup } = tempHome('twl-hub-hostile-e2e-');
  const listing = path.join(home, 'listing.json');
  let serve: Awaited<ReturnType<typeof startHttpServe>>;
  const keys: Record<string, string> = {};
  const clients: Client[] = [];
  const run = (args: string[]) => twl(args, { home, timeout: 90_000 });
  const connect = async (key: string) => {
    const client = new Client({ name: 'hub-hostile', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    clients.push(client);
    return client;
  };
  const rest = async (key: string, tool: string, body: unknown = {}) => {
    const res = await fetch(`${serve.url}/api/tools/${tool}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as { content?: Array<{ text: string }>; error?: { code: string; message: string } } };
  };
  const called = (content: unknown) => (JSON.parse(String((content as Array<{ text: string }>)[0]?.text)) as { called: string }).called;

  beforeAll(async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ upstreams: [hostileUpstream(listing)] }));
    serve = await startHttpServe(home, [], { TWL_UPSTREAM_WATCH_MS: '200' });
    keys.all = await createApiKey(home, 'all', 'admin');
    keys.twl = await createApiKey(home, 'twl', 'admin', 'twl');
    keys.operator = await createApiKey(home, 'operator', 'operator');
  });

  afterAll(async () => {
    await stopServe(serve, clients);
    cleanup();
  });

  it('names: the configured rename wins, claimed names stay in the upstream\'s namespace, the longest name works, a key without the namespace sees none', async () => {
    const client = await connect(keys.all!);
    const tools = new Map((await client.listTools()).tools.map((t) => [t.name, t]));
    expect(tools.get(ns('ok'))?.description).toBe('Renamed to ok by the configuration.');
    expect(tools.has(ns('src'))).toBe(false);
    expect(tools.has('memory_create_entities')).toBe(false);
    expect(tools.has(ns('memory_create_entities'))).toBe(true);
    expect(tools.get('upstream_accept')?.description).not.toContain('Claims');
    expect(called((await client.callTool({ name: ns('ok'), arguments: {} })).content)).toBe('src');
    expect(called((await client.callTool({ name: ns(LONG_TOOL), arguments: {} })).content)).toBe(LONG_TOOL);

    const viaRest = await rest(keys.all!, ns('ok'));
    expect(viaRest.status).toBe(200);
    expect(called(viaRest.body.content)).toBe('src');
    expect((await rest(keys.all!, ns(LONG_TOOL))).status).toBe(200);
    expect((await rest(keys.all!, 'memory_create_entities')).status).toBe(404);

    const twlOnly = await connect(keys.twl!);
    expect((await twlOnly.listTools()).tools.some((t) => t.name.startsWith(`${HOSTILE_NS}_`))).toBe(false);
    expect((await rest(keys.twl!, ns('ok'))).status).toBe(404);
  });

  it('the readOnlyHint the configuration overrides: an operator\'s REST call of the liar needs approval, and MCP lists it as writing', async () => {
    const asked = await rest(keys.operator!, ns('liar'));
    expect(asked.status).toBe(403);
    expect(asked.body.error?.code).toBe('TWL_APPROVAL_REQUIRED');
    const client = await connect(keys.all!);
    expect((await client.listTools()).tools.find((t) => t.name === ns('liar'))?.annotations?.readOnlyHint).toBe(false);
  });

  it('definitions that change while served: a grown schema, then a tool that appears later, each take the upstream out (list_changed, refusals over MCP and REST) until accepted', async () => {
    const client = await connect(keys.all!);
    let changes = 0;
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes++);
    const served = async () => (await client.listTools()).tools.map((t) => t.name).filter((n) => n.startsWith(`${HOSTILE_NS}_`));
    expect(await served()).toContain(ns('ok'));

    const grown = hostileListing().map((t) => (t.name === 'src' ? { ...t, inputSchema: { type: 'object', properties: { command: { type: 'string' } } } } : t));
    for (const [step, next, expected] of [
      ['grown', grown, { added: [], removed: [], changed: ['src'] }],
      ['added', [...grown, { name: 'newcomer', inputSchema: { type: 'object', properties: {} }, annotations: { readOnlyHint: true } }], { added: ['newcomer'], removed: [], changed: [] }],
    ] as const) {
      const before = changes;
      writeFileSync(listing, JSON.stringify(next));
      await waitFor(`list_changed (${step})`, async () => (changes > before ? true : undefined));
      await waitFor(`the upstream's tools gone (${step})`, async () => ((await served()).length ? undefined : true));
      const viaMcp = await client.callTool({ name: ns('ok'), arguments: {} }).then(
        (r) => JSON.stringify(r.content),
        (err: Error) => err.message,
      );
      expect(viaMcp).toContain('twl upstream accept hx');
      const viaRest = await rest(keys.all!, ns('ok'));
      expect(viaRest.status).toBe(403);
      expect(viaRest.body.error?.code).toBe('TWL_UPSTREAM_QUARANTINED');
      const accepted = await run(['upstream', 'accept', 'hx', '--json']);
      expect(accepted.exitCode, accepted.stderr).toBe(0);
      expect((envelope(accepted.stdout).result as { accepted: unknown }).accepted).toEqual(expected);
      await waitFor(`the upstream back (${step})`, async () => ((await served()).includes(ns('ok')) ? true : undefined));
    }
    expect(called((await client.callTool({ name: ns('newcomer'), arguments: {} })).content)).toBe('newcomer');
  });
});
