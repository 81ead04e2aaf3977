import { z } from 'zod';

export const targetInput = z
  .string()
  .min(1)
  .optional()
  .describe('A name from database.targets in the configuration; default: twl\'s own store.');

export const backendOutput = z.enum(['embedded', 'embedded-host', 'postgres']).describe('embedded: PGlite in the data directory (embedded-host: shared through a running twl serve); postgres: a PostgreSQL server.');
