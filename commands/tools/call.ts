import { Args, Flags } from '@oclif/core';
import { askOnTerminal } from '../../src/cli/base.js';
import { CatalogCommand } from '../../src/cli/catalog-command.js';
import { jsonObjectInput } from '../../src/cli/io.js';
import { statusMark } from '../../src/cli/render.js';
import { TwlError } from '../../src/runtime/errors.js';
import { redactText } from '../../src/runtime/redact.js';
import type { ContentBlock, ToolResult } from '../../src/tools/types.js';

interface Result {
  tool: string;
  source: string;
  result: Record<string, unknown> | null;
  content: ContentBlock[];
}

const textOf = (content: ContentBlock[]): string =>
  content.map((c) => (c.type === 'text' && typeof c.text === 'string' ? c.text : JSON.stringify(c))).join('\n');

export default class ToolsCall extends CatalogCommand<Result> {
  static override summary = 'Call any tool by name (twl\'s own or an upstream\'s) with a JSON input, from a shell or cron.';
  static override description =
    'The call goes through the catalog\'s one path, as over MCP or REST: approval (a tool that changes things asks on a terminal; --yes approves in scripts), timeout, Ctrl-C, progress on stderr, and an audit row (twl_tool_calls: who, tool, source, a digest of the input, the decision and the outcome). ' +
    'A twl tool prints its result as JSON; an upstream tool prints its text content. A tool that answers with an error exits 1 (TWL_TOOL_ERROR).';
  static override examples = [
    '<%= config.bin %> <%= command.id %> cache_cache_get --input \'{"key":"greeting"}\'',
    '<%= config.bin %> <%= command.id %> ev_echo --input \'{"message":"hello"}\' --json',
    'echo \'{"message":"hi"}\' | <%= config.bin %> <%= command.id %> ev_echo --input -',
    '<%= config.bin %> <%= command.id %> ev_write_note --input \'{"text":"x"}\' --yes',
  ];
  static override args = { name: Args.string({ description: 'The tool\'s name, as `twl tools list` shows it.', required: true }) };
  static override flags = {
    input: Flags.string({ description: 'The input, a JSON object; - reads it from stdin.', default: '{}' }),
    yes: Flags.boolean({ char: 'y', description: 'Approve a tool that asks first, without asking (for scripts).' }),
    timeout: Flags.integer({ description: 'Give up after this many seconds (default: the tool\'s own timeout).', min: 1 }),
  };

  async run(): Promise<Result> {
    const { args, flags } = await this.parse(ToolsCall);
    const input = await jsonObjectInput(flags.input);
    const catalog = await this.catalog();
    const tool = await catalog.get(args.name);
    const runtime = await this.runtime();
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) process.exit(130);
      process.stderr.write('\nInterrupted: stopping (Ctrl-C again to force)…\n');
      controller.abort(new TwlError('TWL_INTERRUPTED', 'Interrupted.'));
    };
    process.on('SIGINT', onSigint);
    let result: ToolResult;
    try {
      result = await catalog.call(args.name, input, {
        face: 'cli',
        actor: runtime.actor ?? 'cli',
        signal: controller.signal,
        timeoutMs: flags.timeout ? flags.timeout * 1000 : undefined,
        approved: flags.yes,
        ask: (question) => this.askPerson(question),
        warn: (message) => this.note(message),
        progress: (update) => {
          if (!this.jsonEnabled() && !this.argv.includes('--quiet')) process.stderr.write(`${statusMark[update.status ?? 'running']} ${update.message}\n`);
        },
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
    if (result.isError) {
      throw new TwlError('TWL_TOOL_ERROR', `${args.name} answered with an error: ${redactText(textOf(result.content)).slice(0, 2000) || 'no detail'}`, { actions: [`Check the input against \`twl tools list --source ${tool?.source ?? 'upstream'} --json\`.`] });
    }
    if (!this.jsonEnabled()) {
      if (tool?.source === 'twl' || (result.structured && !result.content.length)) this.log(JSON.stringify(result.structured ?? null, null, 2));
      else this.log(textOf(result.content));
    }
    return { tool: args.name, source: tool?.source ?? 'unknown', result: result.structured ?? null, content: result.content };
  }

  /** --yes approves (handled by the catalog); a terminal gets a prompt; otherwise nobody can answer (undefined). */
  private async askPerson(question: string): Promise<boolean | undefined> {
    if (!process.stdin.isTTY || !process.stderr.isTTY || this.jsonEnabled()) return undefined;
    return askOnTerminal(question);
  }
}
