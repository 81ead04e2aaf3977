import { existsSync, rmSync } from 'node:fs';
import net from 'node:net';
import { messageOf } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import type { EngineWorker } from './embedded.js';

/*
 * The embedded store's socket server, on the main thread of the process that hosts it, in
 * front of the PGlite engine in its worker thread. It speaks just enough of the PostgreSQL
 * wire protocol to frame messages: PGlite itself answers them.
 *
 * Why here and not in the engine's thread: PGlite runs a statement synchronously and cannot
 * cancel it. A thread that runs the engine cannot notice anything while a statement runs; this
 * one can. When the client whose statement is running goes away (a twl command past its
 * --timeout drops its connection, Ctrl-C kills it), nobody will read the answer and every
 * other client is waiting behind it: the engine is stopped for real and a new one started on
 * the same files, and the other clients' connections stay open across the restart.
 *
 * PGlite has one session: requests run one at a time, and while a client holds a transaction
 * open only that client's requests run (the others wait), so transactions never interleave.
 */

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
/** Messages after which the client waits for an answer: a request (one unit of work) ends there. */
const unitEnd = new Set(['Q', 'S', 'H', 'c', 'f'].map((c) => c.charCodeAt(0)));
const TERMINATE = 'X'.charCodeAt(0);
/** How long a statement whose client left may still finish by itself before the engine is stopped under it. */
const STOP_GRACE_MS = 200;

interface Unit {
  conn: Connection | undefined;
  messages: Uint8Array[];
}

/** The application_name of the hosting process's own connections (not waited for when handing over). */
export const SELF_APPLICATION = 'twl store host';

interface Connection {
  self: boolean;
  socket: net.Socket;
  buffer: Buffer;
  started: boolean;
  pending: Uint8Array[];
  closed: boolean;
}

/** The name/value pairs of a StartupMessage (after its length and protocol version). */
const startupParameters = (message: Buffer): Map<string, string> => {
  const parts = message.subarray(8).toString('utf8').split('\0');
  const params = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length && parts[i]; i += 2) params.set(parts[i]!, parts[i + 1]!);
  return params;
};

/** A simple-protocol Query message. */
const query = (sql: string): Uint8Array => {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const msg = Buffer.alloc(5 + body.length);
  msg.write('Q', 0, 'latin1');
  msg.writeInt32BE(4 + body.length, 1);
  body.copy(msg, 5);
  return msg;
};

export class HostServer {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private queue: Unit[] = [];
  private running: Unit | undefined;
  /** The connection whose transaction is open in the engine: only its requests may run. */
  private owner: Connection | undefined;
  private restarting: Promise<void> | undefined;
  private stopped = false;
  private lastBusy = Date.now();
  private watch: NodeJS.Timeout | undefined;
  private endWith!: (reason: string) => void;
  /** Resolves with the reason the host should stop: idle, data directory removed, engine lost. */
  readonly ended = new Promise<string>((resolve) => (this.endWith = resolve));
  /** Engines started to replace one stopped mid-statement (for logs and tests). */
  restarts = 0;

  constructor(
    private engine: EngineWorker,
    private readonly startEngine: () => Promise<EngineWorker>,
    private readonly logger: Logger,
    private readonly options: { dataDir: string; idleMs?: number; maxConnections: number },
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.maxConnections = options.maxConnections;
    void engine.exited.then(() => this.engineGone(engine));
  }

  listen(path: string): Promise<void> {
    rmSync(path, { force: true });
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
      this.watch = setInterval(() => this.check(), 500);
      this.watch.unref();
    });
  }

  private check(): void {
    // A data directory that was removed (a deleted test home) ends the host too.
    if (!existsSync(this.options.dataDir)) return this.endWith('the data directory was removed');
    if (this.running || this.hasClients) this.lastBusy = Date.now();
    else if (this.options.idleMs && Date.now() - this.lastBusy >= this.options.idleMs) this.endWith(`idle for ${this.options.idleMs} ms`);
  }

  /** Whether another process is connected: the hosting process's own connections (its pool keeps one open ~10 s after use) do not count. */
  private get hasClients(): boolean {
    return [...this.connections].some((c) => !c.self);
  }

  private accept(socket: net.Socket): void {
    if (this.stopped) return void socket.destroy();
    const conn: Connection = { self: false, socket, buffer: Buffer.alloc(0), started: false, pending: [], closed: false };
    this.connections.add(conn);
    this.lastBusy = Date.now();
    socket.setNoDelay(true);
    socket.on('data', (data) => this.receive(conn, data));
    socket.on('error', () => this.drop(conn));
    socket.on('close', () => this.drop(conn));
  }

  private receive(conn: Connection, data: Buffer): void {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, data]) : data;
    for (;;) {
      if (!conn.started) {
        if (conn.buffer.length < 8) return;
        const length = conn.buffer.readInt32BE(0);
        if (conn.buffer.length < length) return;
        const code = conn.buffer.readInt32BE(4);
        const message = conn.buffer.subarray(0, length);
        conn.buffer = conn.buffer.subarray(length);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.socket.write('N');
          continue;
        }
        // PGlite has no backend to signal; a client stopping a statement drops its connection instead.
        if (code === CANCEL_REQUEST) return void conn.socket.end();
        conn.started = true;
        conn.self = startupParameters(message).get('application_name') === SELF_APPLICATION;
        this.enqueue({ conn, messages: [Uint8Array.from(message)] });
        continue;
      }
      if (conn.buffer.length < 5) return;
      const length = 1 + conn.buffer.readInt32BE(1);
      if (conn.buffer.length < length) return;
      const type = conn.buffer[0]!;
      const message = Uint8Array.from(conn.buffer.subarray(0, length));
      conn.buffer = conn.buffer.subarray(length);
      if (type === TERMINATE) return void conn.socket.end();
      conn.pending.push(message);
      if (unitEnd.has(type)) {
        this.enqueue({ conn, messages: conn.pending });
        conn.pending = [];
      }
    }
  }

  private enqueue(unit: Unit): void {
    this.queue.push(unit);
    this.pump();
  }

  /** Runs the next request the engine may take, if it is free. */
  private pump(): void {
    if (this.running || this.restarting || this.stopped) return;
    const index = this.owner ? this.queue.findIndex((u) => u.conn === this.owner) : this.queue.length ? 0 : -1;
    if (index < 0) return;
    const [unit] = this.queue.splice(index, 1);
    this.running = unit!;
    this.lastBusy = Date.now();
    const engine = this.engine;
    engine
      .protocol(unit!.messages, (chunk) => {
        if (unit!.conn && !unit!.conn.closed) unit!.conn.socket.write(chunk);
      })
      .then(
        ({ inTransaction }) => {
          this.owner = inTransaction ? unit!.conn : undefined;
          // Its client left while it ran, holding a transaction: roll it back before anyone else runs.
          if (this.owner?.closed) this.rollback();
        },
        (err: unknown) => {
          // The engine was stopped under it (see drop) or failed: its client gets no answer.
          if (unit!.conn && !unit!.conn.closed) unit!.conn.socket.destroy();
          if (engine === this.engine && engine.alive) this.logger.warn({ err: messageOf(err) }, 'embedded store request failed');
        },
      )
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
  }

  private rollback(): void {
    this.owner = undefined;
    this.queue.unshift({ conn: undefined, messages: [query('ROLLBACK')] });
  }

  private drop(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.connections.delete(conn);
    this.queue = this.queue.filter((u) => u.conn !== conn);
    const unit = this.running;
    if (unit?.conn === conn) {
      // Nobody will read the answer and everyone else waits behind it: unless it ends at once,
      // stop the statement for real.
      setTimeout(() => {
        if (this.running !== unit || this.stopped) return;
        this.logger.warn('a client left while its statement ran: stopping the embedded engine and starting a new one');
        void this.restart();
      }, STOP_GRACE_MS).unref();
    } else if (this.owner === conn) {
      this.rollback();
      this.pump();
    }
  }

  private restart(): Promise<void> {
    return (this.restarting ??= (async () => {
      const old = this.engine;
      try {
        await old.kill(new Error('stopped: its client left during a statement'));
        // Never two engines on the same files: the new one starts once the old thread is gone.
        await old.exited;
        this.owner = undefined;
        const started = Date.now();
        this.engine = await this.startEngine();
        this.restarts++;
        this.logger.info({ ms: Date.now() - started }, 'a new embedded engine is serving');
        void this.engine.exited.then(() => this.engineGone(this.engine));
      } catch (err) {
        this.logger.error({ err: messageOf(err) }, 'the embedded engine could not be restarted');
        this.endWith(`the engine could not be restarted: ${messageOf(err)}`);
      } finally {
        this.restarting = undefined;
        this.pump();
      }
    })());
  }

  /** An engine thread that exits on its own (not stopped by restart or stop) ends the host. */
  private engineGone(engine: EngineWorker): void {
    if (engine === this.engine && !this.restarting && !this.stopped) this.endWith('the engine stopped');
  }

  /** Stops accepting connections and resolves once the connected clients have left (or after ms). */
  async drain(ms: number): Promise<void> {
    this.server.close();
    const deadline = Date.now() + ms;
    while ((this.hasClients || this.running) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** Stops listening, drops every connection, waits for a restart under way; returns the engine to close. */
  async stop(): Promise<EngineWorker> {
    this.stopped = true;
    clearInterval(this.watch);
    for (const conn of this.connections) conn.socket.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.restarting;
    return this.engine;
  }
}
