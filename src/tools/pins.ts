import { createHash } from 'node:crypto';
import { TwlError } from '../runtime/errors.js';
import type { Queryable } from '../store/types.js';

/**
 * Tool pinning (rug-pull defence): an upstream's tool definitions — names, titles, descriptions,
 * schemas and annotations, as it declares them — are hashed and pinned the first time they are
 * seen. When they later differ, the upstream is quarantined: its tools are not listed and calls
 * are refused until someone reviews the change and runs `twl upstream accept NAME` (or the
 * configuration says `pin: false`). Each tool's own hash is kept too, so the change can be shown
 * as tools added, removed and changed.
 */

export interface ToolDefinitions {
  /** SHA-256 over every tool's definition, sorted by name. */
  hash: string;
  /** Each tool's name → the SHA-256 of its definition. */
  tools: Record<string, string>;
}

export interface PinChange {
  added: string[];
  removed: string[];
  changed: string[];
}

export interface PinState {
  name: string;
  pinnedAt: string;
  pinnedBy: string;
  tools: number;
  /** Set when the upstream now declares other definitions than the pinned ones. */
  quarantine?: PinChange & { seenAt: string | null };
}

/** JSON with object keys sorted, so equal definitions hash alike whatever order the upstream sends keys in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The hashes of what an upstream declares (after its include/exclude globs). */
export function toolDefinitions(tools: ReadonlyArray<{ name: string; title?: unknown; description?: unknown; inputSchema?: unknown; outputSchema?: unknown; annotations?: unknown }>): ToolDefinitions {
  const each: Record<string, string> = {};
  for (const t of [...tools].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    each[t.name] = sha256(canonical({ name: t.name, title: t.title, description: t.description, inputSchema: t.inputSchema, outputSchema: t.outputSchema, annotations: t.annotations }));
  }
  return { hash: sha256(canonical(each)), tools: each };
}

/** What differs between the pinned definitions and the current ones. */
export function pinChange(pinned: Record<string, string>, now: Record<string, string>): PinChange {
  const names = (o: Record<string, string>) => Object.keys(o).sort();
  return {
    added: names(now).filter((n) => !Object.hasOwn(pinned, n)),
    removed: names(pinned).filter((n) => !Object.hasOwn(now, n)),
    changed: names(now).filter((n) => Object.hasOwn(pinned, n) && pinned[n] !== now[n]),
  };
}

/** How a change reads in a message: `tools added: a; changed: b`. */
export const describeChange = (c: PinChange): string =>
  [c.added.length ? `added: ${c.added.join(', ')}` : '', c.removed.length ? `removed: ${c.removed.join(', ')}` : '', c.changed.length ? `changed: ${c.changed.join(', ')}` : ''].filter(Boolean).join('; ') || 'definitions changed';

interface PinRow {
  name: string;
  hash: string;
  tools: Record<string, string>;
  pinned_at: Date | string;
  pinned_by: string;
  pending_hash: string | null;
  pending_tools: Record<string, string> | null;
  seen_at: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString());

/**
 * Checks what an upstream declares against its pin: pins it on first sight, clears a pending
 * change the upstream went back on, and records (and returns) a change otherwise. With `pin`
 * false the new definitions become the pin at once.
 */
export async function checkPin(q: Queryable, name: string, defs: ToolDefinitions, options: { pin: boolean; actor: string }): Promise<PinChange | undefined> {
  const { rows } = await q.query<PinRow>('SELECT * FROM twl_upstream_pins WHERE name = $1', [name]);
  const row = rows[0];
  if (!row || (!options.pin && row.hash !== defs.hash)) {
    await q.query(
      `INSERT INTO twl_upstream_pins (name, hash, tools, pinned_by) VALUES ($1, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET hash = excluded.hash, tools = excluded.tools, pinned_at = now(), pinned_by = excluded.pinned_by, pending_hash = NULL, pending_tools = NULL, seen_at = NULL, updated_at = now()`,
      [name, defs.hash, JSON.stringify(defs.tools), options.actor],
    );
    return undefined;
  }
  if (row.hash === defs.hash) {
    if (row.pending_hash !== null) await q.query('UPDATE twl_upstream_pins SET pending_hash = NULL, pending_tools = NULL, seen_at = NULL, updated_at = now() WHERE name = $1', [name]);
    return undefined;
  }
  if (row.pending_hash !== defs.hash) {
    await q.query('UPDATE twl_upstream_pins SET pending_hash = $2, pending_tools = $3, seen_at = now(), updated_at = now() WHERE name = $1', [name, defs.hash, JSON.stringify(defs.tools)]);
  }
  return pinChange(row.tools, defs.tools);
}

/** Every pin, with the pending change of quarantined upstreams. */
export async function pinStates(q: Queryable): Promise<Map<string, PinState>> {
  const { rows } = await q.query<PinRow>('SELECT * FROM twl_upstream_pins ORDER BY name');
  return new Map(rows.map((r) => [r.name, stateOf(r)]));
}

const stateOf = (r: PinRow): PinState => ({
  name: r.name,
  pinnedAt: iso(r.pinned_at)!,
  pinnedBy: r.pinned_by,
  tools: Object.keys(r.tools).length,
  ...(r.pending_hash !== null && r.pending_tools ? { quarantine: { ...pinChange(r.tools, r.pending_tools), seenAt: iso(r.seen_at) } } : {}),
});

/** Accepts the pending definitions of a quarantined upstream as its new pin; TWL_INPUT_INVALID when nothing is pending. */
export async function acceptPin(q: Queryable, name: string, actor: string): Promise<PinState & { accepted: PinChange }> {
  const { rows } = await q.query<PinRow>('SELECT * FROM twl_upstream_pins WHERE name = $1', [name]);
  const row = rows[0];
  if (!row || row.pending_hash === null || !row.pending_tools) {
    throw new TwlError('TWL_INPUT_INVALID', `Upstream ${name} is not quarantined: ${row ? 'its tool definitions match the pinned ones' : 'its tools were never listed, so nothing is pinned yet'}.`, {
      actions: ['`twl upstream status` shows which upstreams are quarantined.'],
    });
  }
  const accepted = pinChange(row.tools, row.pending_tools);
  const updated = await q.query<PinRow>(
    'UPDATE twl_upstream_pins SET hash = pending_hash, tools = pending_tools, pinned_at = now(), pinned_by = $2, pending_hash = NULL, pending_tools = NULL, seen_at = NULL, updated_at = now() WHERE name = $1 AND pending_hash = $3 RETURNING *',
    [name, actor, row.pending_hash],
  );
  if (!updated.rows[0]) throw new TwlError('TWL_INPUT_INVALID', `Upstream ${name}'s pending definitions changed while accepting; run \`twl upstream status ${name}\` and accept again.`);
  return { ...stateOf(updated.rows[0]), accepted };
}

/** Forgets an upstream's pin (`twl upstream remove`): an upstream added again under the name is pinned afresh. */
export async function dropPin(q: Queryable, name: string): Promise<void> {
  await q.query('DELETE FROM twl_upstream_pins WHERE name = $1', [name]);
}

/** A cheap fingerprint of the upstream tables, polled by `twl serve` to notice adds, removes and accepts made by other processes. */
export async function upstreamsVersion(q: Queryable): Promise<string> {
  const { rows } = await q.query<{ v: string }>(
    "SELECT (SELECT coalesce(max(updated_at)::text, '') || ':' || count(*) FROM twl_upstreams) || '/' || (SELECT coalesce(max(updated_at)::text, '') || ':' || count(*) FROM twl_upstream_pins) AS v",
  );
  return rows[0]?.v ?? '';
}
