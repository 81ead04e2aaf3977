import { InMemoryServerEventBus, type ServerEvent, type ServerEventBus } from '@modelcontextprotocol/server';
import { LRUCache } from 'lru-cache';
import type { Runtime } from '../runtime/context.js';
import { eventFollower } from '../studio/events.js';
import { grantReaches } from '../tools/types.js';
import { namespaceOf } from './resource-grant.js';
import { AUDIT_URI, TICKETS_URI, studioIdOf, studioWithinGrant, ticketUri, updatedBy } from './resources.js';

/**
 * The change events behind 2026-07-28 `subscriptions/listen` streams: while at least one stream
 * is open, the store is polled (about once a second) for timeline events and audit entries
 * newer than the last seen, and `resources/updated` is published for each ticket that changed,
 * for the ticket list and for the audit log. The SDK's listen router sends each stream only
 * the URIs it asked for. Every change to a ticket appends to its timeline, so new event ids are
 * the whole feed (both lookups are primary-key ranges). Agents, tasks and executions
 * (twl://agents/{name}, twl://tasks/{id}, twl://executions/{id}) come from the studio's change feed
 * (twl_events: LISTEN on PostgreSQL, a poll by id on the embedded store), followed while a stream
 * is open.
 *
 * A listen stream is acknowledged as soon as the SDK has subscribed (synchronously: its
 * `bus.subscribe` is not awaited), while the baseline poll and the studio follower take their
 * time: `following()` holds the feed and resolves once both are in place, so that the request is
 * served (`listenFollowing`) only then, and a change made once the acknowledgement arrives is told.
 */
export function changeFeedBus(runtime: Runtime, intervalMs = 1000): ChangeFeedBus {
  const inner = new InMemoryServerEventBus((err) => runtime.logger.debug({ err: err.message }, 'a listen stream failed'));
  let listeners = 0;
  let timer: NodeJS.Timeout | undefined;
  let lastEvent: number | undefined;
  let lastAudit: number | undefined;
  let polling: Promise<void> = Promise.resolve();
  let studio: Promise<(() => void) | undefined> | undefined;
  const stopStudio = () => {
    const pending = studio;
    studio = undefined;
    void pending?.then((stop) => stop?.());
  };

  const publish = (event: ServerEvent) => inner.publish(event);

  const poll = async () => {
    try {
      const store = await runtime.store();
      if (lastEvent === undefined || lastAudit === undefined) {
        // The baseline: only what changes after the first stream opened is news.
        const { rows } = await store.query<{ e: unknown; a: unknown }>('SELECT (SELECT coalesce(max(id), 0) FROM twl_ticket_events) AS e, (SELECT coalesce(max(id), 0) FROM twl_audit) AS a');
        lastEvent = Number(rows[0]!.e);
        lastAudit = Number(rows[0]!.a);
        return;
      }
      const events = await store.query<{ ticket_id: unknown; last: unknown }>('SELECT ticket_id, max(id) AS last FROM twl_ticket_events WHERE id > $1 GROUP BY ticket_id', [lastEvent]);
      const audit = await store.query<{ last: unknown }>('SELECT coalesce(max(id), 0) AS last FROM twl_audit WHERE id > $1', [lastAudit]);
      for (const row of events.rows) {
        lastEvent = Math.max(lastEvent, Number(row.last));
        publish({ kind: 'resource_updated', uri: ticketUri(Number(row.ticket_id)) });
      }
      if (events.rows.length) publish({ kind: 'resource_updated', uri: TICKETS_URI });
      const auditLast = Number(audit.rows[0]!.last);
      if (auditLast > lastAudit) {
        lastAudit = auditLast;
        publish({ kind: 'resource_updated', uri: AUDIT_URI });
      }
    } catch (err) {
      runtime.logger.debug({ err: (err as Error).message }, 'change feed: the store did not answer; trying again');
    }
  };

  const tick = () => {
    polling = polling.then(poll);
  };

  const bus: ChangeFeedBus = {
    publish,
    async following() {
      const release = bus.subscribe(() => undefined);
      // The baseline is the first poll of the chain; the follower resolves once it listens (or failed, as undefined).
      await Promise.all([polling, studio]);
      return release;
    },
    subscribe(listener) {
      const off = inner.subscribe(listener);
      if (listeners++ === 0) {
        tick();
        timer = setInterval(tick, intervalMs);
        timer.unref();
        studio = eventFollower(runtime)
          .add((events) => {
            for (const uri of updatedBy(events)) publish({ kind: 'resource_updated', uri });
          })
          .catch((err: unknown) => {
            runtime.logger.warn({ err: (err as Error).message }, 'change feed: could not follow studio events');
            return undefined;
          });
      }
      let done = false;
      return () => {
        if (done) return;
        done = true;
        off();
        if (--listeners === 0) {
          clearInterval(timer);
          timer = undefined;
          lastEvent = lastAudit = undefined;
          stopStudio();
        }
      };
    },
    close() {
      clearInterval(timer);
      timer = undefined;
      stopStudio();
    },
  };
  return bus;
}

/** The change feed behind listen streams: a bus that can be held until it follows the store. */
export interface ChangeFeedBus extends ServerEventBus {
  /** Holds the feed open; resolves with its release once the feed follows (a change from then on is published). */
  following(): Promise<() => void>;
  close(): void;
}

/** Whether a request body (a message or a batch) opens a 2026-07-28 `subscriptions/listen` stream. */
export function opensListen(body: unknown): boolean {
  return (Array.isArray(body) ? body : [body]).some((m) => !!m && typeof m === 'object' && (m as { method?: unknown }).method === 'subscriptions/listen');
}

/**
 * Serves a request, one that opens a listen stream once the feed follows: the SDK writes the
 * stream's acknowledgement as it subscribes to the bus, so the feed must already be following
 * then (the 2025 resources/subscribe answers once its watch has its baseline, likewise).
 */
export async function listenFollowing<T>(changes: ChangeFeedBus, body: unknown, serve: () => Promise<T>): Promise<T> {
  if (!opensListen(body)) return serve();
  const release = await changes.following();
  try {
    return await serve();
  } finally {
    release();
  }
}

/**
 * The change feed as the listen streams of a key limited to namespaces hear it: `resources/updated`
 * only for what the key could read (by the URI's namespace, `namespaceOf`: tickets, the audit log and
 * agents are twl's; a task's or an execution's by its task's grant), the rest as it is. The SDK's
 * listen router honours whatever URIs a stream names (it cannot see the caller), so a URI outside
 * the grant is accepted, as one that does not exist is, and never fires.
 */
export function grantedBus(bus: ServerEventBus, runtime: Runtime, namespaces: readonly string[]): ServerEventBus {
  // A task's grant never changes: asked once per task or execution (a running one updates with each output line).
  const known = new LRUCache<string, Promise<boolean>>({ max: 1000 });
  const within = (uri: string, ref: { kind: 'task' | 'execution'; id: number }) => {
    let answer = known.get(uri);
    if (!answer) {
      known.set(uri, (answer = studioWithinGrant(runtime, ref, namespaces)));
      answer.catch(() => known.delete(uri));
    }
    return answer;
  };
  return {
    publish: (event) => bus.publish(event),
    subscribe: (listener) =>
      bus.subscribe((event) => {
        if (event.kind !== 'resource_updated') return listener(event);
        const namespace = namespaceOf(event.uri);
        if (namespace !== undefined) return grantReaches(namespaces, namespace) ? listener(event) : undefined;
        const ref = studioIdOf(event.uri);
        if (!ref) return listener(event);
        void within(event.uri, ref).then(
          (within) => within && listener(event),
          (err: unknown) => runtime.logger.debug({ uri: event.uri, err: (err as Error).message }, 'change feed: could not check a task\'s grant; not sent'),
        );
      }),
  };
}
