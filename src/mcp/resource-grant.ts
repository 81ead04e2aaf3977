import { ResourceNotFoundError } from '@modelcontextprotocol/server';

/**
 * A key limited to catalog namespaces (`twl keys create --namespaces`) reads through resources
 * only what the tools of those namespaces would show it: tickets, the audit log, health and agents
 * are twl's (namespace `twl`), workflow runs are the workflows' (`workflow`). Anything else is
 * said not to exist, as a tool outside the grant is.
 */

/** What a resource handler knows of its caller: over HTTP, the key's grant (src/http/server.ts puts it in authInfo). */
export type CallerContext = { http?: { authInfo?: { clientId?: string; extra?: Record<string, unknown> } } };

/** The namespaces of the key reading a resource over HTTP; undefined: every one (stdio, a key without a grant). */
export const grantOf = (ctx: CallerContext | undefined): string[] | undefined => ctx?.http?.authInfo?.extra?.namespaces as string[] | undefined;

/** Whether the caller's grant reaches a namespace. */
export const reaches = (ctx: CallerContext | undefined, namespace: string): boolean => {
  const grant = grantOf(ctx);
  return !grant || grant.includes(namespace);
};

/** Refuses a resource outside the caller's grant as one that does not exist. */
export function requireReach(ctx: CallerContext | undefined, namespace: string, uri: string): void {
  if (!reaches(ctx, namespace)) throw new ResourceNotFoundError(uri, `Resource ${uri} not found.`);
}
