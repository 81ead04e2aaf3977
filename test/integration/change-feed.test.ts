import { McpServer, createMcpHandler } from '@modelcontextprotocol/server';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTicket } from '../../src/agents/tickets/repo.js';
import { changeFeedBus, listenFollowing } from '../../src/mcp/change-feed.js';
import { registerResources } from '../../src/mcp/resources.js';
import activateOp from '../../src/ops/agent/activate.js';
import createOp from '../../src/ops/agent/create.js';
import { invoke } from '../../src/ops/invoke.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';
import { runtimeBackends, slowEventFollower, unique } from './backends.js';

const REVISION = '2026-07-28';
const meta = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'change-feed-test', version: '0' },
  'io.modelcontextprotocol/clientCapabilities': {},
};

/**
 * A 2026-07-28 subscriptions/listen stream served as twl serves it (the SDK's handler over the
 * change feed, the request through listenFollowing): its acknowledgement means the feed follows.
 */
describe.each(runtimeBackends)('subscriptions/listen over the change feed on $name', ({ available, db }) => {
  let runtime: Runtime;
  let cleanup: () => void;

  beforeAll(() => {
    if (!available) return;
    const t = tempHome();
    cleanup = t.cleanup;
    runtime = testRuntime(t.home, { database: db });
  });
  afterAll(async () => {
    if (!available) return;
    await runtime.close();
    cleanup();
  });

  it.skipIf(!available)('tells a change made as soon as the acknowledgement arrives, however slowly the feed starts to follow', async () => {
    const agent = unique('listener');
    await invoke(createOp, runtime, { name: agent, kind: 'master', tools: ['sentiment-analyzer_*'] });
    const store = await runtime.store();
    const changes = changeFeedBus(runtime);
    const handler = createMcpHandler(
      () => {
        const server = new McpServer({ name: 'twl-test', version: '0' });
        registerResources(server, runtime);
        return server;
      },
      { bus: changes },
    );
    // A loaded machine: the feed's baseline (its first read of the newest ids) and the studio
    // follower are slow. Were the stream acknowledged before them, the ticket below would be taken
    // into the baseline unseen, and the agent's activation would come before the follower listens.
    const query = store.query.bind(store);
    const slowBaseline = vi.spyOn(store, 'query').mockImplementation((async (sql: string, params?: unknown[]) => {
      if (sql.includes('coalesce(max(id), 0) FROM twl_ticket_events')) await sleep(500);
      return query(sql, params);
    }) as typeof store.query);
    const slowFollower = slowEventFollower(500);
    const controller = new AbortController();
    try {
      const body = {
        jsonrpc: '2.0',
        id: 'listen-1',
        method: 'subscriptions/listen',
        params: { notifications: { resourceSubscriptions: ['twl://tickets', `twl://agents/${agent}`] }, _meta: meta },
      };
      const request = new Request('http://127.0.0.1/mcp', {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': REVISION, 'mcp-method': 'subscriptions/listen' },
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      const res = await listenFollowing(changes, body, () => handler.fetch(request, { parsedBody: body }));
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = '';
      const read = async (until: (text: string) => boolean) => {
        const deadline = Date.now() + 30_000;
        while (!until(text) && Date.now() < deadline) {
          const chunk = await Promise.race([reader.read(), sleep(Math.max(0, deadline - Date.now())).then(() => undefined)]);
          if (!chunk || chunk.done) break;
          text += decoder.decode(chunk.value, { stream: true });
        }
      };
      await read((t) => t.includes('notifications/subscriptions/acknowledged'));
      expect(text).toContain('notifications/subscriptions/acknowledged');
      slowBaseline.mockRestore();
      slowFollower.mockRestore();
      // At once, as a client does that changes something once it listens.
      await createTicket(store, { text: `${agent} wrote this as the ack arrived` }, 'other');
      await invoke(activateOp, runtime, { name: agent });
      const told = (uri: string) => (t: string) => t.includes(`"uri":"${uri}"`);
      await read((t) => told('twl://tickets')(t) && told(`twl://agents/${agent}`)(t));
      expect(text).toContain('"uri":"twl://tickets"');
      expect(text).toContain(`"uri":"twl://agents/${agent}"`);
      await reader.cancel();
    } finally {
      slowBaseline.mockRestore();
      slowFollower.mockRestore();
      controller.abort();
      changes.close();
    }
  });
});
