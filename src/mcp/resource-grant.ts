import { ResourceNotFoundError } from '@modelcontextprotocol/server';
import { TWL_NAMESPACE, WORKFLOW_NAMESPACE, grantReaches } from '../tools/types.js';
import { AUDIT_URI, HEALTH_URI, TICKETS_URI, agentNameOf, ticketIdOf, workflowRunOf } from './resource-uris.js';

/**
 * A key limited to catalog namespaces (`twl keys create --namespaces`) reads through resources,
 * prompts and completions only what the tools of those namespaces would show it: tickets, the
 * audit log, health, agents and the prompts built from tickets are twl's (namespace `twl`),
 * workflow runs are the workflows' (`workflow`). Anything else is said not to exist, as a tool
 * outside the grant is. Tasks and their executions belong to no one namespace: each is gated by
 * the grant of the key that created it (withinGrant, src/studio/tasks.ts).
 */

/** The namespace of each resource twl registers that has one, by the name it is registered under. */
export const resourceNamespaces = {
  ticket: TWL_NAMESPACE,
  tickets: TWL_NAMESPACE,
  audit: TWL_NAMESPACE,
  health: TWL_NAMESPACE,
  agent: TWL_NAMESPACE,
  'workflow-run': WORKFLOW_NAMESPACE,
} as const;

/** The namespace of twl's prompts (src/mcp/prompts.ts): each is built from a ticket, its timeline and the audit log. */
export const promptNamespace = TWL_NAMESPACE;

/**
 * The namespace a resource URI belongs to: the one place it is said, for reading it and for
 * subscribing to it. Undefined for a task's or an execution's (gated by its task's grant instead)
 * and for a URI twl does not serve.
 */
export function namespaceOf(uri: string): string | undefined {
  if (uri === TICKETS_URI) return resourceNamespaces.tickets;
  if (uri === AUDIT_URI) return resourceNamespaces.audit;
  if (uri === HEALTH_URI) return resourceNamespaces.health;
  if (ticketIdOf(uri) !== undefined) return resourceNamespaces.ticket;
  if (agentNameOf(uri) !== undefined) return resourceNamespaces.agent;
  if (workflowRunOf(uri) !== undefined) return resourceNamespaces['workflow-run'];
  return undefined;
}

/** What a resource handler knows of its caller: over HTTP, the key's grant (src/http/server.ts puts it in authInfo). */
export type CallerContext = { http?: { authInfo?: { clientId?: string; extra?: Record<string, unknown> } } };

/** The namespaces of the key reading a resource over HTTP; undefined: every one (stdio, a key without a grant). */
export const grantOf = (ctx: CallerContext | undefined): string[] | undefined => ctx?.http?.authInfo?.extra?.namespaces as string[] | undefined;

/**
 * The grant a server is built for: src/http/server.ts builds one server per key's namespaces, so
 * what the SDK calls without the request (completers) follows it too. No namespaces: every one
 * (stdio, a key without a grant).
 */
export interface ServerGrant {
  namespaces?: readonly string[];
}

/** Whether the caller's grant reaches a namespace. */
export const reaches = (ctx: CallerContext | undefined, namespace: string): boolean => grantReaches(grantOf(ctx), namespace);

/**
 * A completer for what belongs to a namespace: for a server whose grant does not reach it, one
 * that completes nothing, and asks the store nothing (as for a value matching nothing).
 */
export const completerWithin =
  (grant: ServerGrant, namespace: string, complete: (value: string) => Promise<string[]>) =>
  (value: string | undefined): Promise<string[]> =>
    grantReaches(grant.namespaces, namespace) ? complete(String(value ?? '')) : Promise.resolve([]);

/** Refuses a resource outside the caller's grant (by its namespace, `namespaceOf`) as one that does not exist. */
export function requireReach(ctx: CallerContext | undefined, uri: string): void {
  const namespace = namespaceOf(uri);
  if (namespace !== undefined && !reaches(ctx, namespace)) throw new ResourceNotFoundError(uri, `Resource ${uri} not found.`);
}

/** The caller for an op a resource reads through: a limited key sees through it what it would through the op's tool (tasks within its grant, agents without what names tools outside it). */
export const callerOf = (ctx: CallerContext | undefined) => {
  const namespaces = grantOf(ctx);
  return namespaces ? { caller: { face: 'mcp' as const, actor: `mcp:${ctx?.http?.authInfo?.clientId ?? 'client'}`, namespaces } } : {};
};
