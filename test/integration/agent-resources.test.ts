import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { McpServer } from '@modelcontextprotocol/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { changeFeedBus } from '../../src/mcp/change-feed.js';
import { registerResources } from '../../src/mcp/resources.js';
import activateOp from '../../src/ops/agent/activate.js';
import createOp from '../../src/ops/agent/create.js';
import deactivateOp from '../../src/ops/agent/deactivate.js';
import { invoke } from '../../src/ops/invoke.js';
import type { Runtime } from '../../src/runtime/context.js';
import { eventFollower } from '../../src/studio/events.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, unique } from './backends.js';

/*
 * The MCP resource twl://agents/{name}: listed, read through agent_show, and its subscriptions
 * (2025 resources/subscribe, 2026-07-28 subscriptions/listen) notified on status changes through
 * the studio's shared change-feed follower.
 */

describe.each(runtimeBackends)('the agent resource on $name', ({ available, db }) => {
  let runtime: Runtime;
  let cleanup: () => void;
  let client: Client;
  let resources: { close(): void };
  const updates: string[] = [];
  const name = unique('probe');

  beforeAll(async () => {
    if (!available) return;
    const t = tempHome();
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, { database: db });
    await invoke(createOp, runtime, { name, kind: 'master', tools: ['sentiment-analyzer_*'] });
    const server = new McpServer({ name: 'twl-test', version: '0' });
    resources = registerResources(server, runtime, { pollMs: 100 });
    const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
    client = new Client({ name: 'agent-resources-test', version: '0' });
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updates.push(n.params.uri));
    await server.connect(serverTransport);
    await client.connect(clientTransport);
  });
  afterAll(async () => {
    if (!available) return;
    await client.close();
    resources.close();
    await runtime.close();
    cleanup();
  });

  it.skipIf(!available)('lists and reads an agent, notifies a subscriber of its status changes, and says when there is no such agent', async () => {
    const uri = `twl://agents/${name}`;
    const { resources: listed } = await client.listResources();
    expect(listed).toContainEqual(expect.objectContaining({ uri, title: `${name} (master)`, description: expect.stringMatching(/^pending_validation/) }));
    const read = await client.readResource({ uri });
    const c = read.contents[0]!;
    expect(JSON.parse('text' in c ? c.text : '{}')).toMatchObject({ agent: { name, kind: 'master', status: 'pending_validation' }, next: ['active', 'error', 'inactive'], children: [], runs: [] });

    await client.subscribeResource({ uri });
    await invoke(activateOp, runtime, { name });
    await expect.poll(() => updates.filter((u) => u === uri).length, { timeout: 60_000 }).toBe(1);
    await client.unsubscribeResource({ uri });
    await invoke(deactivateOp, runtime, { name });
    await new Promise((r) => setTimeout(r, 400));
    expect(updates.filter((u) => u === uri)).toHaveLength(1);

    await expect(client.readResource({ uri: 'twl://agents/nobody-here' })).rejects.toThrow(/not found/);
    await expect(client.subscribeResource({ uri: 'twl://agents/nobody-here' })).rejects.toThrow(/no agent nobody-here/);
  });

  it.skipIf(!available)('tells 2026-07-28 listen streams of its status changes (the bus behind subscriptions/listen)', async () => {
    const bus = changeFeedBus(runtime);
    const heard: string[] = [];
    const off = bus.subscribe((event) => void (event.kind === 'resource_updated' && heard.push(event.uri)));
    try {
      // The feed's baseline is taken as the first stream opens, by the runtime's one studio event
      // follower: another listener's add() resolves once that baseline is taken.
      (await eventFollower(runtime).add(() => undefined))();
      await invoke(activateOp, runtime, { name });
      await expect.poll(() => heard, { timeout: 60_000 }).toContain(`twl://agents/${name}`);
    } finally {
      off();
      bus.close();
    }
  });
});
