import path from 'node:path';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { formatOf, isText, toPage } from '../formats.js';
import { contentHash } from './local.js';
import type { GatherOptions, Gathered, Skipped, SourceDoc } from './types.js';

/** A ref as git names them, never an option (`--upload-pack=…` must not reach git's arguments). */
const refPattern = /^(?!-)[\w./@^~-]{1,200}$/;

/** `git:PATH@REF` (REF defaults to HEAD) → the repository folder and the ref. */
export function parseGitSource(source: string): { repo: string; ref: string } {
  const rest = source.slice('git:'.length);
  const at = rest.lastIndexOf('@');
  const repo = path.resolve(at > 0 ? rest.slice(0, at) : rest);
  const ref = at > 0 ? rest.slice(at + 1) : 'HEAD';
  if (!refPattern.test(ref)) throw new TwlError('TWL_INPUT_INVALID', `"${ref}" is not a git ref.`, { actions: ['Give git:PATH@REF with a branch, tag or commit, e.g. git:./repo@v2.1.0.'] });
  return { repo, ref };
}

/**
 * The documentation files of a local git repository as they are at a ref, read with git itself
 * (ls-tree, cat-file): the working tree is not touched, and uncommitted changes are not read.
 */
export async function gatherGit(source: string, options: GatherOptions): Promise<Gathered & { commit: string }> {
  const { repo, ref } = parseGitSource(source);
  const { execa } = await import('execa');
  // No shell, a fixed program and argument list; the ref was checked above and follows `--end-of-options`.
  const git = (args: string[], encoding: 'utf8' | 'buffer' = 'utf8') =>
    execa('git', ['-C', repo, ...args], { encoding, cancelSignal: options.signal, env: { PATH: '/usr/local/bin:/usr/bin:/bin', GIT_TERMINAL_PROMPT: '0', GIT_CONFIG_NOSYSTEM: '1' }, extendEnv: false, maxBuffer: options.maxFileBytes + 1024 });
  let commit: string;
  try {
    commit = (await git(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`])).stdout.toString().trim();
  } catch (err) {
    throw new TwlError('TWL_DOCS_SOURCE', `Cannot read ${ref} in ${repo}: ${messageOf(err).split('\n').pop()}`, { actions: ['Give a local git repository and a branch, tag or commit in it (git:PATH@REF).'] });
  }
  const listing = (await git(['ls-tree', '-r', '-l', '-z', commit])).stdout.toString();
  const docs: SourceDoc[] = [];
  const skipped: Skipped[] = [];
  const entries = listing.split('\0').filter(Boolean).map((line) => {
    const [meta, file] = line.split('\t') as [string, string];
    const [, type, object, size] = meta.split(/\s+/) as [string, string, string, string];
    return { type, object, size: Number(size), file };
  });
  const wanted = entries.filter((e) => e.type === 'blob' && formatOf(e.file) && !e.file.split('/').some((part) => part === 'node_modules'));
  for (const [i, e] of wanted.entries()) {
    options.progress(`reading ${e.file}@${ref}`, i, wanted.length);
    if (e.size > options.maxFileBytes) {
      skipped.push({ location: e.file, reason: `larger than docs.maxFileBytes (${e.size} > ${options.maxFileBytes} bytes)` });
      continue;
    }
    const bytes = (await git(['cat-file', 'blob', e.object], 'buffer')).stdout as unknown as Uint8Array;
    if (!isText(bytes)) {
      skipped.push({ location: e.file, reason: 'binary content (not UTF-8 text)' });
      continue;
    }
    const hash = contentHash(bytes);
    const url = `git+file://${repo}#${commit}:${e.file}`;
    const doc: SourceDoc = { location: e.file, url, hash, etag: null, lastModified: null, links: [] };
    if (options.known.get(e.file)?.hash !== hash) doc.page = await toPage(formatOf(e.file)!, Buffer.from(bytes).toString('utf8'), e.file);
    docs.push(doc);
  }
  return { docs, skipped, requests: wanted.length, name: path.basename(repo), kind: 'git', commit };
}
