import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TwlError, messageOf } from '../../runtime/errors.js';
import type { Queryable, Store } from '../../store/types.js';
import { categories, priorities, sentiments, urgencies } from '../triage/taxonomy.js';
import { deriveTitle, statuses, toTicket, type Ticket } from './repo.js';

/** One imported ticket: text is required; every other field is optional and checked against the taxonomy. */
export const importRecord = z
  .object({
    text: z.string().trim().min(1, 'text is required').max(50_000),
    title: z.string().trim().max(200).optional(),
    requester: z.string().trim().max(200).optional(),
    source: z.string().trim().min(1).max(50).optional(),
    status: z.enum(statuses).optional(),
    category: z.enum(categories).optional(),
    priority: z.enum(priorities).optional(),
    sentiment: z.enum(sentiments).optional(),
    urgency: z.enum(urgencies).optional(),
    created_at: z.iso.datetime({ offset: true }).optional(),
  })
  .strip();

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

/** Empty CSV cells mean "not given". */
const blanksToUndefined = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([, v]) => v !== '' && v !== null));

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
      for (const { record, info } of parsed) rows.push({ line: info.lines, value: blanksToUndefined(record) });
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
    const parsed = importRecord.safeParse(row.value);
    if (parsed.success) records.push({ line: row.line, record: parsed.data });
    else errors.push({ line: row.line, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'line'}: ${i.message}`).join('; ') });
  }
  return { records, errors };
}

const BATCH = 5000;

/** Inserts the records in batches, each with an `imported` event, all in one transaction: all or nothing. */
export async function insertTickets(store: Store, records: ImportRecord[], actor: string, onBatch?: (done: number) => void): Promise<{ imported: number; firstId: number | null; lastId: number | null }> {
  return store.transaction(async (tx: Queryable) => {
    let firstId: number | null = null;
    let lastId: number | null = null;
    for (let start = 0; start < records.length; start += BATCH) {
      const batch = records.slice(start, start + BATCH);
      const col = <T>(pick: (r: ImportRecord) => T) => batch.map(pick);
      const { rows } = await tx.query<{ id: string }>(
        `WITH t AS (
           INSERT INTO twl_tickets (title, text, requester, source, status, category, priority, sentiment, urgency, created_at, updated_at)
           SELECT title, text, requester, source, status, category, priority, sentiment, urgency, created_at, created_at
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[])
                  AS u(title, text, requester, source, status, category, priority, sentiment, urgency, created_at)
           RETURNING id),
         e AS (INSERT INTO twl_ticket_events (ticket_id, actor, kind) SELECT id, $11, 'imported' FROM t)
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
          col((r) => r.created_at ?? new Date().toISOString()),
          actor,
        ],
      );
      const row = rows[0] as unknown as { first: string | null; last: string | null };
      firstId ??= row.first === null ? null : Number(row.first);
      lastId = row.last === null ? lastId : Number(row.last);
      onBatch?.(Math.min(records.length, start + BATCH));
    }
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
