import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, ResourceTemplate, type McpServer, type ReadResourceResult } from '@modelcontextprotocol/server';
import { openStatuses } from '../agents/tickets/repo.js';
import auditListOp from '../ops/audit/list.js';
import { invoke } from '../ops/invoke.js';
import healthOp from '../ops/monitoring/health.js';
import ticketListOp from '../ops/ticket/list.js';
import taskListOp from '../ops/task/list.js';
import taskShowOp from '../ops/task/show.js';
import ticketShowOp from '../ops/ticket/show.js';
import workflowRunsOp from '../ops/workflow/runs.js';
import workflowShowOp from '../ops/workflow/show.js';
import type { Runtime } from '../runtime/context.js';
import { TwlError } from '../runtime/errors.js';
import { eventFollower, type TwlEvent } from '../studio/events.js';
import { executionNotFound, executionOutput, getExecution, getTask, withinGrant } from '../studio/tasks.js';
import { agentUri, registerAgentResources } from './agent-resources.js';
import { ticketIds } from './completions.js';
import { callerOf, completerWithin, grantOf, reaches, requireReach, resourceNamespaces, type CallerContext, type ServerGrant } from './resource-grant.js';
import { AUDIT_URI, HEALTH_URI, TICKETS_URI, WORKFLOWS_URI, agentNameOf, ticketIdOf, workflowRunOf } from './resource-uris.js';
import { ticketWatch, type WatchSubscriber } from './ticket-watch.js';

export { AUDIT_URI, HEALTH_URI, TICKETS_URI, WORKFLOWS_URI, ticketIdOf } from './resource-uris.js';
export const ticketUri = (id: number) => `${TICKETS_URI}/${id}`;
export const taskUri = (id: number | string) => `twl://tasks/${id}`;
export const executionUri = (id: number | string) => `twl://executions/${id}`;
/** Output lines an execution resource holds (its newest). */
const EXECUTION_LINES = 5000;

const JSON_MIME = 'application/json';
/** How many tickets resources/list offers (most recently updated first), and the list resource holds. */
const LISTED_TICKETS = 100;
const LIST_LIMIT = 500;
const AUDIT_LIMIT = 100;

export interface ResourceOptions extends ServerGrant {
  /** How often the store is polled for changes while something is subscribed (ms). Shared per runtime: the first caller sets it. */
  pollMs?: number;
}

const json = (uri: string, value: unknown): ReadResourceResult => ({ contents: [{ uri, mimeType: JSON_MIME, text: JSON.stringify(value, null, 2) }] });

/** A task or execution id from `twl://tasks/{id}` or `twl://executions/{id}`, or undefined. */
export function studioIdOf(uri: string): { kind: 'task' | 'execution'; id: number } | undefined {
  const m = /^twl:\/\/(tasks|executions)\/(\d{1,15})$/.exec(uri);
  const id = m ? Number(m[2]) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? { kind: m![1] === 'tasks' ? 'task' : 'execution', id } : undefined;
}

/** Whether a task (or an execution's task) exists and is within a grant (undefined: every one): what a limited key may subscribe to, or hear of. */
export async function studioWithinGrant(runtime: Runtime, ref: { kind: 'task' | 'execution'; id: number }, namespaces: readonly string[] | undefined): Promise<boolean> {
  const store = await runtime.store();
  const { rows } = await store.query<{ namespaces: string[] | null }>(
    ref.kind === 'task' ? 'SELECT namespaces FROM twl_tasks WHERE id = $1' : 'SELECT t.namespaces FROM twl_task_executions e JOIN twl_tasks t ON t.id = e.task_id WHERE e.id = $1',
    [ref.id],
  );
  return rows[0] !== undefined && withinGrant({ namespaces: rows[0].namespaces ?? null }, namespaces);
}

/**
 * The resources a batch of change-feed events updates: an agent's (its status), a task's (its
 * status, or one of its executions' statuses) and an execution's (its status, or a line of output).
 */
export function updatedBy(events: readonly TwlEvent[]): Set<string> {
  const uris = new Set<string>();
  for (const e of events) {
    if (e.topic === 'agent') uris.add(agentUri(e.subject));
    else if (e.topic === 'task') uris.add(taskUri(e.subject));
    else if (e.topic === 'execution') {
      uris.add(executionUri(e.subject));
      if (e.kind === 'status' && e.payload.task !== undefined) uris.add(taskUri(String(e.payload.task)));
    }
  }
  return uris;
}

/** Errors as MCP errors: a missing ticket is "resource not found", bad input is "invalid params". */
function mcpError(err: unknown, uri: string): unknown {
  if (err instanceof ProtocolError) return err;
  if (err instanceof TwlError) {
    if (err.code === 'TWL_TICKET_NOT_FOUND' || err.code === 'TWL_WORKFLOW_RUN_NOT_FOUND' || err.code === 'TWL_TASK_NOT_FOUND') return new ResourceNotFoundError(uri, `Resource ${uri} not found: ${err.message}`);
    if (err.code === 'TWL_INPUT_INVALID') return new ProtocolError(ProtocolErrorCode.InvalidParams, err.message, { uri });
  }
  return err;
}

async function read(uri: string, produce: () => Promise<unknown>): Promise<ReadResourceResult> {
  try {
    return json(uri, await produce());
  } catch (err) {
    throw mcpError(err, uri);
  }
}

/**
 * The resources: `twl://tickets/{id}` (a ticket and its timeline; resources/list offers the
 * recently updated ones), `twl://tickets` (the open tickets), `twl://audit` (the latest audit
 * entries) and `twl://health` (the health report), all JSON, read through the same ops as the
 * tools. Clients may subscribe to tickets, the ticket list and the audit log: the store is
 * polled (about once a second, only while a subscription exists) and
 * `notifications/resources/updated` is sent for what changed.
 *
 * The completers (ticket numbers, agent names) follow the grant the server is built for
 * (`options.namespaces`): the SDK calls them without the request, so they cannot see the caller.
 *
 * Call before `server.connect()` (capabilities cannot change after), and `close()` when the
 * session ends: it drops this session's subscriptions (polling stops with the last one).
 */
export function registerResources(server: McpServer, runtime: Runtime, options: ResourceOptions = {}): { close(): void } {
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });

  server.registerResource(
    'ticket',
    new ResourceTemplate(`${TICKETS_URI}/{id}`, {
      list: async (ctx) => {
        if (!reaches(ctx, resourceNamespaces.ticket)) return { resources: [] };
        const { tickets } = await invoke(ticketListOp, runtime, { sort: 'updated', limit: LISTED_TICKETS }, { signal: ctx.mcpReq.signal });
        return {
          resources: tickets.map((t) => ({
            uri: ticketUri(t.id),
            name: `ticket-${t.id}`,
            title: `#${t.id} ${t.title}`,
            description: `${t.status} · ${t.category ?? 'unclassified'} · priority ${t.priority ?? 'not set'} · updated ${t.updatedAt}`,
            mimeType: JSON_MIME,
          })),
        };
      },
      // Completed for a server whose grant reaches tickets only: without it, nothing (and no query).
      complete: { id: completerWithin(options, resourceNamespaces.ticket, (value) => ticketIds(runtime, value)) },
    }),
    { title: 'Ticket', description: 'A ticket and its timeline: every recorded step, who did it, its input, output, decision and duration.', mimeType: JSON_MIME },
    async (uri, variables, ctx) => {
      const id = ticketIdOf(uri.href);
      if (id === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Expected twl://tickets/{id} with a ticket number, got ${uri.href} (${JSON.stringify(variables)}).`);
      requireReach(ctx, uri.href);
      return read(uri.href, () => invoke(ticketShowOp, runtime, { id }, { signal: ctx.mcpReq.signal }));
    },
  );

  server.registerResource(
    'workflow-run',
    new ResourceTemplate(`${WORKFLOWS_URI}/{run}`, {
      list: async (ctx) => {
        if (!reaches(ctx, resourceNamespaces['workflow-run'])) return { resources: [] };
        const { runs } = await invoke(workflowRunsOp, runtime, { limit: LISTED_TICKETS }, { signal: ctx.mcpReq.signal });
        return { resources: runs.map((r) => ({ uri: `${WORKFLOWS_URI}/${r.id}`, name: `workflow-run-${r.id}`, title: `Run ${r.id} of ${r.workflow}`, description: `${r.status}${r.step ? ` at ${r.step}` : ''} · by ${r.actor} · ${r.startedAt}`, mimeType: JSON_MIME })) };
      },
    }),
    { title: 'Workflow run', description: 'A workflow run and every step of it: input, output, decision, status, error and duration.', mimeType: JSON_MIME },
    async (uri, variables, ctx) => {
      const run = workflowRunOf(uri.href);
      if (run === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Expected twl://workflows/{run} with a run number, got ${uri.href} (${JSON.stringify(variables)}).`);
      requireReach(ctx, uri.href);
      return read(uri.href, () => invoke(workflowShowOp, runtime, { run }, { signal: ctx.mcpReq.signal }));
    },
  );

  server.registerResource(
    'task',
    new ResourceTemplate('twl://tasks/{id}', {
      list: async (ctx) => {
        const { tasks } = await invoke(taskListOp, runtime, { limit: LISTED_TICKETS }, { signal: ctx.mcpReq.signal, ...callerOf(ctx) });
        return {
          resources: tasks.map((t) => ({
            uri: taskUri(t.id),
            name: `task-${t.id}`,
            title: `task #${t.id}${t.name ? ` ${t.name}` : ''}`,
            description: `${t.status} · ${t.kind} ${t.tool ?? ''} · ${t.trigger}${t.cron ? ` ${t.cron}` : ''}`,
            mimeType: JSON_MIME,
          })),
        };
      },
    }),
    { title: 'Task', description: 'A task (its status, schedule and reason) and its executions, one per attempt. Subscribe to hear when its status or an execution changes.', mimeType: JSON_MIME },
    async (uri, variables, ctx) => {
      const ref = studioIdOf(uri.href);
      if (ref?.kind !== 'task') throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Expected twl://tasks/{id} with a task number, got ${uri.href} (${JSON.stringify(variables)}).`);
      return read(uri.href, () => invoke(taskShowOp, runtime, { id: ref.id }, { signal: ctx.mcpReq.signal, ...callerOf(ctx) }));
    },
  );

  server.registerResource(
    'execution',
    new ResourceTemplate('twl://executions/{id}', { list: undefined }),
    {
      title: 'Task execution',
      description: `One run of a task: start, end, status, error, tool calls, and its output lines (the newest ${EXECUTION_LINES}; "omitted" counts the older ones). Subscribe to hear of each new line and status.`,
      mimeType: JSON_MIME,
    },
    async (uri, variables, ctx) => {
      const ref = studioIdOf(uri.href);
      if (ref?.kind !== 'execution') throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Expected twl://executions/{id} with an execution number, got ${uri.href} (${JSON.stringify(variables)}).`);
      return read(uri.href, async () => {
        const store = await runtime.store();
        const execution = await getExecution(store, ref.id);
        // An execution of a task outside a limited key's grant is not found, as its task is not.
        const namespaces = grantOf(ctx);
        if (namespaces) await getTask(store, execution.taskId, namespaces).catch(() => Promise.reject(executionNotFound(ref.id)));
        return { execution, ...(await executionOutput(store, ref.id, EXECUTION_LINES)) };
      });
    },
  );

  server.registerResource(
    'tickets',
    TICKETS_URI,
    { title: 'Open tickets', description: `Tickets not yet resolved or closed (${openStatuses.join(', ')}), most urgent first, at most ${LIST_LIMIT}.`, mimeType: JSON_MIME },
    async (uri, ctx) =>
      read(uri.href, async () => {
        requireReach(ctx, uri.href);
        const { tickets, total } = await invoke(ticketListOp, runtime, { status: [...openStatuses], sort: 'priority', limit: LIST_LIMIT }, { signal: ctx.mcpReq.signal });
        return { statuses: openStatuses, total, tickets };
      }),
  );

  server.registerResource(
    'audit',
    AUDIT_URI,
    { title: 'Audit log', description: `The latest ${AUDIT_LIMIT} command decisions, newest first: who, what, which policy rule, the outcome, exit code and duration.`, mimeType: JSON_MIME },
    async (uri, ctx) => read(uri.href, () => (requireReach(ctx, uri.href), invoke(auditListOp, runtime, { limit: AUDIT_LIMIT }, { signal: ctx.mcpReq.signal }))),
  );

  server.registerResource(
    'health',
    HEALTH_URI,
    { title: 'Service health', description: "Every configured service and twl's own dependencies (store, cache, LLM): ok, degraded or down, checked when read.", mimeType: JSON_MIME },
    async (uri, ctx) => read(uri.href, () => (requireReach(ctx, uri.href), invoke(healthOp, runtime, {}, { signal: ctx.mcpReq.signal }))),
  );

  // twl://agents/{name} (its own file: the agents' resource and its subscriptions).
  const agents = registerAgentResources(server, runtime, options);

  // Subscriptions (2025 revisions): McpServer leaves resources/subscribe and /unsubscribe to us.
  const watch = ticketWatch(runtime, options.pollMs);
  const tickets = new Set<number>();
  let list = false;
  let audit = false;
  let closed = false;
  const notify = (uri: string) =>
    void server.server.sendResourceUpdated({ uri }).catch((err: unknown) => runtime.logger.debug({ uri, err: (err as Error).message }, 'could not send resources/updated'));
  const subscriber: WatchSubscriber = {
    tickets: () => tickets,
    list: () => list,
    audit: () => audit,
    changed: (change) => {
      if (closed) return;
      for (const id of change.tickets) notify(ticketUri(id));
      if (change.list) notify(TICKETS_URI);
      if (change.audit) notify(AUDIT_URI);
    },
  };

  // Agents, tasks and executions: heard of through the change feed (twl_events), not the ticket watch.
  const studio = new Set<string>();
  let unfollow: (() => void) | undefined;
  let following: Promise<unknown> | undefined;
  const follow = async () => {
    following ??= eventFollower(runtime).add((events) => {
      if (closed) return;
      for (const uri of updatedBy(events)) if (studio.has(uri)) notify(uri);
    }).then((stop) => (unfollow = stop));
    await following;
  };
  const unfollowIfIdle = () => {
    if (studio.size || !following) return;
    const pending = following;
    following = undefined;
    void pending.then(() => {
      unfollow?.();
      unfollow = undefined;
    });
  };

  server.server.setRequestHandler('resources/subscribe', async (request, ctx) => {
    const { uri } = request.params;
    if (closed) throw new ProtocolError(ProtocolErrorCode.InvalidRequest, 'This session is closed.');
    const ref = studioIdOf(uri);
    // A resource outside the key's grant (by its namespace: tickets, the audit log, health and agents are twl's) is said
    // not to exist. Workflow runs have no subscriptions: one is accepted and never fires (below), whoever asks.
    if (workflowRunOf(uri) === undefined) requireReach(ctx as CallerContext, uri);
    if (ref || (await agents.subscribable(uri))) {
      // The task's grant with it: a limited key subscribes only to the tasks (and executions) within its own.
      if (ref && !(await studioWithinGrant(runtime, ref, grantOf(ctx as CallerContext)))) throw new ResourceNotFoundError(uri, `Resource ${uri} not found: no ${ref.kind} #${ref.id}.`);
      studio.add(uri);
      // Following before we answer: a change right after this is heard.
      await follow();
      return {};
    }
    const id = ticketIdOf(uri);
    if (id !== undefined) {
      // Only what exists: reading it would fail too.
      const store = await runtime.store();
      const { rows } = await store.query('SELECT 1 FROM twl_tickets WHERE id = $1', [id]);
      if (!rows.length) throw new ResourceNotFoundError(uri, `Resource ${uri} not found: no ticket #${id}.`);
      tickets.add(id);
    } else if (uri === TICKETS_URI) list = true;
    else if (uri === AUDIT_URI) audit = true;
    else if (uri === HEALTH_URI) {
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `${HEALTH_URI} is checked when read and has no change feed; read it again when you need it.`, { uri });
    } else {
      // A URI twl does not serve: the subscription is accepted (the protocol does not ask servers to
      // refuse it) and simply never fires. twl's own URIs are checked above.
      runtime.logger.debug({ uri }, 'subscription to a resource twl does not serve');
      return {};
    }
    watch.add(subscriber);
    // The baseline is taken before we answer: a change right after this is noticed.
    await watch.refresh();
    return {};
  });

  server.server.setRequestHandler('resources/unsubscribe', async (request) => {
    const { uri } = request.params;
    if (studioIdOf(uri) || agentNameOf(uri) !== undefined) {
      studio.delete(uri);
      unfollowIfIdle();
      return {};
    }
    const id = ticketIdOf(uri);
    if (id !== undefined) tickets.delete(id);
    else if (uri === TICKETS_URI) list = false;
    else if (uri === AUDIT_URI) audit = false;
    // Unsubscribing from something never subscribed is not an error.
    await watch.refresh();
    return {};
  });

  /** Drops this session's subscriptions; the watcher stops polling with the last one anywhere. */
  const drop = () => {
    tickets.clear();
    list = audit = false;
    watch.remove(subscriber);
    studio.clear();
    unfollowIfIdle();
  };
  const close = () => {
    closed = true;
    drop();
  };
  // Subscriptions live as long as the connection: when the transport closes, they go with it.
  const previous = server.server.onclose;
  server.server.onclose = () => {
    drop();
    previous?.();
  };
  return { close };
}
