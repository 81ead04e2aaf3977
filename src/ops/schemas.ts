import { z } from 'zod';

/**
 * A local path in an op's input: any text but a NUL byte, which no file system call takes. Said
 * as an input error (400, exit 2) instead of failing inside node:fs as an unexpected error.
 */
export const localPath = () => z.string().regex(/^[^\0]*$/, 'a path cannot contain a NUL byte');
