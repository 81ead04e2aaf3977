import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TwlError, messageOf } from '../../runtime/errors.js';
import type { Queryable, Store } from '../../store/types.js';
import { categories, priorities, sentiments, urgencies } from '../triage/taxonomy.js';
import { deriveTitle, statuses, toTicket, type Ticket } from './repo.js';

const instant = z.iso.datetime({ offset: true });

/**
 * One imported ticket: text is required; every other field of an exported ticket is optional and
 * checked against the taxonomy, so `twl ticket export` (JSONL or CSV) imports back field for field.
 */
export const importRecord = z
  .object({
    id: z.coerce.number<unknown>().int().positive().optional(),
    text: z.string().trim().min(1, 'text is required').max(50_000),
    title: z.string().trim().max(200).optional(),
    requester: z.string().trim().max(200).optional(),
    source: z.string().trim().min(1).max(50).optional(),
    status: z.enum(statuses).optional(),
    category: z.enum(categories).optional(),
    priority: z.enum(priorities).optional(),
    sentiment: z.enum(sentiments).optional(),
    urgency: z.enum(urgencies).optional(),
    confidence: z.coerce.number<unknown>().min(0).max(1).optional(),
    needs_human: z
      .union([z.boolean(), z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1')])
      .optional(),
    assigned_agent: z.string().trim().min(1).max(200).optional(),
    resolution: z.string().max(50_000).optional(),
    escalation_reason: z.string().max(50_000).optional(),
    created_at: instant.optional(),
    updated_at: instant.optional(),
    resolved_at: instant.optional(),
    closed_at: instant.optional(),
  })
  .strip();

/** Export field names (camelCase) as import keys; snake_case is accepted as well. */
const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** `null` and empty CSV cells mean "not given"; camelCase keys become snake_case. */
const normalize = (row: unknown): unknown =>
  row && typeof row === 'object' && !Array.isArray(row) ? Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '' && v !== null).map(([k, v]) => [snake(k), v])) : row;

export type ImportRecord = z.output<typeof importRecord>;

export interface LineError {
  line: number;
  error: string;
}

export type Format = 'jsonl' | 'csv';

export const formatOf = (file: string, format?: string): Format => {
  if (format === 'jsonl' || format === 'csv') return format;
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (['.jsonl', '.ndjson', '.json'].includes(ext)) return 'jsonl';
  throw new TwlError('TWL_INPUT_INVALID', `Cannot tell the format of ${file} from its extension; pass --format jsonl or --format csv.`);
};

/** Reads and validates every line; returns the valid records (with their line numbers) and the errors. */
export async function parseImport(file: string, format: Format): Promise<{ records: Array<{ line: number; record: ImportRecord }>; errors: LineError[] }> {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TwlError('TWL_INPUT_INVALID', `Cannot read ${file}: ${messageOf(err)}`);
  }
  const rows: Array<{ line: number; value?: unknown; error?: string }> = [];
  if (format === 'jsonl') {
    content.split(/\r?\n/).forEach((text, i) => {
      if (!text.trim()) return;
      try {
        rows.push({ line: i + 1, value: JSON.parse(text) });
      } catch (err) {
        rows.push({ line: i + 1, error: `not JSON: ${messageOf(err)}` });
      }
    });
  } else {
    const { parse } = await import('csv-parse/sync');
    try {
      const parsed = parse(content, { columns: true, bom: true, skip_empty_lines: true, info: true, relax_column_count: true, trim: true }) as Array<{ record: Record<string, string>; info: { lines: number } }>;
      for (const { record, info } of parsed) rows.push({ line: info.lines, value: record });
    } catch (err) {
      throw new TwlError('TWL_IMPORT_INVALID', `${file} is not valid CSV: ${messageOf(err)}`);
    }
  }
  const records: Array<{ line: number; record: ImportRecord }> = [];
  const errors: LineError[] = [];
  for (const row of rows) {
    if (row.error) {
      errors.push({ line: row.line, error: row.error });
      continue;
    }
    const parsed = importRecord.safeParse(normalize(row.value));
    if (parsed.success) records.push({ line: row.line, record: parsed.data });
    else errors.push({ line: row.line, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ') });
  }
  return { records, errors };
}

const BATCH = 5000;

/**
 * Inserts the records in batches, each with an `imported` event, all in one transaction: all or nothing.
 * With keepIds, the tickets keep the ids of the file (a restore into another store): an id already
 * taken, or a record without one, refuses the import.
 */
export async function insertTickets(
  store: Store,
  records: ImportRecord[],
  actor: string,
  options: { keepIds?: boolean; onBatch?: (done: number) => void } = {},
): Promise<{ imported: number; firstId: number | null; lastId: number | null }> {
  if (options.keepIds) {
    const missing = records.filter((r) => r.id === undefined).length;
    if (missing) throw new TwlError('TWL_IMPORT_INVALID', `--keep-ids needs an id on every ticket, and ${missing} ha${missing > 1 ? 've' : 's'} none; nothing was imported.`, { actions: ['Import without --keep-ids to number the tickets anew.'] });
    const seen = new Set<number>();
    const repeated = records.find((r) => seen.size === seen.add(r.id!).size);
    if (repeated) throw new TwlError('TWL_IMPORT_INVALID', `Ticket id ${repeated.id} appears twice in the file; nothing was imported.`);
  }
  return store.transaction(async (tx: Queryable) => {
    if (options.keepIds) {
      const { rows } = await tx.query<{ id: string }>('SELECT id FROM twl_tickets WHERE id = ANY($1::bigint[]) ORDER BY id LIMIT 10', [records.map((r) => r.id!)]);
      if (rows.length) {
        throw new TwlError('TWL_IMPORT_INVALID', `Ticket${rows.length > 1 ? 's' : ''} ${rows.map((r) => `#${r.id}`).join(', ')} exist${rows.length > 1 ? '' : 's'} already in this store; nothing was imported.`, {
          actions: ['Import into an empty store, or without --keep-ids to number the tickets anew.'],
        });
      }
    }
    let firstId: number | null = null;
    let lastId: number | null = null;
    const now = new Date().toISOString();
    for (let start = 0; start < records.length; start += BATCH) {
      const batch = records.slice(start, start + BATCH);
      const col = <T>(pick: (r: ImportRecord) => T) => batch.map(pick);
      const fields = 'title, text, requester, source, status, category, priority, sentiment, urgency, confidence, needs_human, assigned_agent, resolution, escalation_reason, created_at, updated_at, resolved_at, closed_at';
      const { rows } = await tx.query<{ id: string }>(
        `WITH t AS (
           INSERT INTO twl_tickets (${options.keepIds ? 'id, ' : ''}${fields}) ${options.keepIds ? 'OVERRIDING SYSTEM VALUE' : ''}
           SELECT ${options.keepIds ? 'id, ' : ''}${fields}
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::real[], $11::boolean[],
                         $12::text[], $13::text[], $14::text[], $15::timestamptz[], $16::timestamptz[], $17::timestamptz[], $18::timestamptz[], $20::bigint[])
                  AS u(${fields}, id)
           RETURNING id),
         e AS (INSERT INTO twl_ticket_events (ticket_id, actor, kind) SELECT id, $19, 'imported' FROM t)
         SELECT min(id) AS first, max(id) AS last FROM t`,
        [
          col((r) => r.title || deriveTitle(r.text)),
          col((r) => r.text),
          col((r) => r.requester ?? null),
          col((r) => r.source ?? 'import'),
          col((r) => r.status ?? 'new'),
          col((r) => r.category ?? null),
          col((r) => r.priority ?? null),
          col((r) => r.sentiment ?? null),
          col((r) => r.urgency ?? null),
          col((r) => r.confidence ?? null),
          col((r) => r.needs_human ?? false),
          col((r) => r.assigned_agent ?? null),
          col((r) => r.resolution ?? null),
          col((r) => r.escalation_reason ?? null),
          col((r) => r.created_at ?? now),
          col((r) => r.updated_at ?? r.created_at ?? now),
          col((r) => r.resolved_at ?? null),
          col((r) => r.closed_at ?? null),
          actor,
          col((r) => r.id ?? null),
        ],
      );
      const row = rows[0] as unknown as { first: string | null; last: string | null };
      firstId ??= row.first === null ? null : Number(row.first);
      lastId = row.last === null ? lastId : Number(row.last);
      options.onBatch?.(Math.min(records.length, start + BATCH));
    }
    // New tickets are numbered after the highest id kept.
    if (options.keepIds) await tx.query("SELECT setval(pg_get_serial_sequence('twl_tickets', 'id'), (SELECT max(id) FROM twl_tickets))");
    return { imported: records.length, firstId, lastId };
  });
}

/** Pages through tickets by id (keyset), for exports of any size. */
export async function* exportTickets(q: Queryable, where: { status?: string[]; category?: string[]; priority?: string[] }): AsyncGenerator<Ticket> {
  let last = 0;
  for (;;) {
    const { rows } = await q.query<Record<string, unknown>>(
      `SELECT * FROM twl_tickets WHERE id > $1
         AND ($2::text[] IS NULL OR status = ANY($2)) AND ($3::text[] IS NULL OR category = ANY($3)) AND ($4::text[] IS NULL OR priority = ANY($4))
       ORDER BY id LIMIT 5000`,
      [last, where.status?.length ? where.status : null, where.category?.length ? where.category : null, where.priority?.length ? where.priority : null],
    );
    if (!rows.length) return;
    for (const row of rows) yield toTicket(row);
    last = Number(rows.at(-1)!.id);
  }
}
