import { Flags } from '@oclif/core';
import { OpCommand } from '../../src/cli/base.js';
import { taskLine } from '../../src/cli/tasks.js';
import type { OutputOf } from '../../src/ops/op.js';
import op from '../../src/ops/task/create.js';
import { TwlError } from '../../src/runtime/errors.js';

export default class TaskCreate extends OpCommand<typeof op> {
  static override op = op;
  static override summary = 'Create a task: a tool to call or an agent to run, now, at a time, or on a cron schedule.';
  static override description = `${op.description}\n\n\`twl worker\` processes (or \`twl serve --worker\`) run the tasks; follow one with \`twl task logs ID --follow\`.`;
  static override examples = [
    `<%= config.bin %> <%= command.id %> --tool sentiment-analyzer_analyze_sentiment --input '{"text":"the disk is full again"}' --now`,
    `<%= config.bin %> <%= command.id %> --tool database_db_health --cron "*/5 * * * *" --name health-every-5m`,
    `<%= config.bin %> <%= command.id %> --tool cache_cache_stats --cron "0 9 * * 1-5" --tz Europe/Paris --retries 3 --timeout 2m`,
    `<%= config.bin %> <%= command.id %> --agent ops-lead --prompt "Check the services and report" --cron "0 7 * * *"`,
    `<%= config.bin %> <%= command.id %> --tool database_execute_query --input '{"sql":"select count(*) from twl_tickets"}' --at 2026-12-24T18:00:00Z --json`,
  ];
  static override flags = {
    tool: Flags.string({ description: 'The tool to call, by its MCP name.', exclusive: ['agent', 'workflow'] }),
    input: Flags.string({ description: 'The tool\'s input, a JSON object.', dependsOn: ['tool'] }),
    agent: Flags.string({ description: 'An agent to run on --prompt (`twl agent list`).', exclusive: ['tool', 'workflow'], dependsOn: ['prompt'] }),
    prompt: Flags.string({ description: 'The agent\'s prompt (with --agent).' }),
    workflow: Flags.string({ description: 'A workflow to run (not available yet).', exclusive: ['tool', 'agent'] }),
    now: Flags.boolean({ description: 'Run now.', exclusive: ['at', 'cron'] }),
    at: Flags.string({ description: 'Run once at this time: ISO 8601 with Z or an offset.', exclusive: ['now', 'cron'] }),
    cron: Flags.string({ description: 'Run on this cron schedule (five fields).', exclusive: ['now', 'at'] }),
    tz: Flags.string({ description: 'The time zone of --cron (IANA name; default UTC).' }),
    name: Flags.string({ description: 'A name to recognise it by.' }),
    queue: Flags.string({ description: 'The queue its runs go to (`twl worker --queues`).', default: 'default' }),
    retries: Flags.integer({ description: 'Retries of a failed run, with exponential backoff (default tasks.retries).', min: 0, max: 100 }),
    timeout: Flags.string({ description: 'How long one run may take, e.g. 30s, 5m (default tasks.timeout).' }),
    draft: Flags.boolean({ description: 'Keep it as a draft, out of the queue, until `twl task resume`.' }),
  };

  protected async input() {
    const { flags } = await this.parse(TaskCreate);
    let input: unknown = {};
    if (flags.input !== undefined) {
      try {
        input = JSON.parse(flags.input);
      } catch (err) {
        throw new TwlError('TWL_INPUT_INVALID', `--input is not JSON: ${(err as Error).message}.`, { actions: [`Quote a JSON object, e.g. --input '{"text":"hello"}'.`] });
      }
      if (!input || typeof input !== 'object' || Array.isArray(input)) throw new TwlError('TWL_INPUT_INVALID', '--input must be a JSON object (the tool\'s arguments by name).', { actions: [`e.g. --input '{"text":"hello"}'.`] });
    }
    return {
      tool: flags.tool,
      input,
      agent: flags.agent,
      prompt: flags.prompt,
      workflow: flags.workflow,
      now: flags.now || undefined,
      at: flags.at,
      cron: flags.cron,
      tz: flags.tz,
      name: flags.name,
      queue: flags.queue,
      retries: flags.retries,
      timeout: flags.timeout,
      draft: flags.draft,
    };
  }

  protected render(r: OutputOf<typeof op>): void {
    this.log(taskLine(r.task));
    if (r.task.status === 'waiting_approval') this.log(`Approve it with: twl task approve ${r.task.id}`);
  }
}
