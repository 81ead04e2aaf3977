import { RE2JS } from 're2js';
import { TwlError } from './errors.js';

/**
 * Regular expressions from text twl does not control (an upstream's JSON Schema `pattern` and
 * `patternProperties`, a caller's search pattern) run on RE2 (re2js, a pure-JS port): matching
 * takes time linear in the input whatever the pattern, so `^(a+)+$` against 'aaaa…!' cannot hold
 * the event loop the way the built-in backtracking engine does. RE2 has no backreferences and no
 * lookaround: a pattern that needs them is refused (TWL_INPUT_INVALID, naming the pattern), never
 * run on the backtracking engine instead.
 */

/** What ajv and callers need of a compiled pattern. */
export interface LinearRegExp {
  test(text: string): boolean;
  toString(): string;
}

const MAX_PATTERN = 4096;
const quoted = (pattern: string) => JSON.stringify(pattern.length > 200 ? `${pattern.slice(0, 200)}…` : pattern);

/**
 * ECMAScript escapes RE2 spells otherwise: `\uXXXX` and `\u{X…}` are `\x{…}`. Everything else is
 * passed as written (a backslash pair at a time, so `\\u` stays a literal backslash and u).
 */
function toRe2(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c !== '\\' || i + 1 >= pattern.length) {
      out += c;
      continue;
    }
    const next = pattern[i + 1]!;
    const braced = next === 'u' ? /^\{([0-9A-Fa-f]{1,6})\}/.exec(pattern.slice(i + 2)) : null;
    const plain = next === 'u' && !braced ? /^[0-9A-Fa-f]{4}/.exec(pattern.slice(i + 2)) : null;
    if (braced) {
      out += `\\x{${braced[1]}}`;
      i += 1 + braced[0].length;
    } else if (plain) {
      out += `\\x{${plain[0]}}`;
      i += 1 + plain[0].length;
    } else {
      out += c + next;
      i++;
    }
  }
  return out;
}

/**
 * A pattern compiled for linear-time matching, or TWL_INPUT_INVALID saying which pattern and why
 * (`what` names where it came from: "the pattern of tool X's input schema"). Flags: `i` and `s`;
 * `u` is RE2's own behaviour (code points).
 */
export function linearRegExp(pattern: string, flags = '', what = 'the pattern'): LinearRegExp {
  if (typeof pattern !== 'string') throw new TwlError('TWL_INPUT_INVALID', `${what} is not a string.`);
  if (pattern.length > MAX_PATTERN) throw new TwlError('TWL_INPUT_INVALID', `${what} ${quoted(pattern)} is longer than ${MAX_PATTERN} characters: refused.`);
  let re: RE2JS;
  try {
    re = RE2JS.compile(toRe2(pattern), (flags.includes('i') ? RE2JS.CASE_INSENSITIVE : 0) | (flags.includes('s') ? RE2JS.DOTALL : 0));
  } catch (err) {
    throw new TwlError('TWL_INPUT_INVALID', `${what} ${quoted(pattern)} cannot be matched in linear time (${(err as Error).message}): twl runs such patterns on RE2, which has no backreferences or lookaround, and refuses the others.`, {
      actions: ['Rewrite the pattern without backreferences (\\1) and lookaround ((?=…), (?!…), (?<=…)), or drop it.'],
    });
  }
  return { test: (text: string) => re.test(text), toString: () => `/${pattern}/${flags}` };
}

/**
 * ajv's `code.regExp` engine: every `pattern` and `patternProperties` of a schema compiled with
 * it runs on RE2. A pattern RE2 cannot take makes the schema's compilation fail with that error.
 */
export const ajvLinearRegExp = Object.assign((pattern: string, flags: string) => linearRegExp(pattern, flags, 'the JSON Schema pattern'), {
  /** ajv names the engine by this in standalone code; twl never generates standalone code. */
  code: 'linearRegExp',
});
