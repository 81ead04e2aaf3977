import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import listOp from '../ops/agent/list.js';
import showOp from '../ops/agent/show.js';
import { invoke } from '../ops/invoke.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import { callerOf, completerWithin, reaches, requireReach, resourceNamespaces, type ServerGrant } from './resource-grant.js';
import { AGENTS_URI, agentNameOf } from './resource-uris.js';

export { AGENTS_URI, agentNameOf } from './resource-uris.js';
export const agentUri = (name: string) => `${AGENTS_URI}/${name}`;

const JSON_MIME = 'application/json';

/**
 * `twl://agents/{name}`: an agent (kind, parent, status and why, what it may become, whom it leads,
 * its latest runs), read through agent_show; resources/list offers every agent. Subscriptions
 * notify on its status changes: resources.ts follows them, with those of tasks and executions,
 * through the studio's shared change-feed follower (twl_events, topic agent). Names are completed
 * for a server whose `grant` reaches agents only.
 */
export function registerAgentResources(server: McpServer, runtime: Runtime, grant: ServerGrant = {}) {
  server.registerResource(
    'agent',
    new ResourceTemplate(`${AGENTS_URI}/{name}`, {
      list: async (ctx) => {
        if (!reaches(ctx, resourceNamespaces.agent)) return { resources: [] };
        const { agents } = await invoke(listOp, runtime, {}, { signal: ctx.mcpReq.signal, ...callerOf(ctx) });
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
        // Completed for a server whose grant reaches agents only: without it, nothing (and no query).
        name: completerWithin(grant, resourceNamespaces.agent, async (value) => {
          const store = await runtime.store();
          const { rows } = await store.query<{ name: string }>("SELECT name FROM twl_agents WHERE name LIKE $1 || '%' ORDER BY name LIMIT 20", [value.replace(/[^a-z0-9_-]/g, '')]);
          return rows.map((r) => r.name);
        }),
      },
    }),
    { title: 'Agent', description: 'An agent: kind, parent, status and why, the statuses it may go to next, the agents it leads, and its latest runs.', mimeType: JSON_MIME },
    async (uri, variables, ctx): Promise<ReadResourceResult> => {
      const name = agentNameOf(uri.href);
      if (name === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Expected twl://agents/{name} with an agent name, got ${uri.href} (${JSON.stringify(variables)}).`);
      requireReach(ctx, uri.href);
      try {
        // Through the caller's grant: a limited key is not shown the globs and steps naming tools outside it, as through agent_show.
        const shown = await invoke(showOp, runtime, { name }, { signal: ctx.mcpReq.signal, ...callerOf(ctx) });
        return { contents: [{ uri: uri.href, mimeType: JSON_MIME, text: JSON.stringify(shown, null, 2) }] };
      } catch (err) {
        if (err instanceof TwlError && err.code === 'TWL_AGENT_NOT_FOUND') throw new ResourceNotFoundError(uri.href, `Resource ${uri.href} not found: ${err.message}`);
        throw err;
      }
    },
  );

  return {
    /**
     * Whether a URI is an agent's (false when it is not this resource's); a subscription to it is
     * followed by the caller through the shared change feed (updatedBy). Throws when there is no
     * such agent.
     */
    async subscribable(uri: string): Promise<boolean> {
      const name = agentNameOf(uri);
      if (name === undefined) return false;
      const store = await runtime.store();
      const { rows } = await store.query('SELECT 1 FROM twl_agents WHERE name = $1', [name]);
      if (!rows.length) throw new ResourceNotFoundError(uri, `Resource ${uri} not found: no agent ${name}.`);
      return true;
    },
  };
}
