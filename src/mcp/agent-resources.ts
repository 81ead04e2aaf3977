import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import listOp from '../ops/agent/list.js';
import showOp from '../ops/agent/show.js';
import { invoke } from '../ops/invoke.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import { AGENT_NAME } from '../studio/agents.js';

export const AGENTS_URI = 'twl://agents';
export const agentUri = (name: string) => `${AGENTS_URI}/${name}`;

/** An agent's name from `twl://agents/{name}`, or undefined. */
export function agentNameOf(uri: string): string | undefined {
  const m = /^twl:\/\/agents\/([^/?#]+)$/.exec(uri);
  return m && AGENT_NAME.test(m[1]!) ? m[1] : undefined;
}

const JSON_MIME = 'application/json';

/**
 * `twl://agents/{name}`: an agent (kind, parent, status and why, what it may become, whom it leads,
 * its latest runs), read through agent_show; resources/list offers every agent. Subscriptions
 * notify on its status changes, read from the change feed (twl_events, topic agent) by id while
 * something is subscribed.
 */
export function registerAgentResources(server: McpServer, runtime: Runtime, pollMs = 1000) {
  server.registerResource(
    'agent',
    new ResourceTemplate(`${AGENTS_URI}/{name}`, {
      list: async (ctx) => {
        const { agents } = await invoke(listOp, runtime, {}, { signal: ctx.mcpReq.signal });
        return {
          resources: agents.map((a) => ({
            uri: agentUri(a.name),
            name: `agent-${a.name}`,
            title: `${a.name} (${a.kind})`,
            description: `${a.status}${a.parent ? ` · under ${a.parent}` : ''}${a.reason ? ` · ${a.reason}` : ''}`,
            mimeType: JSON_MIME,
          })),
        };
      },
      complete: {
        name: async (value) => {
          const store = await runtime.store();
          const { rows } = await store.query<{ name: string }>("SELECT name FROM twl_agents WHERE name LIKE $1 || '%' ORDER BY name LIMIT 20", [value.replace(/[^a-z0-9_-]/g, '')]);
          return rows.map((r) => r.name);
        },
      },
    }),
    { title: 'Agent', description: 'An agent: kind, parent, status and why, the statuses it may go to next, the agents it leads, and its latest runs.', mimeType: JSON_MIME },
    async (uri, variables, ctx): Promise<ReadResourceResult> => {
      const name = agentNameOf(uri.href);
      if (name === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Expected twl://agents/{name} with an agent name, got ${uri.href} (${JSON.stringify(variables)}).`);
      try {
        return { contents: [{ uri: uri.href, mimeType: JSON_MIME, text: JSON.stringify(await invoke(showOp, runtime, { name }, { signal: ctx.mcpReq.signal }), null, 2) }] };
      } catch (err) {
        if (err instanceof TwlError && err.code === 'TWL_AGENT_NOT_FOUND') throw new ResourceNotFoundError(uri.href, `Resource ${uri.href} not found: ${err.message}`);
        throw err;
      }
    },
  );

  const subscribed = new Set<string>();
  let after = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const tick = async () => {
    try {
      const store = await runtime.store();
      const { rows } = await store.query<{ id: string; subject: string }>("SELECT id::text AS id, subject FROM twl_events WHERE topic = 'agent' AND id > $1 ORDER BY id LIMIT 1000", [after]);
      const changed = new Set<string>();
      for (const r of rows) {
        after = Math.max(after, Number(r.id));
        if (subscribed.has(r.subject)) changed.add(r.subject);
      }
      for (const name of changed) {
        if (!closed) void server.server.sendResourceUpdated({ uri: agentUri(name) }).catch(() => undefined);
      }
    } catch (err) {
      runtime.logger.debug({ err: (err as Error).message }, 'could not read the agent change feed');
    }
  };
  const schedule = () => {
    if (timer || closed || !subscribed.size) return;
    timer = setTimeout(() => {
      void tick().finally(() => {
        timer = undefined;
        schedule();
      });
    }, pollMs);
    timer.unref();
  };

  return {
    /** Takes a subscription when the URI is an agent's; false when it is not this resource's. */
    async subscribe(uri: string): Promise<boolean> {
      const name = agentNameOf(uri);
      if (name === undefined) return false;
      const store = await runtime.store();
      const { rows } = await store.query('SELECT 1 FROM twl_agents WHERE name = $1', [name]);
      if (!rows.length) throw new ResourceNotFoundError(uri, `Resource ${uri} not found: no agent ${name}.`);
      if (!subscribed.size) {
        const { rows: last } = await store.query<{ id: string | null }>("SELECT max(id)::text AS id FROM twl_events WHERE topic = 'agent'");
        after = Number(last[0]?.id ?? 0);
      }
      subscribed.add(name);
      schedule();
      return true;
    },
    unsubscribe(uri: string): boolean {
      const name = agentNameOf(uri);
      if (name === undefined) return false;
      subscribed.delete(name);
      return true;
    },
    close(): void {
      closed = true;
      subscribed.clear();
      clearTimeout(timer);
    },
  };
}
