import { Args, Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { readStdin } from '../../src/cli/io.js';
import { statusMark } from '../../src/cli/render.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/workflow/run.js';
import { TwlError } from '../../src/runtime/errors.js';

/** Largest --input accepted (from stdin too). */
const MAX_INPUT_BYTES = 4 * 1024 * 1024;

const marks: Record<string, string> = { completed: statusMark.ok, failed: statusMark.failed, skipped: statusMark.skipped, stopped: statusMark.cancelled, cancelled: statusMark.cancelled, waiting_approval: statusMark.waiting, running: statusMark.running };

export default class WorkflowRun extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Run a workflow with a JSON input; every step is recorded (twl workflow show RUN).';
  static override description = `${op.description} Ctrl-C stops the running step and records where the run stopped.`;
  static override examples = [
    '<%= config.bin %> <%= command.id %> incident-fanout --input \'{"service":"api"}\'',
    'echo \'{"service":"api"}\' | <%= config.bin %> <%= command.id %> incident-fanout --input -',
    '<%= config.bin %> <%= command.id %> restart-service --input \'{"service":"api"}\' --yes --json',
  ];
  static override args = { name: Args.string({ description: 'The workflow\'s name (`twl workflow list`).', required: true }) };
  static override flags = { input: Flags.string({ description: 'The input, a JSON object; - reads it from stdin.', default: '{}' }) };

  protected async input() {
    const { args, flags } = await this.parse(WorkflowRun);
    const raw = flags.input === '-' ? await readStdin() : flags.input;
    if (Buffer.byteLength(raw) > MAX_INPUT_BYTES) throw new TwlError('TWL_INPUT_INVALID', `--input is larger than ${MAX_INPUT_BYTES} bytes.`);
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch (err) {
      throw new TwlError('TWL_INPUT_INVALID', `--input is not JSON (${(err as Error).message}).`, { actions: [`Pass a JSON object, e.g. --input '{"service":"api"}', or --input - to read it from stdin.`] });
    }
    if (!input || typeof input !== 'object' || Array.isArray(input)) throw new TwlError('TWL_INPUT_INVALID', `--input must be a JSON object, not ${Array.isArray(input) ? 'an array' : JSON.stringify(input)}.`, { actions: [`Pass a JSON object, e.g. --input '{"service":"api"}'.`] });
    return { name: args.name, input };
  }

  protected render(r: OutputOf<typeof op>): void {
    for (const s of r.steps) this.log(`${marks[s.status] ?? '?'} ${s.path.padEnd(24)} ${s.kind.padEnd(9)} ${s.status}${s.decision ? ` — ${s.decision}` : ''}${s.durationMs !== null ? ` (${Math.round(s.durationMs)} ms)` : ''}`);
    this.log(`Run ${r.run}: ${r.status}${r.message ? ` — ${r.message}` : ''}`);
    this.log(JSON.stringify(r.output, null, 2));
  }
}
