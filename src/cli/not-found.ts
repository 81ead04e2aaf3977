import type { Hook } from '@oclif/core';
import { distance } from 'fastest-levenshtein';
import { TwlError } from '../runtime/errors.js';
import { errorEnvelope, writeError } from './base.js';

/**
 * The visible command closest to what was typed, when it is close enough to be a typo. oclif joins
 * the arguments after the command into the id it could not find (`cache:gett:x`), so each command
 * is compared with as many words as it has.
 */
export function closestCommand(typed: string, ids: string[]): { id: string; typed: string } | undefined {
  const words = typed.split(':');
  let best: { id: string; typed: string; d: number } | undefined;
  for (const id of ids) {
    const prefix = words.slice(0, id.split(':').length).join(':');
    const d = distance(prefix, id);
    if (d <= Math.max(2, Math.floor(prefix.length / 3)) && (!best || d < best.d)) best = { id, typed: prefix, d };
  }
  return best && { id: best.id, typed: best.typed };
}

/**
 * An unknown command is bad input like any other: exit 2, the TWL_COMMAND_UNKNOWN code, the
 * closest command as a suggestion (on a terminal or not; nothing runs that was not typed), and
 * the --json envelope when --json was given.
 */
const hook: Hook<'command_not_found'> = async function (opts) {
  const sep = opts.config.topicSeparator;
  const ids = opts.config.commands.filter((c) => !c.hidden).map((c) => c.id);
  const closest = closestCommand(opts.id, ids);
  const typed = (closest?.typed ?? opts.id).replaceAll(':', sep);
  const suggestion = closest?.id.replaceAll(':', sep);
  const topic = opts.config.findTopic(opts.id.split(':')[0]!) ? opts.id.split(':')[0] : undefined;
  const err = new TwlError('TWL_COMMAND_UNKNOWN', `"${typed}" is not a ${opts.config.bin} command.${suggestion ? ` Did you mean "${suggestion}"?` : ''}`, {
    actions: [...(suggestion ? [`Run \`${opts.config.bin} ${suggestion} --help\`.`] : []), `Run \`${opts.config.bin} help${topic ? ` ${topic}` : ''}\` for a list of commands.`],
  });
  const argv = process.argv.slice(2);
  const end = argv.indexOf('--');
  if ((end === -1 ? argv : argv.slice(0, end)).includes('--json')) process.stdout.write(`${JSON.stringify(errorEnvelope(err), null, 2)}\n`);
  else writeError(err);
  this.exit(err.exitCode);
};

export default hook;
