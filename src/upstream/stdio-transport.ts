import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ReadBuffer, serializeMessage, type JSONRPCMessage, type Transport } from '@modelcontextprotocol/client';
import { groupGone, killGroup, registerGroup, unregisterGroup } from './reaper.js';

/** How long a stop waits, after SIGKILL, for the rest of a child's group to be torn down. */
const GROUP_GONE_MS = 10_000;

export interface StdioSpawn {
  command: string;
  args: string[];
  /** The child's whole environment (twl's own is not inherited). */
  env: Record<string, string>;
  cwd?: string;
  killGraceMs: number;
  maxMessageBytes: number;
  /** Lines the child writes to stderr (capped), for the logs. */
  onStderr?: (line: string) => void;
}

/** The file a command names: a path (relative to cwd) or the first executable of that name in PATH. */
function findProgram(command: string, searchPath: string | undefined, cwd?: string): string | undefined {
  const executable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/')) {
    const file = path.resolve(cwd ?? process.cwd(), command);
    return executable(file) ? file : undefined;
  }
  for (const dir of (searchPath ?? '').split(path.delimiter)) if (dir && executable(path.join(dir, command))) return path.join(dir, command);
  return undefined;
}

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
};

let launcher: string | null | undefined;
/**
 * How a child gets its own process group. Node can only do it with `detached`, which also makes
 * a new session (setsid); on Linux a new session is a new scheduler autogroup, and on a loaded
 * machine that halved the calls per second of an upstream (measured: 6.5k vs 12.3k calls/s at
 * c=32). So when the system perl is there (Debian and Ubuntu always have it) it starts the
 * child: setpgid(0, 0), then exec of the server in place (same pid). Otherwise, detached.
 */
function groupLauncher(): string | null {
  if (launcher === undefined) launcher = process.platform === 'linux' ? (['/usr/bin/perl', '/bin/perl'].find((file) => fs.existsSync(file)) ?? null) : null;
  return launcher;
}

/**
 * The client side of MCP over a child's stdin/stdout, the SDK's newline-delimited JSON-RPC framing
 * (its ReadBuffer and serializeMessage), with what the SDK's StdioClientTransport lacks for
 * supervision: the child leads its own process group, which is killed whole (SIGTERM, then
 * SIGKILL after a grace period) and registered with the reaper so it never outlives twl; the
 * connection counts as closed the moment the child exits (not when every pipe holder has), so
 * calls in flight fail at once; an oversized message closes it with a reason.
 */
export class GroupStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  /** Why the connection ended (exit code or signal, oversized message, stop), once it has. */
  closeReason?: string;
  private child?: ChildProcess;
  private readonly buffer: ReadBuffer;
  private closed = false;
  private exited?: Promise<void>;
  /** Ids of our requests not answered yet. */
  private readonly pending = new Set<string | number>();
  private corked = false;

  constructor(private readonly spec: StdioSpawn) {
    this.buffer = new ReadBuffer({ maxBufferSize: spec.maxMessageBytes });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): Promise<void> {
    if (this.child) throw new Error('The stdio transport is already started.');
    const program = findProgram(this.spec.command, this.spec.env.PATH, this.spec.cwd);
    if (!program) {
      const why = `could not be started: ${this.spec.command} ${this.spec.command.includes('/') ? 'is not an executable file' : 'was not found in PATH'}`;
      this.end(why);
      return Promise.reject(new Error(why));
    }
    return new Promise((resolve, reject) => {
      const launcher = groupLauncher();
      const child = launcher
        ? spawn(launcher, ['-e', 'setpgrp(0, 0); exec {$ARGV[0]} @ARGV or die "exec $ARGV[0]: $!\\n"', program, ...this.spec.args], { stdio: ['pipe', 'pipe', 'pipe'], env: this.spec.env, cwd: this.spec.cwd, shell: false })
        : spawn(program, this.spec.args, { detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: this.spec.env, cwd: this.spec.cwd, shell: false });
      this.child = child;
      let exited!: () => void;
      this.exited = new Promise((done) => (exited = done));
      child.once('error', (err) => {
        this.end(`could not be started: ${err.message}`);
        reject(err);
      });
      child.once('spawn', () => {
        registerGroup(child.pid!, this.spec.killGraceMs);
        resolve();
      });
      child.once('exit', (code, signal) => {
        // What the server left behind in its group goes too.
        if (child.pid) {
          killGroup(child.pid, 'SIGKILL');
          unregisterGroup(child.pid);
        }
        this.end(signal ? `was killed by ${signal}` : `exited with code ${code}`);
        // A stop returns once the group is gone, not just its leader (bounded: a process stuck in the kernel).
        if (child.pid) void groupGone(child.pid, GROUP_GONE_MS).then(exited);
        else exited();
      });
      child.stdin!.on('error', () => {});
      child.stdout!.on('data', (chunk: Buffer) => this.receive(chunk));
      child.stdout!.on('error', () => {});
      let partial = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (text: string) => {
        partial = (partial + text).slice(-16_384);
        let i: number;
        while ((i = partial.indexOf('\n')) >= 0) {
          const line = partial.slice(0, i);
          partial = partial.slice(i + 1);
          if (line.trim()) this.spec.onStderr?.(line.slice(0, 2000));
        }
      });
    });
  }

  private receive(chunk: Buffer): void {
    try {
      this.buffer.append(chunk);
    } catch {
      // A message past the cap (ReadBuffer's maxBufferSize): this child cannot be trusted to
      // frame its answers any more; stop it, which fails what is in flight with the reason.
      void this.stop(`sent a message larger than maxMessageBytes (${this.spec.maxMessageBytes} bytes)`, 0);
      return;
    }
    for (;;) {
      let message: JSONRPCMessage | null;
      try {
        message = this.buffer.readMessage();
      } catch (err) {
        // JSON that is not JSON-RPC: that line is dropped (ReadBuffer has consumed it), the rest goes on.
        this.onerror?.(new Error(`ignored a message that is not JSON-RPC: ${(err as Error).message.slice(0, 200)}`));
        continue;
      }
      if (message === null) break;
      if (!('method' in message) && 'id' in message) {
        // A response must answer a request of ours still open, with the very id we sent (the
        // SDK would also take "1" for 1): anything else is dropped, never matched to a call.
        if (!this.pending.delete(message.id as string | number)) {
          this.onerror?.(new Error(`ignored a response to an unknown request id ${JSON.stringify(message.id)?.slice(0, 40)}`));
          continue;
        }
      }
      this.onmessage?.(message);
    }
  }

  send(message: JSONRPCMessage): Promise<void> {
    const stdin = this.child?.stdin;
    if (this.closed || !stdin?.writable) return Promise.reject(new Error(`The upstream ${this.closeReason ?? 'is not running'}.`));
    if ('method' in message && 'id' in message) this.pending.add(message.id as string | number);
    // A request we gave up on (timeout, abort) is answered by no one we would listen to.
    else if ('method' in message && message.method === 'notifications/cancelled') this.pending.delete((message.params as { requestId?: string | number } | undefined)?.requestId ?? '');
    // Messages sent in the same tick leave in one write (cork until the next tick): at high
    // concurrency that is one syscall for many calls. Backpressure: a full pipe makes the
    // sender wait for 'drain', so memory does not grow with a slow child.
    if (!this.corked) {
      this.corked = true;
      stdin.cork();
      process.nextTick(() => {
        this.corked = false;
        stdin.uncork();
      });
    }
    if (stdin.write(serializeMessage(message))) return Promise.resolve();
    return new Promise((resolve) => stdin.once('drain', resolve));
  }

  close(): Promise<void> {
    return this.stop('was stopped');
  }

  /** Ends the child: stdin closed, SIGTERM to its group, SIGKILL after the grace period (at once with graceMs 0: a hung child). */
  async stop(reason: string, graceMs = this.spec.killGraceMs): Promise<void> {
    const child = this.child;
    this.end(reason);
    if (!child?.pid) return;
    if (child.exitCode !== null || child.signalCode !== null) return this.exited;
    child.stdin?.end();
    // The pid too: in its first instant a child may not have made its group yet.
    for (const target of [-child.pid, child.pid]) signal(target, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
    let timer: NodeJS.Timeout | undefined;
    const graceful = await Promise.race([this.exited!.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)))]);
    clearTimeout(timer);
    if (!graceful) for (const target of [-child.pid, child.pid]) signal(target, 'SIGKILL');
    await this.exited;
  }

  private end(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.buffer.clear();
    this.onclose?.();
  }
}
