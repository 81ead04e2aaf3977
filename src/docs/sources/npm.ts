import { existsSync, realpathSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { TwlError } from '../../runtime/errors.js';
import { gatherFiles } from './local.js';
import type { GatherOptions, Gathered } from './types.js';

/** An npm package name as the registry allows it (optionally scoped): nothing that could climb out of node_modules. */
const packageName = /^(?:@[a-z0-9~][a-z0-9._~-]*\/)?[a-z0-9~][a-z0-9._~-]*$/i;

/** The folder of an installed package: node_modules/<name> in the working directory or one above it. */
export function packageDir(name: string, from = process.cwd()): string {
  if (!packageName.test(name) || name.split('/').some((part) => part === '.' || part === '..')) {
    throw new TwlError('TWL_INPUT_INVALID', `"npm:${name}" is not an npm package name.`, { actions: ['Give an installed package as npm:NAME or npm:@scope/NAME (e.g. npm:zod).'] });
  }
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const modules = path.join(dir, 'node_modules');
    const candidate = path.join(modules, name);
    if (existsSync(path.join(candidate, 'package.json'))) {
      // A linked package (npm link, workspaces) is fine; the name itself can no longer escape.
      return realpathSync(candidate);
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new TwlError('TWL_DOCS_SOURCE', `The npm package ${name} is not installed under ${path.resolve(from)} (no node_modules/${name}/package.json here or above).`, {
    actions: [`Install it first (npm install ${name}), or run twl from the project that has it.`],
  });
}

const docFolders = ['docs', 'doc', 'documentation'];

/** An installed npm package's documentation, offline: its README and Markdown at the top, and its docs folder. */
export async function gatherNpm(name: string, options: GatherOptions, from?: string): Promise<Gathered> {
  const dir = packageDir(name, from);
  const manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8')) as { version?: string; description?: string };
  const top = (await readdir(dir)).filter((f) => /\.(md|markdown|mdx|rst)$/i.test(f) && !/^(license|licence|security|code_of_conduct|contributing)/i.test(f));
  const folders = docFolders.filter((f) => existsSync(path.join(dir, f)));
  const inFolders = (relative: string) => top.includes(relative) || folders.some((f) => relative.startsWith(`${f}/`));
  const gathered = await gatherFiles(dir, options, inFolders);
  return { ...gathered, name, kind: 'npm', version: manifest.version, description: manifest.description };
}
