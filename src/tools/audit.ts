import { createHash } from 'node:crypto';
import type { Face, Runtime } from '../runtime/context.js';
import { messageOf } from '../runtime/errors.js';

export type Decision = 'allowed' | 'refused' | 'approval';
export type Outcome = 'ok' | 'error' | 'refused' | 'timeout' | 'cancelled';

/** One row of twl_tool_calls. */
export interface ToolCallRow {
  at: Date;
  actor: string;
  face: Face;
  via: string | null;
  role: string | null;
  tool: string;
  source: string;
  inputSha256: string | null;
  decision: Decision;
  outcome: Outcome;
  durationMs: number;
  errorCode: string | null;
  /** How many identical successful read-only calls of one second this row stands for. */
  calls?: number;
}

/** Rows kept before a write is forced. */
const BATCH = 200;
/** How long a read-only call's row may wait to be written with others. */
const FLUSH_MS = 1000;

/** A digest of a call's input, keys sorted, so the same input gives the same digest: the input itself may hold secrets. */
export function inputDigest(input: unknown): string | null {
  if (input === undefined) return null;
  try {
    return createHash('sha256').update(canonical(input)).digest('hex');
  } catch {
    return null;
  }
}

const canonical = (value: unknown): string => {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
};

/**
 * Writes audit rows for tool calls. A refused call, an error, or a call of a tool that writes
 * gets its own row, written before the call's answer goes out. A read-only call that succeeded
 * is counted in one row with the same caller's identical calls of that second (duration: their
 * mean), written within FLUSH_MS in one statement and when the process closes: a row costs the
 * embedded store about 0.2 ms, so one per read would take a busy server's CPU.
 */
export class ToolAudit {
  private pending: ToolCallRow[] = [];
  private readonly grouped = new Map<string, ToolCallRow>();
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly runtime: Runtime) {}

  record(row: ToolCallRow, durable: boolean): Promise<void> {
    if (durable || row.outcome !== 'ok') this.pending.push(row);
    else {
      const key = [Math.floor(row.at.getTime() / 1000), row.actor, row.face, row.via, row.role, row.tool, row.source, row.decision].join('\u0000');
      const same = this.grouped.get(key);
      if (!same) this.grouped.set(key, { ...row, calls: 1 });
      else {
        same.calls = (same.calls ?? 1) + 1;
        same.durationMs += (row.durationMs - same.durationMs) / same.calls;
        same.inputSha256 = null;
      }
    }
    if (durable || this.pending.length + this.grouped.size >= BATCH) return this.flush();
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.flush();
      }, FLUSH_MS);
      this.timer.unref();
    }
    return Promise.resolve();
  }

  /** Writes what is pending; writes run one at a time, in order. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(() => this.write());
    return this.writing;
  }

  private async write(): Promise<void> {
    // In the order the calls came (a grouped row is as old as its first call).
    const rows = [...this.pending, ...this.grouped.values()].sort((a, b) => a.at.getTime() - b.at.getTime());
    this.pending = [];
    this.grouped.clear();
    if (!rows.length) return;
    try {
      const store = await this.runtime.store();
      const column = <K extends keyof ToolCallRow>(key: K) => rows.map((r) => r[key]);
      await store.query(
        `INSERT INTO twl_tool_calls (at, actor, face, via, role, tool, source, input_sha256, decision, outcome, duration_ms, error_code, calls)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::real[], $12::text[], $13::int[])`,
        [rows.map((r) => r.at.toISOString()), column('actor'), column('face'), column('via'), column('role'), column('tool'), column('source'), column('inputSha256'), column('decision'), column('outcome'), rows.map((r) => Math.round(r.durationMs * 10) / 10), column('errorCode'), rows.map((r) => r.calls ?? 1)],
      );
    } catch (err) {
      // The call itself is answered; losing its row is reported, loudly, not hidden.
      this.runtime.logger.warn({ rows: rows.length, err: messageOf(err) }, 'could not write the audit rows of tool calls');
    }
  }
}
