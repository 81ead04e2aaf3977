import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { formatOf, isText, toPage } from '../formats.js';
import type { GatherOptions, Gathered, Skipped, SourceDoc } from './types.js';

export const contentHash = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** Folders that hold dependencies or tooling, never documentation of the library itself. */
const skippedDirs = new Set(['node_modules', '.git', '.hg', '.svn', 'dist', 'build', 'coverage', '.next', '.cache']);

/**
 * The documentation files under a folder (or one file), each read, checked and turned into a page.
 * Symbolic links are not followed (a link could lead out of the folder); binary, unreadable and
 * oversized files are skipped with the reason.
 */
export async function gatherFiles(root: string, options: GatherOptions, filter: (relative: string) => boolean = () => true): Promise<Omit<Gathered, 'name' | 'kind'>> {
  const absolute = path.resolve(root);
  let stat;
  try {
    stat = await lstat(absolute);
  } catch (err) {
    throw new TwlError('TWL_DOCS_SOURCE', `Cannot read ${absolute}: ${messageOf(err)}`, { actions: ['Check the path and that twl may read it.'] });
  }
  const files: string[] = [];
  const skipped: Skipped[] = [];
  if (stat.isFile()) files.push(absolute);
  else if (stat.isDirectory()) {
    try {
      await walk(absolute, files, skipped, absolute);
    } catch (err) {
      throw new TwlError('TWL_DOCS_SOURCE', `Cannot read the folder ${absolute}: ${messageOf(err)}`, { actions: ['Check that twl may list and read the folder (permissions).'] });
    }
  } else throw new TwlError('TWL_DOCS_SOURCE', `${absolute} is neither a file nor a folder.`, { actions: ['Give a folder of documentation or one file (Markdown, MDX, HTML, text, reStructuredText).'] });

  const base = stat.isFile() ? path.dirname(absolute) : absolute;
  const docs: SourceDoc[] = [];
  const wanted = files.filter((f) => filter(path.relative(base, f).split(path.sep).join('/')));
  for (const [i, file] of wanted.entries()) {
    options.signal.throwIfAborted();
    const location = path.relative(base, file).split(path.sep).join('/');
    const kind = formatOf(file);
    if (!kind) {
      skipped.push({ location, reason: 'not a documentation format (Markdown, MDX, HTML, text, reStructuredText)' });
      continue;
    }
    options.progress(`reading ${location}`, i, wanted.length);
    let bytes: Buffer;
    try {
      const size = (await lstat(file)).size;
      if (size > options.maxFileBytes) {
        skipped.push({ location, reason: `larger than docs.maxFileBytes (${size} > ${options.maxFileBytes} bytes)` });
        continue;
      }
      bytes = await readFile(file);
    } catch (err) {
      skipped.push({ location, reason: `unreadable: ${messageOf(err)}` });
      continue;
    }
    if (!isText(bytes)) {
      skipped.push({ location, reason: 'binary content (not UTF-8 text)' });
      continue;
    }
    const hash = contentHash(bytes);
    const url = pathToFileURL(file).href;
    const known = options.known.get(location);
    if (known?.hash === hash) {
      docs.push({ location, url, hash, etag: null, lastModified: null, links: [] });
      continue;
    }
    docs.push({ location, url, hash, etag: null, lastModified: null, links: [], page: await toPage(kind, bytes.toString('utf8'), location) });
  }
  return { docs, skipped, requests: wanted.length };
}

async function walk(dir: string, files: string[], skipped: Skipped[], root: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) skipped.push({ location: path.relative(root, full), reason: 'symbolic link (not followed)' });
    else if (entry.isDirectory()) {
      if (skippedDirs.has(entry.name)) continue;
      try {
        await walk(full, files, skipped, root);
      } catch (err) {
        skipped.push({ location: path.relative(root, full), reason: `unreadable folder: ${messageOf(err)}` });
      }
    } else if (entry.isFile() && formatOf(entry.name)) files.push(full);
  }
}
