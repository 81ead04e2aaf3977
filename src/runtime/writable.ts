import { mkdirSync } from 'node:fs';
import { TwlError } from './errors.js';

/** Errors that mean "this directory cannot be created or written here" (read-only root, wrong owner, a file in the way). */
const unwritable = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'ENOENT']);

/**
 * Creates a directory twl writes to (the data directory and what is under it). In a container
 * with a read-only root filesystem, or a HOME nobody can write, mkdir's own error ("ENOENT: no such
 * file or directory, mkdir …" for a recursive mkdir under a read-only parent) does not say what is
 * wrong: this names the directory, what needs it, and the way out.
 */
export function makeWritableDir(dir: string, purpose: string, mode?: number): void {
  try {
    mkdirSync(dir, { recursive: true, ...(mode === undefined ? {} : { mode }) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!unwritable.has(code)) throw err;
    throw new TwlError('TWL_DATA_DIR_UNWRITABLE', `twl needs to write ${purpose} in ${dir}, and cannot create it (${code}: ${code === 'EROFS' ? 'read-only file system' : code === 'ENOTDIR' ? 'a file is in the way' : code === 'ENOENT' ? 'a parent directory cannot be created, e.g. a read-only HOME' : 'permission denied'}).`, { details: { dir, code } });
  }
}
