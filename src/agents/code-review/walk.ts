import { open, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { TwlError, messageOf } from '../../runtime/errors.js';

export interface WalkLimits {
  /** Files read at most; the walk stops there and says so. */
  maxFiles: number;
  /** Files larger than this are skipped. */
  maxBytes: number;
}

export const defaultWalkLimits: WalkLimits = { maxFiles: 2000, maxBytes: 1024 * 1024 };

/** Directories never entered: dependencies, VCS data, build output. */
export const skippedDirs = new Set(['node_modules', '.git', '.hg', '.svn', 'dist', 'build', 'coverage', '.next', '.nuxt', '.turbo', '.cache', '.venv', 'venv', '__pycache__', '.tox']);

/** Files that are generated or data, not code anyone reviews: lockfiles, minified bundles, source maps. */
const generated = /(?:^|\/)(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lockb?|Cargo\.lock|poetry\.lock|composer\.lock|go\.sum)$|\.min\.(?:js|css)$|\.map$/;

const binaryExtensions = new Set(
  'png jpg jpeg gif bmp ico webp avif tiff psd pdf zip gz tgz bz2 xz 7z rar tar jar war class exe dll so dylib o a lib bin wasm woff woff2 ttf otf eot mp3 mp4 wav ogg flac mov avi mkv webm sqlite db pyc node'.split(' '),
);

export interface SourceFile {
  /** Relative to the walk's root, with forward slashes. */
  relative: string;
  absolute: string;
  text: string;
}

export interface WalkResult {
  /** Absolute directory the relative paths start from. */
  root: string;
  /** The target, absolute. */
  absolute: string;
  /** Whether the target was a directory. */
  directory: boolean;
  files: SourceFile[];
  skipped: { binary: number; tooLarge: number; generated: number; unreadable: number };
  /** The file limit stopped the walk before every file was read. */
  limitReached: boolean;
  notes: string[];
  /** What makes the result incomplete (the file limit). */
  warnings: string[];
}

const toPosix = (p: string) => p.split(path.sep).join('/');

/** Where relative paths start: the working directory when the target lies inside it (so paths match the repository), else the target's directory. */
export function rootFor(absolute: string, isDirectory: boolean, cwd = process.cwd()): string {
  const rel = path.relative(cwd, absolute);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) return cwd;
  return isDirectory ? absolute : path.dirname(absolute);
}

/** Fails with TWL_PATH_NOT_FOUND when nothing is at the path. */
export async function statTarget(target: string): Promise<{ absolute: string; isDirectory: boolean }> {
  const absolute = path.resolve(target);
  try {
    const s = await stat(absolute);
    if (!s.isDirectory() && !s.isFile()) throw new TwlError('TWL_INPUT_INVALID', `${target} is neither a file nor a directory.`);
    return { absolute, isDirectory: s.isDirectory() };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new TwlError('TWL_PATH_NOT_FOUND', `No such file or directory: ${target} (looked at ${absolute}).`, { actions: ['Check the path; relative paths start from the current directory.'] });
    }
    throw err;
  }
}

/** Reads a text file, or says why not: binary (a NUL byte in the first 8 kB) or larger than the limit. */
async function readText(absolute: string, size: number, limits: WalkLimits): Promise<string | 'binary' | 'tooLarge'> {
  if (size > limits.maxBytes) return 'tooLarge';
  const ext = path.extname(absolute).slice(1).toLowerCase();
  if (binaryExtensions.has(ext)) return 'binary';
  const handle = await open(absolute, 'r');
  try {
    const buffer = await handle.readFile();
    if (buffer.subarray(0, 8000).includes(0)) return 'binary';
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The files under a path (or the one file), in a stable order, skipping dependencies, build output, binaries and large files. */
export async function walk(target: string, limits: WalkLimits = defaultWalkLimits, signal?: AbortSignal): Promise<WalkResult> {
  const { absolute, isDirectory } = await statTarget(target);
  const root = rootFor(absolute, isDirectory);
  const result: WalkResult = { root, absolute, directory: isDirectory, files: [], skipped: { binary: 0, tooLarge: 0, generated: 0, unreadable: 0 }, limitReached: false, notes: [], warnings: [] };
  const visitFile = async (file: string) => {
    const relative = toPosix(path.relative(root, file));
    if (generated.test(relative)) return void result.skipped.generated++;
    try {
      const text = await readText(file, (await stat(file)).size, limits);
      if (text === 'binary' || text === 'tooLarge') return void result.skipped[text]++;
      result.files.push({ relative, absolute: file, text });
    } catch (err) {
      result.skipped.unreadable++;
      result.notes.push(`Could not read ${relative}: ${messageOf(err)}`);
    }
  };
  if (!isDirectory) {
    await visitFile(absolute);
    if (!result.files.length && !result.skipped.unreadable) result.notes.push(`${target} was not analyzed: it is ${result.skipped.binary ? 'a binary file' : result.skipped.tooLarge ? 'too large' : 'a lockfile or generated file'}.`);
  } else {
    const queue = [absolute];
    while (queue.length && !result.limitReached) {
      signal?.throwIfAborted();
      const dir = queue.shift()!;
      const entries = await readdir(dir, { withFileTypes: true }).catch((err: unknown) => (result.notes.push(`Could not list ${toPosix(path.relative(root, dir)) || '.'}: ${messageOf(err)}`), []));
      for (const entry of entries.sort((x, y) => x.name.localeCompare(y.name))) {
        const full = path.join(dir, entry.name);
        // Symbolic links are not followed: no loops, nothing outside the tree.
        if (entry.isDirectory() && !skippedDirs.has(entry.name)) queue.push(full);
        else if (entry.isFile()) {
          if (result.files.length >= limits.maxFiles) {
            result.limitReached = true;
            break;
          }
          await visitFile(full);
        }
      }
    }
  }
  if (result.limitReached) result.warnings.push(`Stopped after ${limits.maxFiles} files (the file limit): the rest of ${toPosix(path.relative(process.cwd(), absolute)) || '.'} was not scanned. Point at a subdirectory to scan the rest.`);
  if (isDirectory && result.skipped.tooLarge) result.notes.push(`Skipped ${result.skipped.tooLarge} file${result.skipped.tooLarge === 1 ? '' : 's'} larger than ${Math.round(limits.maxBytes / 1024)} kB.`);
  return result;
}
