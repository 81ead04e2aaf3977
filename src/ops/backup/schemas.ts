import { z } from 'zod';

export const targetInput = z
  .string()
  .regex(/^[A-Za-z][\w-]*$/, 'expected a target name (letters, digits, - and _)')
  .optional()
  .describe('A name from database.targets in the configuration, or "store"; default: twl\'s own store.');

export const idInput = z.string().min(1).max(200).describe('A backup id from `twl backup list`, or "latest".');

export const kindOutput = z.enum(['embedded', 'postgres']).describe('embedded: twl\'s PGlite store (a PGlite pg_dump SQL script); postgres: a PostgreSQL database (pg_dump custom format).');

export const verifiedOutput = z
  .object({ at: z.string(), ok: z.boolean(), error: z.string().nullable() })
  .nullable()
  .describe('The last verification recorded in the manifest; null: never verified.');

export const listedOutput = z.object({
  id: z.string(),
  kind: kindOutput,
  target: z.string(),
  createdAt: z.string(),
  sizeBytes: z.number().int(),
  tables: z.number().int(),
  rows: z.number().int(),
  dir: z.string(),
  verified: verifiedOutput,
});

export const countCheckOutput = z.object({
  table: z.string().describe('schema.table'),
  expected: z.number().int().nullable().describe('Rows in the manifest (null: not in the backup).'),
  actual: z.number().int().nullable().describe('Rows restored (null: not restored).'),
  ok: z.boolean(),
});
