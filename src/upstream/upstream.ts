import { ProtocolError, SdkError, SdkErrorCode } from '@modelcontextprotocol/client';
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, ExponentialBackoff, circuitBreaker, handleWhen, retry, type CircuitBreakerPolicy, type RetryPolicy } from 'cockatiel';
import PQueue from 'p-queue';
import { TwlError, isTwlError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { upstreamBreaker, upstreamCallDuration, upstreamChildren, upstreamQueueWait, upstreamRestarts } from '../runtime/metrics.js';
import { Child } from './child.js';
import type { UpstreamConfig } from './config.js';
import { deadlineSignal } from './deadline.js';
import { ResponseCache, callKey, canonicalJson } from './response-cache.js';
import type { SecretBox } from './secrets.js';
import { Slot } from './supervisor.js';
import { acceptTools } from './tools.js';
import type { CallToolResult, ForwardedMethod, Upstream, UpstreamCallOptions, UpstreamDeps, UpstreamState, UpstreamStatus, UpstreamTool } from './types.js';

export interface UpstreamContext {
  logger: Logger;
  secrets: SecretBox;
  env: NodeJS.ProcessEnv;
  cache?: UpstreamDeps['cache'];
  /** The set-wide cap on children. */
  reserve: () => boolean;
  release: () => void;
}

const stateRank: UpstreamState[] = ['ready', 'starting', 'restarting', 'crash-loop', 'stopped'];
const breakerName = { [CircuitState.Closed]: 'closed', [CircuitState.Open]: 'open', [CircuitState.HalfOpen]: 'half-open', [CircuitState.Isolated]: 'open' } as const;

/** Errors that say the upstream (not the tool) failed. */
const isUpstreamFailure = (err: unknown): boolean =>
  (isTwlError(err) && (err.code === 'TWL_UPSTREAM_UNAVAILABLE' || err.code === 'TWL_UPSTREAM_TIMEOUT' || err.code === 'TWL_UPSTREAM_INVALID')) || Child.isConnectionError(err);
/** Failures that count for the breaker: one child death fails all its calls in flight but counts once. */
const countsForBreaker = (err: unknown): boolean => isUpstreamFailure(err) && (err as TwlError).details?.breaker !== false;
/** Failures worth another attempt for an idempotent call: the child died or could not start (a timeout already spent the budget). */
const isRetryable = (err: unknown): boolean => isTwlError(err) && err.code === 'TWL_UPSTREAM_UNAVAILABLE' && (err.details as { retryable?: boolean } | undefined)?.retryable === true;

/**
 * One configured upstream: its children (shared, pool or isolated) and the request path every
 * call takes — response cache and single flight (read-only tools), per-entity serialisation,
 * the priority queue with its cap, the deadline, retries with jittered backoff (idempotent
 * tools) and the circuit breaker. Errors are TwlError naming the upstream.
 */
export class UpstreamConnection implements Upstream {
  readonly name: string;
  private readonly slots: Slot[] = [];
  private readonly sessions = new Map<string, Slot>();
  private readonly queue: PQueue;
  private readonly breaker: CircuitBreakerPolicy;
  private readonly retry: RetryPolicy;
  private readonly cache: ResponseCache;
  /** Single flight: identical read-only calls in flight, with how many callers wait on each. */
  private readonly inFlightCalls = new Map<string, { promise: Promise<CallToolResult>; waiters: number; abort: AbortController }>();
  private readonly entityLocks = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<() => void>();
  private tools?: Promise<UpstreamTool[]>;
  private toolIndex = new Map<string, UpstreamTool>();
  private timer?: NodeJS.Timeout;
  private lastError?: string;
  private closed = false;
  private warmed = false;

  constructor(
    readonly config: UpstreamConfig,
    private readonly ctx: UpstreamContext,
  ) {
    this.name = config.name;
    this.queue = new PQueue({ concurrency: config.queue.concurrency });
    this.breaker = circuitBreaker(handleWhen(countsForBreaker), { halfOpenAfter: config.breaker.halfOpenAfter, breaker: new ConsecutiveBreaker(config.breaker.failures) });
    this.retry = retry(handleWhen(isRetryable), { maxAttempts: config.retries, backoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2000 }) });
    this.cache = new ResponseCache(config, ctx.logger, ctx.cache);
    for (const state of ['closed', 'open', 'half-open']) upstreamBreaker.set({ upstream: this.name, state }, state === 'closed' ? 1 : 0);
    this.breaker.onStateChange((state) => {
      for (const s of ['closed', 'open', 'half-open']) upstreamBreaker.set({ upstream: this.name, state: s }, s === breakerName[state] ? 1 : 0);
      this.ctx.logger.info({ upstream: this.name, breaker: breakerName[state] }, `upstream breaker ${breakerName[state]}`);
    });
    if (config.sharing === 'shared') this.slots.push(this.newSlot());
    if (config.sharing === 'pool') for (let i = 0; i < Math.max(1, config.pool.min); i++) this.slots.push(this.newSlot());
    const every = Math.min(...[config.idleTimeout, config.healthInterval].filter((ms) => ms > 0), 30_000);
    this.timer = setInterval(() => void this.housekeep(), Math.max(250, every / 2));
    this.timer.unref();
  }

  private newSlot(sessionKey?: string): Slot {
    upstreamChildren.inc({ upstream: this.name, state: 'stopped' });
    return new Slot(
      { config: this.config, secrets: this.ctx.secrets, env: this.ctx.env, logger: this.ctx.logger, sessionKey, onToolsChanged: () => this.toolsChanged() },
      {
        onState: (from, to) => {
          upstreamChildren.dec({ upstream: this.name, state: from });
          upstreamChildren.inc({ upstream: this.name, state: to });
          if (to === 'restarting' || to === 'crash-loop') upstreamRestarts.inc({ upstream: this.name });
        },
        onRestart: () => this.toolsChanged(),
        reserve: this.ctx.reserve,
        release: this.ctx.release,
      },
    );
  }

  private allSlots(): Slot[] {
    return [...this.slots, ...this.sessions.values()];
  }

  private toolsChanged(): void {
    this.tools = undefined;
    for (const listener of this.listeners) {
      try {
        listener();
      } catch (err) {
        this.ctx.logger.warn({ upstream: this.name, err: (err as Error).message }, 'tools-changed listener failed');
      }
    }
  }

  onToolsChanged(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  isReadOnly(tool: string): boolean {
    return this.hints(this.toolIndex.get(tool)).readOnlyHint === true;
  }

  /**
   * A tool's hints as the request path uses them (cache, single flight, retries): the configured
   * override's over what the upstream declares, so an upstream that claims `readOnlyHint` for a
   * tool the configuration says writes never has that tool's calls cached, shared or retried.
   */
  private hints(declared: UpstreamTool | undefined): { readOnlyHint?: boolean; idempotentHint?: boolean } {
    if (!declared) return {};
    const overrides = this.config.overrides;
    const override = overrides && Object.hasOwn(overrides, declared.name) ? overrides[declared.name]?.annotations : undefined;
    return { ...declared.annotations, ...override };
  }

  /** The slot a call goes to: the one (shared), the least busy (pool, growing to max), or the session's (isolated). */
  private slotFor(sessionKey?: string): Slot {
    if (this.config.sharing === 'shared') return this.slots[0]!;
    if (this.config.sharing === 'pool') {
      const live = this.slots.filter((s) => s.state !== 'crash-loop');
      const best = live.reduce<Slot | undefined>((a, s) => (!a || s.load < a.load ? s : a), undefined);
      if ((!best || best.load > 0) && this.slots.length < this.config.pool.max) {
        const slot = this.newSlot();
        this.slots.push(slot);
        return slot;
      }
      return best ?? this.slots[0]!;
    }
    const key = sessionKey ?? '';
    let slot = this.sessions.get(key);
    if (!slot) {
      if (this.sessions.size >= this.config.pool.max) {
        // Make room by ending the longest-idle session without calls in flight, if there is one.
        // (A session whose child is still starting for a call has load but no inFlight yet: not idle.)
        const idle = [...this.sessions.entries()].filter(([, s]) => s.inFlight === 0 && s.load === 0).sort(([, a], [, b]) => (a.child?.lastUsed ?? 0) - (b.child?.lastUsed ?? 0))[0];
        if (!idle) throw new TwlError('TWL_UPSTREAM_UNAVAILABLE', `upstream ${this.name} has ${this.sessions.size} isolated sessions busy (pool.max); retry later or raise pool.max.`);
        void this.closeSession(idle[0]);
      }
      slot = this.newSlot(key || undefined);
      this.sessions.set(key, slot);
    }
    return slot;
  }

  async listTools(options: { signal?: AbortSignal; sessionKey?: string } = {}): Promise<UpstreamTool[]> {
    if (this.closed) throw this.closedError();
    if (!this.warmed && this.config.sharing === 'pool') {
      // pool.min children are kept warm from first use on.
      this.warmed = true;
      for (const slot of this.slots) slot.acquire().catch(() => {});
    }
    if (!this.tools) {
      const listing = (async () => {
        const child = await this.slotFor(options.sessionKey).acquire();
        const raw = await child.listTools({ timeout: this.config.timeout, maxTools: this.config.maxTools }).catch((err: unknown) => {
          throw this.translate(err, 'tools/list', this.config.timeout, undefined, child);
        });
        const tools = acceptTools(this.config, raw, this.ctx.logger);
        this.toolIndex = new Map(tools.map((t) => [t.name, t]));
        return tools;
      })();
      this.tools = listing;
      listing.catch(() => {
        if (this.tools === listing) this.tools = undefined;
      });
    }
    if (!options.signal) return this.tools;
    return await this.raceSignal(this.tools, options.signal).catch((err: unknown) => {
      throw options.signal?.aborted ? new TwlError('TWL_INTERRUPTED', `upstream ${this.name}: tools/list was cancelled.`) : err;
    });
  }

  async callTool(tool: string, args: Record<string, unknown>, options: UpstreamCallOptions = {}): Promise<CallToolResult> {
    if (this.closed) throw this.closedError();
    const tools = await this.listTools({ signal: options.signal, sessionKey: options.sessionKey });
    const declared = tools.find((t) => t.name === tool);
    if (!declared) throw new TwlError('TWL_INPUT_INVALID', `upstream ${this.name} has no tool ${JSON.stringify(tool.slice(0, 80))}.`, { actions: [`List its tools with \`twl tools list --source upstream:${this.name}\`.`] });
    const hints = this.hints(declared);
    const readOnly = hints.readOnlyHint === true;
    const idempotent = readOnly || hints.idempotentHint === true;
    const sessionKey = this.config.sharing === 'isolated' ? (options.sessionKey ?? '') : '';
    const policy = readOnly ? this.cache.policy(tool) : undefined;
    // Single flight needs an exact key, not a digest: the canonical arguments as they are.
    const flightKey = readOnly ? `${tool}\0${sessionKey}\0${canonicalJson(args)}` : undefined;
    const key = policy ? callKey(tool, args, sessionKey) : undefined;

    if (policy && key && !options.noCache) {
      const hit = await this.cache.get(key, policy.ttl);
      if (hit) return hit;
    }
    // A shared (single-flight) call must not end because one of its callers gave up: it has its
    // own signal, aborted only when every caller has given up; each caller races its own.
    const single = flightKey && !options.progress ? flightKey : undefined;
    const flightAbort = single ? new AbortController() : undefined;
    const sendOptions = flightAbort ? { ...options, signal: flightAbort.signal } : options;
    const run = () => this.entityLocked(tool, args, () => this.send(tool, args, sendOptions, idempotent));
    const fetch = async () => {
      try {
        const result = await run();
        if (policy && key && !result.isError) await this.cache.set(key, result, policy);
        return result;
      } catch (err) {
        // Serve stale: a result older than its ttl but within staleIfError beats the failure.
        if (policy && key && policy.staleIfError > 0 && isUpstreamFailure(err)) {
          const stale = await this.cache.get(key, policy.ttl + policy.staleIfError);
          if (stale) {
            this.ctx.logger.warn({ upstream: this.name, tool, err: (err as Error).message }, 'upstream failed: served a stale cached result');
            return stale;
          }
        }
        throw err;
      }
    };
    // Single flight: identical calls of a read-only tool in flight share one upstream call.
    if (!single) return fetch();
    let flight = this.inFlightCalls.get(single);
    if (!flight) {
      const promise = fetch().finally(() => this.inFlightCalls.delete(single));
      flight = { promise, waiters: 0, abort: flightAbort! };
      this.inFlightCalls.set(single, flight);
    }
    flight.waiters++;
    const { signal } = options;
    if (!signal) return flight.promise;
    const joined = flight;
    return this.raceSignal(joined.promise, signal).catch((err: unknown) => {
      if (!signal.aborted) throw err;
      if (--joined.waiters === 0) joined.abort.abort();
      throw new TwlError('TWL_INTERRUPTED', `upstream ${this.name}: tools/call ${tool} was cancelled.`);
    });
  }

  /** Calls writing the same entity (the configured argument's value) run one at a time, in arrival order. */
  private async entityLocked<T>(tool: string, args: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    const arg = Object.hasOwn(this.config.entityKey, tool) ? this.config.entityKey[tool] : undefined;
    if (!arg || args[arg] === undefined) return fn();
    const lockKey = `${arg}\0${JSON.stringify(args[arg])}`;
    const previous = this.entityLocks.get(lockKey) ?? Promise.resolve();
    const mine = previous.catch(() => {}).then(fn);
    const tail = mine.catch(() => {});
    this.entityLocks.set(lockKey, tail);
    void tail.then(() => {
      if (this.entityLocks.get(lockKey) === tail) this.entityLocks.delete(lockKey);
    });
    return mine;
  }

  /** The queue, the deadline, retries and the breaker around one call to a child. */
  private async send(tool: string, args: Record<string, unknown>, options: UpstreamCallOptions, idempotent: boolean): Promise<CallToolResult> {
    const timeout = options.timeoutMs ?? (Object.hasOwn(this.config.toolTimeouts, tool) ? this.config.toolTimeouts[tool] : undefined) ?? this.config.timeout;
    if (this.queue.size >= this.config.queue.max) {
      throw new TwlError('TWL_UPSTREAM_QUEUE_FULL', `upstream ${this.name}: ${this.queue.size} calls are already waiting (queue.max ${this.config.queue.max}); refused ${tool}.`);
    }
    const deadline = Date.now() + timeout;
    const { signal, dispose } = deadlineSignal(timeout, options.signal);
    const queued = Date.now();
    try {
      return await this.queue.add(
        async () => {
          upstreamQueueWait.observe({ upstream: this.name }, (Date.now() - queued) / 1000);
          const attempt = () =>
            this.breaker.execute(async () => {
              const slot = this.slotFor(options.sessionKey);
              let child: Child | undefined;
              const started = Date.now();
              slot.load++;
              try {
                child = slot.child?.ready ? slot.child : await this.raceSignal(slot.acquire(), signal);
                if (options.onRequest && this.config.sharing === 'isolated') child.onRequest = options.onRequest;
                const left = Math.max(1, deadline - Date.now());
                const result = await child.callTool(tool, args, { signal, timeout: left, onprogress: options.progress });
                upstreamCallDuration.observe({ upstream: this.name, outcome: result.isError ? 'tool_error' : 'ok' }, (Date.now() - started) / 1000);
                return result;
              } catch (err) {
                const failure = this.translate(err, `tools/call ${tool}`, timeout, signal, child, options.signal);
                upstreamCallDuration.observe({ upstream: this.name, outcome: failure.code === 'TWL_UPSTREAM_TIMEOUT' ? 'timeout' : 'error' }, (Date.now() - started) / 1000);
                if (isUpstreamFailure(failure)) this.lastError = failure.message;
                throw failure;
              } finally {
                slot.load--;
              }
            }, signal);
          if (!idempotent || this.config.retries === 0) return await attempt();
          return await this.retry.execute(attempt, signal);
        },
        { priority: options.priority ?? 0, signal },
      );
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        throw new TwlError('TWL_UPSTREAM_BREAKER_OPEN', `upstream ${this.name}: the circuit breaker is open after ${this.config.breaker.failures} failed calls in a row (last: ${this.lastError ?? 'unknown'}); ${tool} was not sent.`, {
          details: { upstream: this.name, breaker: breakerName[this.breaker.state] },
        });
      }
      throw this.translate(err, `tools/call ${tool}`, timeout, signal, undefined, options.signal);
    } finally {
      dispose();
    }
  }

  private raceSignal<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
        (e) => (signal.removeEventListener('abort', onAbort), reject(e)),
      );
    });
  }

  /** Any failure of a call as a TwlError that names the upstream (secrets scrubbed). */
  private translate(err: unknown, what: string, timeout: number, signal?: AbortSignal, child?: Child, callerSignal?: AbortSignal): TwlError {
    if (isTwlError(err)) return err;
    const scrub = (text: string) => (child ? child.scrub(text) : text);
    if (callerSignal?.aborted) return new TwlError('TWL_INTERRUPTED', `upstream ${this.name}: ${what} was cancelled.`);
    if ((err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout) || signal?.aborted || (err as Error)?.name === 'TimeoutError') {
      return new TwlError('TWL_UPSTREAM_TIMEOUT', `upstream ${this.name}: ${what} timed out after ${timeout} ms.`, { details: { upstream: this.name, timeoutMs: timeout } });
    }
    if (Child.isConnectionError(err) || (child && child.endReason)) {
      const why = child?.endReason ?? 'the connection closed';
      const first = child ? !child.deathCounted : true;
      if (child) child.deathCounted = true;
      return new TwlError('TWL_UPSTREAM_UNAVAILABLE', `upstream ${this.name}: ${what} failed: the upstream${child?.pid ? ` (pid ${child.pid})` : ''} ${why}.`, {
        details: { upstream: this.name, retryable: true, ...(first ? {} : { breaker: false }) },
      });
    }
    if (err instanceof ProtocolError) return new TwlError('TWL_UPSTREAM_TOOL_ERROR', `upstream ${this.name}: ${what} failed: ${scrub(err.message).slice(0, 2000)}`, { details: { upstream: this.name, rpcCode: err.code } });
    if (err instanceof SdkError && err.code === SdkErrorCode.InvalidResult) return new TwlError('TWL_UPSTREAM_INVALID', `upstream ${this.name}: ${what} answered with an invalid result: ${scrub(err.message).slice(0, 500)}`);
    return new TwlError('TWL_UPSTREAM_UNAVAILABLE', `upstream ${this.name}: ${what} failed: ${scrub((err as Error)?.message ?? String(err)).slice(0, 2000)}`, { details: { upstream: this.name, retryable: this.config.transport === 'http' } });
  }

  private closedError(): TwlError {
    return new TwlError('TWL_UPSTREAM_UNAVAILABLE', `upstream ${this.name} is closed.`);
  }

  /**
   * Sends one MCP request other than tools (resources, prompts, completion) to the upstream as is,
   * within its timeout: `twl bridge` forwards what it does not serve itself. Not queued, cached or
   * retried; errors name the upstream like a call's.
   */
  async request(method: ForwardedMethod, params: Record<string, unknown> | undefined, options: { signal?: AbortSignal; sessionKey?: string } = {}): Promise<Record<string, unknown>> {
    if (this.closed) throw this.closedError();
    const timeout = this.config.timeout;
    const timer = AbortSignal.timeout(timeout);
    const signal = options.signal ? AbortSignal.any([options.signal, timer]) : timer;
    let child: Child | undefined;
    try {
      child = await this.raceSignal(this.slotFor(options.sessionKey).acquire(), signal);
      return (await child.client.request({ method, ...(params ? { params } : {}) }, { signal, timeout })) as Record<string, unknown>;
    } catch (err) {
      throw this.translate(err, method, timeout, signal, child, options.signal);
    }
  }

  /** What the upstream's server declared at its handshake (starting a child if none runs). */
  async capabilities(options: { sessionKey?: string } = {}): Promise<Record<string, unknown>> {
    if (this.closed) throw this.closedError();
    const child = await this.slotFor(options.sessionKey).acquire();
    return (child.client.getServerCapabilities() ?? {}) as Record<string, unknown>;
  }

  async closeSession(sessionKey: string): Promise<void> {
    const slot = this.sessions.get(sessionKey);
    if (!slot) return;
    this.sessions.delete(sessionKey);
    await slot.stop();
    upstreamChildren.dec({ upstream: this.name, state: 'stopped' });
  }

  /** Idle reaping and health pings, on a timer. */
  private async housekeep(): Promise<void> {
    const now = Date.now();
    const { idleTimeout, healthInterval } = this.config;
    for (const [key, slot] of this.sessions) {
      if (idleTimeout > 0 && slot.inFlight === 0 && slot.child && now - slot.child.lastUsed > idleTimeout) await this.closeSession(key);
    }
    this.slots.forEach((slot, i) => {
      const child = slot.child;
      if (!child?.ready) return;
      const idleFor = now - child.lastUsed;
      const keep = this.config.sharing === 'pool' ? i < this.config.pool.min : false;
      if (idleTimeout > 0 && child.inFlight === 0 && idleFor > idleTimeout && !keep) return void slot.rest();
      // Pings do not count as use: an idle child is still reaped at idleTimeout.
      if (healthInterval > 0 && child.inFlight === 0 && now - Math.max(child.lastUsed, child.lastPinged) > healthInterval) {
        child.lastPinged = now;
        child.ping(this.config.timeout).catch(() => void child.stop('did not answer a health ping', 0));
      }
    });
  }

  status(): UpstreamStatus {
    const slots = this.allSlots();
    const states = slots.map((s) => s.state);
    const state = slots.length === 0 ? 'stopped' : (stateRank.find((s) => states.includes(s)) ?? 'stopped');
    const reason = slots.find((s) => s.state === 'crash-loop')?.reason ?? slots.find((s) => s.reason)?.reason ?? (this.breaker.state === CircuitState.Open ? this.lastError : undefined);
    return {
      name: this.name,
      transport: this.config.transport,
      sharing: this.config.sharing,
      state: this.closed ? 'stopped' : state,
      ...(reason ? { reason } : {}),
      children: slots.map((s) => ({ ...(s.child?.pid ? { pid: s.child.pid } : {}), state: s.state, inFlight: s.inFlight, ...(s.sessionKey ? { sessionKey: s.sessionKey } : {}) })),
      restarts: slots.reduce((n, s) => n + s.restarts, 0),
      queue: { waiting: this.queue.size, running: this.queue.pending, capacity: this.config.queue.max },
      breaker: breakerName[this.breaker.state],
      cache: { ...this.cache.stats, entries: this.cache.entries },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.queue.clear();
    await Promise.all(this.allSlots().map((s) => s.stop()));
  }
}
