import { readFile, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../runtime/config.js';
import { TwlError, messageOf } from '../runtime/errors.js';
import type { WorkflowProblem } from './types.js';
import { validateWorkflow, type ToolLookup, type ValidWorkflow } from './validate.js';

/** A workflow file is read whole: a larger one is refused, not parsed. */
const MAX_FILE_BYTES = 1024 * 1024;

/** One workflow as written, where it came from, and how to find a line in its file. */
interface Source {
  raw: unknown;
  file: string;
  lineOf?: (path: Array<string | number>) => number | undefined;
}

export interface LoadedWorkflows {
  workflows: ValidWorkflow[];
  /** Why some were left out (a workflow with problems is skipped; the others load). */
  problems: WorkflowProblem[];
  /** The files read. */
  files: string[];
}

/** The `workflows/` directory beside the configuration file, if there is a configuration file. */
export const workflowsDir = (loaded: LoadedConfig): string | undefined => (loaded.file ? path.join(path.dirname(loaded.file), 'workflows') : undefined);

/** The YAML files of a directory (*.yaml, *.yml), in name order; none when it does not exist. */
async function yamlFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => path.join(dir, f));
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT' || (err as { code?: string }).code === 'ENOTDIR') return [];
    throw err;
  }
}

/** A YAML file's workflows (one mapping, or a list of them), or the problem reading it. */
async function readWorkflowFile(file: string): Promise<{ sources: Source[]; problems: WorkflowProblem[] }> {
  try {
    const info = await stat(file);
    if (info.size > MAX_FILE_BYTES) return { sources: [], problems: [{ file, problem: `the file is ${info.size} bytes; a workflow file holds at most ${MAX_FILE_BYTES}` }] };
    const text = await readFile(file, 'utf8');
    const { LineCounter, parseDocument, isNode } = await import('yaml');
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      return { sources: [], problems: doc.errors.slice(0, 5).map((e) => ({ file, line: e.linePos?.[0]?.line, problem: `not valid YAML: ${e.message.split('\n')[0]}` })) };
    }
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    const lineAt = (prefix: Array<string | number>) => (p: Array<string | number>) => {
      for (let n = p.length; n >= 0; n--) {
        const node = doc.getIn([...prefix, ...p.slice(0, n)], true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    };
    if (Array.isArray(value)) return { sources: value.map((raw, i) => ({ raw, file, lineOf: lineAt([i]) })), problems: [] };
    if (value && typeof value === 'object') return { sources: [{ raw: value, file, lineOf: lineAt([]) }], problems: [] };
    return { sources: [], problems: [{ file, problem: 'expected a workflow (a mapping with name and steps) or a list of them' }] };
  } catch (err) {
    return { sources: [], problems: [{ file, problem: `cannot read it: ${messageOf(err)}` }] };
  }
}

/**
 * Every workflow: `workflows/*.yaml` beside the configuration file and `workflows:` in it (or only
 * the given files). Each is validated; those with problems are left out and their problems returned.
 */
export async function loadWorkflows(loaded: LoadedConfig, lookup: ToolLookup, only?: string[]): Promise<LoadedWorkflows> {
  const sources: Source[] = [];
  const problems: WorkflowProblem[] = [];
  let files: string[];
  if (only) {
    files = only.map((f) => path.resolve(f));
    for (const f of files) {
      const exists = await stat(f).catch(() => undefined);
      if (!exists) throw new TwlError('TWL_PATH_NOT_FOUND', `No workflow file ${f}.`, { actions: ['Give the path of a workflow YAML file, or no path to check every workflow.'] });
    }
  } else {
    const dir = workflowsDir(loaded);
    files = dir ? await yamlFiles(dir) : [];
    const inline = (loaded.config as { workflows?: unknown[] }).workflows ?? [];
    inline.forEach((raw) => sources.push({ raw, file: loaded.file ?? 'configuration' }));
  }
  for (const file of files) {
    const read = await readWorkflowFile(file);
    sources.push(...read.sources);
    problems.push(...read.problems);
  }
  const workflows: ValidWorkflow[] = [];
  const seen = new Map<string, string>();
  for (const source of sources) {
    const result = await validateWorkflow(source.raw, source.file, lookup, source.lineOf);
    problems.push(...result.problems);
    if (!result.valid) continue;
    const other = seen.get(result.valid.def.name);
    if (other) {
      problems.push({ file: source.file, workflow: result.valid.def.name, problem: `the name ${result.valid.def.name} is taken by the workflow in ${other}: this one is left out` });
      continue;
    }
    seen.set(result.valid.def.name, source.file);
    workflows.push(result.valid);
  }
  return { workflows, problems, files };
}
