import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { targetFlag } from '../../src/cli/flags.js';
import { readStdin } from '../../src/cli/io.js';
import { table } from '../../src/cli/render.js';
import op from '../../src/ops/db/query.js';
import type { OutputOf } from '../../src/ops/op.js';
import { durationHint, parseDuration } from '../../src/runtime/duration.js';
import { TwlError } from '../../src/runtime/errors.js';

export default class DbQuery extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Run one read-only SQL statement, safely.';
  static override description =
    `${op.description}\n\nIt targets twl's own store unless --target names a database from database.targets. ` +
    'Parameters are passed as text and cast by the server like literals.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> "select now()"',
    '<%= config.bin %> <%= command.id %> "select * from pg_stat_activity where state = $1" --param active --limit 20',
    '<%= config.bin %> <%= command.id %> "select count(*) from orders" --target billing --timeout 30s --json',
    'cat report.sql | <%= config.bin %> <%= command.id %> -',
  ];
  static override args = { sql: Args.string({ description: 'The SQL statement; - reads it from stdin.', required: true }) };
  static override flags = {
    param: Flags.string({ char: 'p', description: 'A value for $1, $2, … (repeat in order).', multiple: true, default: [] }),
    limit: Flags.integer({ description: 'Return at most this many rows.', default: 1000, min: 1, max: 100_000 }),
    timeout: Flags.string({ description: `Statement timeout: ${durationHint}.`, default: '5s' }),
    target: targetFlag,
  };

  protected async input() {
    const { args, flags } = await this.parse(DbQuery);
    const timeout = parseDuration(flags.timeout);
    if (timeout === undefined || timeout < 1) throw new TwlError('TWL_INPUT_INVALID', `--timeout "${flags.timeout}" is not a duration: expected ${durationHint}.`);
    const sql = args.sql === '-' ? await readStdin() : args.sql;
    return { sql, params: flags.param, limit: flags.limit, timeout_ms: timeout, target: flags.target };
  }

  protected render(r: OutputOf<typeof op>): void {
    if (r.columns.length) this.log(table(r.columns.map((c) => c.name), r.rows.map((row) => r.columns.map((c) => row[c.name]))));
    this.log(`(${r.rowCount} row${r.rowCount === 1 ? '' : 's'}${r.truncatedBy ? `, truncated by the ${r.truncatedBy === 'rows' ? 'row limit' : 'byte cap'}` : ''}, ${r.durationMs} ms, ${r.target})`);
  }
}
