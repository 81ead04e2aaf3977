import type http from 'node:http';
import type { Role } from '../ops/op.js';
import type { Runtime } from '../runtime/context.js';
import { messageOf } from '../runtime/errors.js';
import { eventFollower, eventKinds, eventTopics, taskGrantFilter, type EventFilter, type EventKind, type EventTopic, type TwlEvent } from '../studio/events.js';

/** The query parameters GET /api/events takes. */
const PARAMS = ['topics', 'kinds', 'task', 'subject', 'after'] as const;
/** How long a client waits before it reconnects (the SSE `retry:` field), in ms. */
const RETRY_MS = 2000;
/** The head of an event stream's 200. */
const HEAD = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no' };

export class EventsRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const idParam = (name: string, value: string, min: number): number => {
  if (!/^\d{1,15}$/.test(value) || Number(value) < min) throw new EventsRequestError(400, `${name} must be a whole number${min ? ' from 1' : ' from 0'}, got ${JSON.stringify(value.slice(0, 50))}.`);
  return Number(value);
};

const listParam = <T extends string>(name: string, value: string, allowed: readonly T[]): T[] => {
  const items = value.split(',').map((v) => v.trim());
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new EventsRequestError(400, `Unknown ${name.replace(/s$/, '')} ${JSON.stringify(item.slice(0, 50))} in ${name}: expected a comma-separated list of ${allowed.join(', ')}.`);
  }
  return items as T[];
};

/** The filter and resume point of a GET /api/events request, or an EventsRequestError 400 naming the problem. */
export function parseEventsRequest(url: URL, lastEventId: string | undefined, role: Role): { filter: EventFilter; after?: number } {
  for (const key of new Set(url.searchParams.keys())) {
    if (!(PARAMS as readonly string[]).includes(key)) throw new EventsRequestError(400, `Unknown query parameter ${JSON.stringify(key.slice(0, 50))}: GET /api/events takes ${PARAMS.join(', ')}.`);
    if (url.searchParams.getAll(key).length > 1) throw new EventsRequestError(400, `${key} is given more than once; give it once (lists are comma-separated).`);
  }
  const q = (name: string) => url.searchParams.get(name) ?? undefined;
  const filter: EventFilter = { role };
  const topics = q('topics');
  if (topics !== undefined) filter.topics = listParam<EventTopic>('topics', topics, eventTopics);
  const kinds = q('kinds');
  if (kinds !== undefined) filter.kinds = listParam<EventKind>('kinds', kinds, eventKinds);
  const task = q('task');
  if (task !== undefined) filter.task = idParam('task', task, 1);
  const subject = q('subject');
  if (subject !== undefined) {
    if (!subject || subject.length > 200) throw new EventsRequestError(400, 'subject must be 1 to 200 characters: an agent\'s name, a task\'s or an execution\'s id.');
    if (!filter.topics || filter.topics.length !== 1) throw new EventsRequestError(400, 'subject needs exactly one topic (topics=task&subject=42): subjects of different topics are different things.');
    filter.subject = subject;
  }
  // A reconnecting client's Last-Event-ID is newer than the after= of the URL it first opened.
  const resume = lastEventId !== undefined && lastEventId !== '' ? idParam('Last-Event-ID', lastEventId.trim(), 0) : q('after') !== undefined ? idParam('after', q('after')!, 0) : undefined;
  return { filter, after: resume };
}

export interface EventStreamOptions {
  runtime: Runtime;
  /** Seconds between heartbeats. */
  heartbeat: number;
  /** Open streams per principal. */
  perKey: number;
  /** Bytes queued for one client before it is dropped. */
  buffer: number;
}

/**
 * GET /api/events: the studio's change feed (task and execution statuses, execution output lines,
 * agent statuses) as Server-Sent Events, filtered by the caller's role and the query, resumable with
 * Last-Event-ID (or ?after=). Each event: `id:` its feed id, `event:` topic.kind, `data:` its JSON.
 * A resume after events the retention pass deleted starts with `event: pruned` (no id), which says
 * which ids are gone: the client missed events and should re-read the state it follows.
 * A comment every `heartbeat` seconds keeps idle streams open; a client that stops reading is
 * dropped once `buffer` bytes wait for it; `perKey` streams per caller at most.
 */
export function eventStreams(options: EventStreamOptions) {
  const { runtime } = options;
  const open = new Map<string, number>();
  const streams = new Set<(reason: string) => void>();

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, url: URL, caller: { principal: string; role: Role; namespaces?: string[] }): Promise<void> => {
    if (req.method !== 'GET') throw new EventsRequestError(405, 'Use GET /api/events.');
    const lastEventId = req.headers['last-event-id'];
    const { filter, after } = parseEventsRequest(url, Array.isArray(lastEventId) ? lastEventId[0] : lastEventId, caller.role);
    const count = open.get(caller.principal) ?? 0;
    if (count >= options.perKey) throw new EventsRequestError(429, `This caller has ${count} event streams open already (http.events.perKey is ${options.perKey}); close one, or share one stream with topics=…`);
    open.set(caller.principal, count + 1);
    let closed = false;
    let stop: (() => void) | undefined;
    let heartbeat: NodeJS.Timeout | undefined;
    const end = (reason?: string) => {
      if (closed) return;
      closed = true;
      streams.delete(end);
      clearInterval(heartbeat);
      stop?.();
      const left = (open.get(caller.principal) ?? 1) - 1;
      if (left > 0) open.set(caller.principal, left);
      else open.delete(caller.principal);
      if (reason && !res.destroyed) {
        // Ended before it followed (the server drains, the feed failed): the head first, so a client reads the reason as an event.
        if (!res.headersSent) res.writeHead(200, HEAD);
        res.end(`event: close\ndata: ${JSON.stringify({ reason })}\n\n`);
      }
    };
    streams.add(end);
    res.on('close', () => end());
    /**
     * The 200, once the stream follows the change feed: a client that starts something when the
     * head arrives hears of it (a head sent before would let events in between go unsent).
     */
    const announce = () => {
      if (closed || res.headersSent) return;
      req.socket.setNoDelay(true);
      res.writeHead(200, HEAD);
      res.write(`retry: ${RETRY_MS}\n: twl events\n\n`);
      heartbeat = setInterval(() => write(': ping\n\n'), options.heartbeat * 1000);
      heartbeat.unref();
    };
    /** Writes, and drops a client that lets too much wait for it. */
    const write = (text: string) => {
      if (closed) return;
      res.write(text);
      if (res.writableLength > options.buffer) {
        runtime.logger.warn({ principal: caller.principal, queued: res.writableLength }, 'an /api/events client is not reading: disconnected');
        end();
        res.destroy();
      }
    };
    const send = (events: TwlEvent[]) => {
      for (const e of events) write(`id: ${e.id}\nevent: ${e.topic}.${e.kind}\ndata: ${JSON.stringify(e)}\n\n`);
    };
    // A key granted namespaces hears only of the tasks within its grant (as task_show answers it).
    const store = caller.namespaces ? await runtime.store() : undefined;
    const withinGrant = store && caller.namespaces ? taskGrantFilter(store, caller.namespaces) : undefined;
    /** Sends in order, each batch once it is filtered. */
    let sending: Promise<void> = Promise.resolve();
    try {
      const unfollow = await eventFollower(runtime).follow(
        filter,
        async (events) => {
          if (withinGrant) {
            const batch = events;
            sending = sending.then(async () => send(await withinGrant(batch))).catch((err: unknown) => {
              runtime.logger.warn({ err: messageOf(err) }, 'an /api/events stream could not check task grants');
              end('error');
            });
            await sending;
          } else send(events);
          // The backlog is read page by page: a page waits until the client took most of the last one.
          if (!closed && res.writableLength > options.buffer / 2) await new Promise<void>((resolve) => {
            res.once('drain', resolve);
            res.once('close', resolve);
          });
        },
        {
          after,
          onFollowing: announce,
          // The client resumes after events the retention pass deleted: it is told first, so it re-reads what it follows.
          onPruned: (gap) =>
            write(
              `event: pruned\ndata: ${JSON.stringify({
                ...gap,
                message: `Events ${gap.after + 1} to ${gap.prunedThrough} were deleted (store.eventRetention), and this stream cannot send those of them you follow: re-read the state you follow (task_show, task_logs, agent_show), then go on with the events that come next.`,
              })}\n\n`,
            ),
        },
      );
      if (closed) unfollow();
      else stop = unfollow;
    } catch (err) {
      runtime.logger.warn({ err: messageOf(err) }, 'an /api/events stream could not follow the change feed');
      announce();
      write(`event: error\ndata: ${JSON.stringify({ message: 'The change feed could not be read; reconnect to resume.' })}\n\n`);
      end('error');
    }
  };

  return {
    handle,
    /** Open streams (all callers). */
    get size() {
      return streams.size;
    },
    /** Ends every stream (the server drains): each gets `event: close`. */
    closeAll(reason = 'draining') {
      for (const end of [...streams]) end(reason);
    },
  };
}
