import { Args, Flags } from '@oclif/core';
import { formatOf, insertTickets, parseImport, type LineError } from '../../src/agents/tickets/bulk.js';
import { TwlCommand } from '../../src/cli/base.js';
import { TwlError } from '../../src/runtime/errors.js';

interface Result {
  file: string;
  format: string;
  imported: number;
  skipped: number;
  errors: LineError[];
  firstId: number | null;
  lastId: number | null;
  durationMs: number;
}

export default class TicketImport extends TwlCommand<Result> {
  static override summary = 'Import tickets in bulk from JSONL or CSV, all or nothing.';
  static override description =
    'Each line (JSONL) or row (CSV, with a header) needs text; title, requester, source, status, category, priority, sentiment, urgency, confidence, needs_human, assigned_agent, resolution, escalation_reason, ' +
    'created_at, updated_at, resolved_at and closed_at (ISO 8601) are optional and checked against the taxonomy; keys may be snake_case or camelCase, and null or an empty cell means not given, so a `twl ticket export` file (JSONL or CSV) imports back field for field. ' +
    'Tickets get new numbers, unless --keep-ids keeps the file\'s (into a store where none of them exists). ' +
    'Any invalid line stops the import before anything is written, and every bad line is listed with its error; with --skip-invalid the valid lines are imported and the bad ones reported. Tickets keep the labels given; run `twl ticket classify ID` or `resolve` to triage them.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> tickets.jsonl',
    '<%= config.bin %> <%= command.id %> export-from-glpi.csv --skip-invalid --json',
    '<%= config.bin %> <%= command.id %> tickets.jsonl --keep-ids',
  ];
  static override args = { file: Args.string({ description: 'A .jsonl/.ndjson or .csv file.', required: true }) };
  static override flags = {
    format: Flags.string({ description: 'Override the format the extension implies.', options: ['jsonl', 'csv'] }),
    'skip-invalid': Flags.boolean({ description: 'Import the valid lines and report the invalid ones.' }),
    'keep-ids': Flags.boolean({ description: 'Keep the ticket numbers of the file (each line needs an id, and none may exist in this store yet).' }),
  };

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(TicketImport);
    const format = formatOf(args.file, flags.format);
    const started = performance.now();
    const { records, errors } = await parseImport(args.file, format);
    const list = (errs: LineError[]) => errs.slice(0, 50).map((e) => `  line ${e.line}: ${e.error}`).join('\n') + (errs.length > 50 ? `\n  … and ${errs.length - 50} more` : '');
    if (errors.length && !flags['skip-invalid']) {
      throw new TwlError('TWL_IMPORT_INVALID', `${errors.length} invalid line${errors.length > 1 ? 's' : ''} in ${args.file}; nothing was imported:\n${list(errors)}`, { details: { errors } });
    }
    if (!records.length) throw new TwlError('TWL_IMPORT_INVALID', `No valid ticket in ${args.file}; nothing was imported.`, { details: { errors } });
    const runtime = await this.runtime();
    const store = await runtime.store();
    const outcome = await insertTickets(store, records.map((r) => r.record), runtime.actor ?? 'cli', {
      keepIds: flags['keep-ids'],
      onBatch: (done) => {
        if (!this.jsonEnabled() && process.stderr.isTTY) process.stderr.write(`\rimported ${done} of ${records.length}…`);
      },
    });
    if (!this.jsonEnabled() && process.stderr.isTTY) process.stderr.write('\n');
    if (errors.length) this.note(`${errors.length} invalid line${errors.length > 1 ? 's were' : ' was'} skipped:\n${list(errors)}`);
    const durationMs = Math.round(performance.now() - started);
    this.log(`imported ${outcome.imported} tickets (#${outcome.firstId}–#${outcome.lastId}) from ${args.file} in ${durationMs} ms`);
    return { file: args.file, format, imported: outcome.imported, skipped: errors.length, errors, firstId: outcome.firstId, lastId: outcome.lastId, durationMs };
  }
}
