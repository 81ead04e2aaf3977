/**
 * Argument parsing for the commander's rules: a getopt-style reader that accepts only the
 * options it is told about, so a rule states which argument shapes it allows and everything
 * else (an unknown flag, an abbreviation, a value that does not fit) falls outside it.
 */

/** A test for one value: an anchored pattern or a predicate. */
export type ValueTest = RegExp | ((value: string) => boolean);

export interface OptionSpec {
  /** Short options (one character, without the dash): null takes no value; a test takes a value (attached, `-n5`, or the next argument). */
  short?: Record<string, ValueTest | null>;
  /** Long options (without `--`): null takes no value; a test takes one (`--name=v` or `--name v`). Only exact names: no abbreviations. */
  long?: Record<string, ValueTest | null>;
  /** Long options whose value is optional: `--name` or `--name=v` only. */
  longOptional?: Record<string, ValueTest>;
  /** What each positional argument must be; absent: none allowed. */
  positional?: ValueTest;
  maxPositionals?: number;
}

export interface Parsed {
  /** Options seen, as `-x` or `--name`, with their values. */
  options: Array<{ name: string; value?: string }>;
  positionals: string[];
}

/** Why the arguments are outside a rule (a sentence), or the parsed arguments. */
export type ParseResult = { ok: true; parsed: Parsed } | { ok: false; why: string };

/** An anchored pattern: the whole value must match. Without the `m` flag `$` is the end of the value, and no class used here admits a newline. */
export const whole = (source: string) => new RegExp(`^(?:${source})$`, 'u');

export const test = (t: ValueTest, value: string) => (typeof t === 'function' ? t(value) : t.test(value));

const has = (table: Record<string, unknown> | undefined, key: string): boolean => table !== undefined && Object.hasOwn(table, key);

const show = (value: string) => JSON.stringify(value);

/**
 * Reads arguments the way getopt_long does (options anywhere, `--` ends them, clustered short
 * options, a short option's value attached or next), accepting only what `spec` lists.
 */
export function getopt(spec: OptionSpec, args: readonly string[]): ParseResult {
  const options: Parsed['options'] = [];
  const positionals: string[] = [];
  const no = (why: string): ParseResult => ({ ok: false, why });
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const inline = eq < 0 ? undefined : arg.slice(eq + 1);
      if (has(spec.longOptional, name)) {
        if (inline !== undefined && !test(spec.longOptional![name]!, inline)) return no(`the value ${show(inline)} of --${name} is not one the rule allows`);
        options.push({ name: `--${name}`, value: inline });
        continue;
      }
      if (!has(spec.long, name)) return no(`${show(`--${name}`)} is not an option the rule allows (only exact names: no abbreviations)`);
      const t = spec.long![name]!;
      if (t === null) {
        if (inline !== undefined) return no(`--${name} takes no value`);
        options.push({ name: `--${name}` });
        continue;
      }
      const value = inline ?? args[++i];
      if (value === undefined) return no(`--${name} needs a value`);
      if (!test(t, value)) return no(`the value ${show(value)} of --${name} is not one the rule allows`);
      options.push({ name: `--${name}`, value });
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const c = arg[j]!;
        if (!has(spec.short, c)) return no(`${show(`-${c}`)}${arg.length > 2 ? ` (in ${show(arg)})` : ''} is not an option the rule allows`);
        const t = spec.short![c]!;
        if (t === null) {
          options.push({ name: `-${c}` });
          continue;
        }
        const value = j + 1 < arg.length ? arg.slice(j + 1) : args[++i];
        if (value === undefined) return no(`-${c} needs a value`);
        if (!test(t, value)) return no(`the value ${show(value)} of -${c} is not one the rule allows`);
        options.push({ name: `-${c}`, value });
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  if (positionals.length) {
    if (!spec.positional) return no(`it takes no operands (got ${show(positionals[0]!)})`);
    const max = spec.maxPositionals ?? Infinity;
    if (positionals.length > max) return no(`it takes at most ${max} operand${max === 1 ? '' : 's'}`);
    const badOne = positionals.find((p) => !test(spec.positional!, p));
    if (badOne !== undefined) return no(`the operand ${show(badOne)} is not one the rule allows`);
  }
  return { ok: true, parsed: { options, positionals } };
}

/** A structured argument rule from the configuration (commander.rules[].argv). */
export interface ArgvRule {
  /** Options that may appear (`-l`, `--long`); any other argument that starts with `-` falls outside the rule. */
  flags?: string[];
  /** Options that may not appear, in any spelling: clustered (`-De`), with a value (`--opt=v`, `-ovalue`) or abbreviated (`--opt-d`). */
  denyFlags?: string[];
  /** A regular expression every operand (an argument not starting with `-`, or any after `--`) must match whole. */
  positional?: string;
  maxPositionals?: number;
}

/** The option name an argument spells (`--name=v` → `--name`), or undefined for an operand. */
const optionName = (arg: string) => (arg.startsWith('-') && arg.length > 1 ? (arg.startsWith('--') ? arg.split('=')[0]! : arg) : undefined);

/** Whether `arg` may spell the denied option `flag` in any of the ways programs read options. */
function spells(flag: string, arg: string): boolean {
  const name = optionName(arg);
  if (name === undefined) return false;
  if (flag.startsWith('--')) {
    // getopt_long accepts an unambiguous prefix: --output-d= is --output-directory=.
    return name === flag || (name.startsWith('--') && name.length > 2 && flag.startsWith(name));
  }
  if (flag.length === 2) {
    // A short option anywhere in a cluster (-De), or with its value attached (-Dfile): any
    // single-dash argument containing the letter counts, which is strict on purpose.
    return !arg.startsWith('--') && arg.slice(1).includes(flag[1]!);
  }
  // A single-dash word (find's -exec): itself, or with a value attached (-exec=…).
  return name === flag || name.startsWith(`${flag}=`);
}

/** Checks arguments against a structured rule; the reason they fall outside it, or undefined. */
export function checkArgvRule(rule: ArgvRule, args: readonly string[]): string | undefined {
  const positional = rule.positional === undefined ? undefined : whole(rule.positional);
  let operands = 0;
  let ended = false;
  for (const arg of args) {
    // Denied options count wherever they are, after -- too (find reads -exec after --).
    const denied = rule.denyFlags?.find((flag) => spells(flag, arg));
    if (denied) return `${show(arg)} is ${denied}, which the rule denies`;
    if (!ended && arg === '--') {
      ended = true;
      continue;
    }
    const name = ended ? undefined : optionName(arg);
    if (name === undefined) {
      operands++;
      if (rule.maxPositionals !== undefined && operands > rule.maxPositionals) return `more than ${rule.maxPositionals} operands`;
      if (positional && !positional.test(arg)) return `the operand ${show(arg)} does not match ${rule.positional}`;
      continue;
    }
    if (rule.flags && !rule.flags.includes(name)) return `${show(arg)} is not among the rule's flags (${rule.flags.join(' ')})`;
  }
  return undefined;
}
