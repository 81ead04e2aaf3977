import { Flags } from '@oclif/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { TwlCommand } from '../../src/cli/base.js';
import { table } from '../../src/cli/render.js';
import { TwlError } from '../../src/runtime/errors.js';

interface Result {
  dryRun: boolean;
  backend: string;
  location: string;
  /** Per table: its setting, that setting's value in ms (0: kept forever), and the rows deleted (with --dry-run: past their retention now). */
  tables: Array<{ table: string; setting: string; retentionMs: number; rows: number }>;
  total: number;
  /** False when Ctrl-C stopped it before everything past its retention was deleted. */
  complete: boolean;
}

/** How long it waits for a pass another process is making (those are a bounded number of batches). */
const WAIT_MS = 60_000;

const spell = (ms: number) => {
  if (!ms) return 'off (kept)';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
};

export default class DbPrune extends TwlCommand<Result> {
  static override summary = "Delete now what twl's store keeps past its retention.";
  static override description =
    "twl deletes it by itself, a bounded number of batches a minute, in twl worker, twl serve and the store host (and now and then in any command): run this to catch up on a backlog at once (after lowering a retention, say) or to see what is due with --dry-run. " +
    'What goes: change-feed events past store.eventRetention (7d), op calls past store.activityRetention (1d), the run history past store.runRetention (30d: task executions with their output lines, agent runs with their steps, workflow runs with their steps) and, only when store.auditRetention is set (off by default: kept forever), the audit trails (twl_audit, twl_tool_calls). ' +
    "What stays whatever its age: what still runs or waits for its turn (a workflow run left waiting_approval has ended: it goes like a failed one), a task's latest execution, a run another kept row refers to, the newest event. " +
    'First, it marks failed (TWL_WORKFLOW_LOST) the workflow runs whose process stopped renewing their lease (store.workflowLease: killed, or its machine lost), and names them on stderr. ' +
    'It deletes a batch of 1000 rows per statement, each in its own short transaction, so other twl processes keep working meanwhile; Ctrl-C stops after the batch in progress. ' +
    'Processes sharing the store take turns: when another one is pruning, this waits for it (a minute at most).';
  static override examples = ['<%= config.bin %> <%= command.id %> --dry-run', '<%= config.bin %> <%= command.id %>', 'TWL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test <%= config.bin %> <%= command.id %> --json'];
  static override flags = {
    'dry-run': Flags.boolean({ description: 'Count the rows past their retention, per table, and delete nothing.' }),
  };

  async run(): Promise<Result> {
    const { flags } = await this.parse(DbPrune);
    const runtime = await this.runtime();
    const store = await runtime.store();
    const { claimPass, countExpired, holderName, pruneClaimed, retainedTables } = await import('../../src/store/retention.js');
    const settings = runtime.config.store;
    let rows: Record<string, number>;
    let complete = true;
    if (flags['dry-run']) rows = await countExpired(store, settings);
    else {
      const holder = holderName('twl db prune');
      const started = Date.now();
      for (let told = false; ; ) {
        const claim = await claimPass(store, holder, true);
        if (claim === true) break;
        if (Date.now() - started > WAIT_MS) {
          throw new TwlError('TWL_STORE_BUSY', `Another twl process is pruning the store (${claim.holder ?? 'unknown'}, its claim runs until ${claim.heldUntil ?? 'soon'}); waited ${WAIT_MS / 1000} s.`, {
            actions: ['Run `twl db prune` again in a minute: a claim whose process died runs out by itself.'],
          });
        }
        if (!told) this.logToStderr(`waiting for ${claim.holder ?? 'another twl process'}, which is pruning the store…`);
        told = true;
        await sleep(250);
      }
      const stop = new AbortController();
      const onSigint = () => {
        if (stop.signal.aborted) process.exit(130);
        process.stderr.write('\nInterrupted: stopping after the batch in progress (Ctrl-C again to force)…\n');
        stop.abort();
      };
      process.on('SIGINT', onSigint);
      try {
        const pass = await pruneClaimed(store, settings, { holder, signal: stop.signal });
        for (const l of pass.lost ?? []) this.logToStderr(`workflow run #${l.run} (${l.workflow}) marked failed: its process (${l.owner ?? 'unknown'}) stopped renewing its lease (store.workflowLease)`);
        rows = pass.deleted;
        complete = pass.complete;
      } finally {
        process.off('SIGINT', onSigint);
      }
    }
    const tables = retainedTables.map(({ table, setting }) => ({ table, setting: `store.${setting}`, retentionMs: settings[setting], rows: rows[table] ?? 0 }));
    const total = tables.reduce((sum, t) => sum + t.rows, 0);
    this.log(table(['table', 'retention', flags['dry-run'] ? 'past it' : 'deleted'], tables.map((t) => [t.table, `${spell(t.retentionMs)} (${t.setting})`, t.rows])));
    this.log(
      flags['dry-run']
        ? total
          ? `\n${total} row${total === 1 ? '' : 's'} past their retention: \`twl db prune\` deletes them (rows still referred to by a kept row stay until it goes).`
          : '\nNothing is past its retention.'
        : `\nDeleted ${total} row${total === 1 ? '' : 's'}${complete ? '.' : ', then stopped: run it again to go on.'}`,
    );
    return { dryRun: Boolean(flags['dry-run']), backend: store.backend, location: store.location, tables, total, complete };
  }
}
