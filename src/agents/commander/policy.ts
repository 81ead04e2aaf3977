import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../../runtime/config.js';
import { checkArgvRule } from './argv.js';
import { builtIns } from './builtins.js';

export type Decision = 'allow' | 'ask' | 'deny';

export interface Verdict {
  decision: Decision;
  /** Which rule decided, for the audit log. */
  rule: string;
  reason: string;
}

type Rule = Config['commander']['rules'][number];

/**
 * Where a bare program name is looked up, in this order: a fixed list, never the caller's
 * PATH (a planted `ls` in /tmp/evil or a node_modules/.bin is never found). A world-writable
 * file or directory there is skipped. The child's PATH is this list too.
 */
export const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'] as const;
export const SYSTEM_PATH = SYSTEM_DIRS.join(':');

const executable = (file: string) => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** A file anyone could have replaced: world-writable itself, or in a world-writable directory (where it sits, or where its symlink leads). */
const replaceable = (file: string) => {
  const worldWritable = (f: string) => (statSync(f).mode & 0o002) !== 0;
  try {
    const real = realpathSync(file);
    return worldWritable(real) || worldWritable(path.dirname(file)) || worldWritable(path.dirname(real));
  } catch {
    return true;
  }
};

/**
 * The file a program names: a bare name in the system directories only; a name with a slash
 * (absolute, or relative to cwd) as itself. Undefined when there is none.
 */
export function resolveProgram(program: string, cwd: string): string | undefined {
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    return executable(file) ? file : undefined;
  }
  for (const dir of SYSTEM_DIRS) {
    const file = path.join(dir, program);
    if (executable(file) && !replaceable(file)) return file;
  }
  return undefined;
}

/**
 * Whether a rule names this program. An absolute rule matches the command spelled that way or
 * resolving to that file. A bare rule matches a file of that name in the system directories:
 * `df` and `/usr/bin/df` alike, never ./df, /tmp/df or a symlink named df elsewhere.
 */
function programMatches(rule: string, program: string, resolved: string | undefined): boolean {
  if (path.isAbsolute(rule)) return rule === program || rule === resolved;
  return resolved !== undefined && path.basename(resolved) === rule && (SYSTEM_DIRS as readonly string[]).includes(path.dirname(resolved));
}

/** Whether a configured rule's argument conditions hold (the regular expression and the structured rule, when given). */
function argsMatch(rule: Rule, args: string[]): boolean {
  // dotAll: `.` matches a newline too, so ^(?!.*-exec) is not bypassed by an argument holding "\n-exec".
  if (rule.args !== undefined && !new RegExp(rule.args, 's').test(args.join(' '))) return false;
  if (rule.argv !== undefined && checkArgvRule(rule.argv, args) !== undefined) return false;
  return true;
}

/**
 * Decides on a command: the configured rules first, in order, then the built-in read-only
 * diagnostics, then the configured default. Nothing about the command changes what rules
 * apply: an op cannot edit the policy. `resolved` is the file that would run
 * (resolveProgram), found here when not given; `cwd` is where it would run (relative operands).
 */
export function decide(config: Config['commander'], program: string, args: string[], resolved: string | undefined = resolveProgram(program, process.cwd()), cwd = process.cwd()): Verdict {
  for (const [i, rule] of config.rules.entries()) {
    if (!programMatches(rule.program, program, resolved) || !argsMatch(rule, args)) continue;
    const name = `commander.rules[${i}]`;
    return { decision: rule.decision, rule: name, reason: rule.reason ?? `${rule.decision} by ${name}` };
  }
  let outside = '';
  for (const builtIn of config.builtIns ? builtIns : []) {
    if (!programMatches(builtIn.program, program, resolved)) continue;
    const why = builtIn.check(args, cwd);
    if (why === undefined) return { decision: 'allow', rule: `built-in: ${builtIn.program}`, reason: builtIn.reason };
    outside = `the built-in rule for ${builtIn.program} allows read-only shapes only, and ${why}; `;
  }
  return { decision: config.default, rule: 'commander.default', reason: `${outside || `no rule matches ${path.basename(program)}: `}the default is ${config.default}` };
}
