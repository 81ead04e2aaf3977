import { TwlError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { Child, type ChildOptions } from './child.js';
import type { UpstreamState } from './types.js';

export interface SlotHooks {
  /** The slot's state changed (metrics, status). */
  onState?: (from: UpstreamState, to: UpstreamState) => void;
  /** A child became ready after a restart (its tools may differ). */
  onRestart?: () => void;
  /** Asked before each spawn: false when the total cap of children is reached. */
  reserve?: () => boolean;
  release?: () => void;
}

/**
 * One supervised child: a small state machine (`stopped → starting → ready`, on a crash
 * `restarting` with backoff, on repeated crashes `crash-loop` until `crashLoopFor` has passed).
 * The restart budget (`maxRestarts` crashes within `window`), the backoff and the crash-loop
 * period are the upstream's `restart` settings; every transition is logged and reported.
 * Children start lazily, on the first call, and `stop()` leaves no process behind.
 */
export class Slot {
  state: UpstreamState = 'stopped';
  reason?: string;
  restarts = 0;
  child?: Child;
  private starting?: Promise<Child>;
  private crashes: number[] = [];
  private crashLoopUntil = 0;
  private respawnTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly options: Omit<ChildOptions, 'onRequest'>,
    private readonly hooks: SlotHooks = {},
  ) {}

  get sessionKey(): string | undefined {
    return this.options.sessionKey;
  }

  private get config() {
    return this.options.config;
  }

  private get logger(): Logger {
    return this.options.logger;
  }

  private label(): string {
    return `upstream ${this.config.name}${this.options.sessionKey ? ` (session ${this.options.sessionKey.slice(0, 12)})` : ''}`;
  }

  private transition(to: UpstreamState, reason?: string): void {
    const from = this.state;
    if (reason !== undefined) this.reason = reason;
    if (from === to) return;
    this.state = to;
    this.logger.info({ upstream: this.config.name, from, to, ...(reason ? { reason } : {}) }, `upstream ${to}`);
    this.hooks.onState?.(from, to);
  }

  get inFlight(): number {
    return this.child?.inFlight ?? 0;
  }

  /** Calls routed to this slot and not finished yet (queued for its start included): what pool routing balances. */
  load = 0;

  /** The ready child, starting it if needed; fails fast in crash-loop. */
  acquire(): Promise<Child> {
    if (this.stopped) return Promise.reject(new TwlError('TWL_UPSTREAM_UNAVAILABLE', `${this.label()} is stopped.`));
    if (this.state === 'crash-loop') {
      const left = this.crashLoopUntil - Date.now();
      if (left > 0) {
        return Promise.reject(
          new TwlError('TWL_UPSTREAM_CRASH_LOOP', `${this.label()} is in crash-loop: ${this.crashes.length} crashes within ${this.config.restart.window / 1000} s (last: ${this.reason ?? 'unknown'}); calls are refused for ${Math.ceil(left / 1000)} s more.`, {
            details: { upstream: this.config.name, state: 'crash-loop', reason: this.reason, retryInMs: left },
          }),
        );
      }
      this.crashes = [];
    }
    if (this.child?.ready) return Promise.resolve(this.child);
    if (this.starting) return this.starting;
    clearTimeout(this.respawnTimer);
    return this.spawn();
  }

  private spawn(): Promise<Child> {
    if (this.hooks.reserve && !this.hooks.reserve()) {
      return Promise.reject(new TwlError('TWL_UPSTREAM_UNAVAILABLE', `${this.label()} cannot start a child: the cap on children across all upstreams is reached; retry when another child has stopped.`));
    }
    this.transition(this.state === 'restarting' ? 'restarting' : 'starting');
    const child = new Child({ ...this.options, onToolsChanged: this.options.onToolsChanged });
    const attempt = child.start().then(
      () => {
        if (this.stopped) {
          this.hooks.release?.();
          void child.stop();
          throw new TwlError('TWL_UPSTREAM_UNAVAILABLE', `${this.label()} is stopped.`);
        }
        const restarted = this.restarts > 0 && this.state === 'restarting';
        this.child = child;
        this.transition('ready', undefined);
        this.reason = undefined;
        void child.closed.then((why) => this.onChildClosed(child, why));
        if (restarted) this.hooks.onRestart?.();
        return child;
      },
      (err: Error) => {
        this.hooks.release?.();
        const reason = child.scrub(err.message);
        this.crashed(`failed to start: ${reason}`);
        throw new TwlError('TWL_UPSTREAM_UNAVAILABLE', `${this.label()} failed to start: ${reason}`, { details: { upstream: this.config.name, state: this.state } });
      },
    );
    this.starting = attempt;
    attempt.then(
      () => (this.starting = undefined),
      () => (this.starting = undefined),
    );
    return attempt;
  }

  private onChildClosed(child: Child, why: string): void {
    this.hooks.release?.();
    if (this.child === child) this.child = undefined;
    if (this.stopped || this.state === 'stopped') return;
    this.crashed(why);
  }

  /** Records a crash: crash-loop when the budget is spent, else a respawn after a jittered backoff. */
  private crashed(why: string): void {
    if (this.stopped) return;
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < this.config.restart.window);
    this.crashes.push(now);
    this.restarts++;
    if (this.crashes.length > this.config.restart.maxRestarts) {
      this.crashLoopUntil = now + this.config.restart.crashLoopFor;
      this.transition('crash-loop', why);
      return;
    }
    this.transition('restarting', why);
    const delay = Math.min(10_000, this.config.restart.backoff * 2 ** (this.crashes.length - 1)) * (0.5 + Math.random() / 2);
    clearTimeout(this.respawnTimer);
    // Respawn eagerly so the next call finds a ready child; a call arriving first starts it.
    this.respawnTimer = setTimeout(() => {
      if (!this.starting && !this.child && this.state === 'restarting') this.spawn().catch(() => {});
    }, delay);
    this.respawnTimer.unref();
  }

  /** Stops the child for now (idle); the next call starts it again. */
  async rest(): Promise<void> {
    const child = this.child;
    if (!child || child.inFlight > 0 || this.load > 0) return;
    this.child = undefined;
    this.transition('stopped', 'idle');
    await child.stop('was stopped (idle)');
  }

  /** Stops for good: the child's process group is killed and nothing restarts. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.respawnTimer);
    const starting = this.starting;
    const child = this.child;
    this.child = undefined;
    this.transition('stopped');
    await child?.stop();
    await starting?.then((c) => c.stop()).catch(() => {});
  }
}
