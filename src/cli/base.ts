import { Command, Flags, type Interfaces } from '@oclif/core';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { stripVTControlCharacters } from 'node:util';
import { loadConfig } from '../runtime/config.js';
import { Runtime, type RuntimeOptions } from '../runtime/context.js';
import { ExitCode, TwlError, isTwlError, messageOf } from '../runtime/errors.js';
import { createLogger } from '../runtime/logger.js';
import { redactDeep, redactText } from '../runtime/redact.js';
import { statusMark } from './render.js';
import { invoke, parseInput } from '../ops/invoke.js';
import type { AnyOp, OutputOf } from '../ops/op.js';
import type { Progress } from '../runtime/context.js';
import { lazyCatalog } from '../tools/index.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof TwlCommand)['baseFlags'] & T['flags']>;

/**
 * What every twl command shares: --json with one envelope for success and error, coded
 * errors with exit codes and suggested actions, warnings, logging flags, and the runtime
 * (config, store, cache) opened lazily and closed at the end.
 */
export abstract class TwlCommand<T> extends Command {
  static override enableJsonFlag = true;
  static override baseFlags = {
    verbose: Flags.boolean({ description: 'Log debug detail to stderr.', helpGroup: 'GLOBAL', exclusive: ['quiet'] }),
    quiet: Flags.boolean({ description: 'Log only errors to stderr.', helpGroup: 'GLOBAL' }),
  };

  protected readonly warnings: string[] = [];
  private runtimeP?: Promise<Runtime>;

  /** Options for the runtime: long-running commands host the embedded store. */
  protected runtimeOptions(): RuntimeOptions {
    return { role: `twl ${this.id?.replaceAll(':', ' ') ?? ''}`.trim(), hostBin: path.join(this.config.root, 'bin', 'run.js'), actor: `cli:${process.env.USER ?? process.env.USERNAME ?? 'user'}`, ops: coreOpsOnce, tools: (runtime) => lazyCatalog(runtime, coreOpsOnce) };
  }

  private logLevel(): string | undefined {
    if (this.argv.includes('--verbose')) return 'debug';
    if (this.argv.includes('--quiet')) return 'error';
    return undefined;
  }

  /** Loads and validates the configuration (failing with the file, key and expectation) and opens nothing yet. */
  protected runtime(): Promise<Runtime> {
    this.runtimeP ??= (async () => {
      const loaded = await loadConfig();
      const logger = createLogger(this.logLevel() ?? loaded.config.log.level, {});
      return new Runtime(loaded, logger, this.runtimeOptions());
    })();
    return this.runtimeP;
  }

  /** A warning: on stderr for people, in the envelope for --json. */
  protected note(message: string): void {
    this.warnings.push(message);
    if (!this.jsonEnabled()) process.stderr.write(`Warning: ${message}\n`);
  }

  /**
   * oclif colours JSON with a regular expression per string token, which overflows the stack on
   * a string of a few MB (RangeError: Maximum call stack size exceeded): results can hold such
   * values (a query's rows, a log), so JSON goes out plain unless it is small and for a terminal.
   */
  override logJson(json: unknown): void {
    const text = JSON.stringify(json, null, 2);
    if (process.stdout.isTTY && text.length < 65_536) return super.logJson(json);
    process.stdout.write(`${text}\n`);
  }

  protected override toSuccessJson(result: unknown): unknown {
    return { status: Number(process.exitCode ?? 0), result, warnings: this.warnings };
  }

  protected override toErrorJson(err: unknown): unknown {
    return { status: Number(process.exitCode ?? 1), error: errorBody(err), warnings: this.warnings };
  }

  /** --json given, and the command knows it, or not (a parse error still answers with the envelope the caller asked for). */
  protected wantsJson(): boolean {
    if (this.jsonEnabled()) return true;
    const end = this.argv.indexOf('--');
    return (end === -1 ? this.argv : this.argv.slice(0, end)).includes('--json');
  }

  protected override async catch(err: Error & { oclif?: { exit?: number }; code?: unknown }): Promise<unknown> {
    // this.exit(n) is not an error to report.
    if (err.code === 'EEXIT') throw err;
    const coded = codedError(err, `${this.config.bin} ${this.id?.replaceAll(':', ' ') ?? ''}`.trim(), (this.constructor as typeof Command).enableJsonFlag);
    process.exitCode = isTwlError(coded) ? coded.exitCode : ExitCode.failure;
    if (this.wantsJson()) {
      this.logJson(this.toErrorJson(coded));
      return;
    }
    writeError(coded);
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    if (this.runtimeP) await (await this.runtimeP.catch(() => undefined))?.close();
    return super.finally(err);
  }

  abstract override run(): Promise<T>;
}

let registry: Promise<Map<string, AnyOp>> | undefined;
/** The core op registry, loaded once and only by the commands whose agents run ops by name. */
export const coreOpsOnce = () => (registry ??= import('../ops/registry.js').then((m) => m.coreOps()));

/**
 * Anything thrown, as a coded error where one applies: oclif's parse errors (an unknown flag, a
 * value outside the options, a missing argument) become TWL_INPUT_INVALID with exit 2, so they
 * get the same envelope, exit code and suggested action as every other bad input.
 */
export function codedError(err: unknown, command: string, hasJsonFlag = true): unknown {
  if (isTwlError(err)) return err;
  const oclif = (err as { oclif?: { exit?: number } }).oclif;
  if (!oclif || oclif.exit !== ExitCode.usage) return err;
  const message = stripVTControlCharacters(messageOf(err)).replace(/\nSee more help with --help$/, '').trim().replace(/\s*\n\s*/g, ': ');
  const help = `Run \`${command} --help\` to see its flags and examples.`;
  if (!hasJsonFlag && /^Nonexistent flags?: --json\b/.test(message)) {
    return new TwlError('TWL_INPUT_INVALID', `\`${command}\` has no --json output.`, { actions: [help], cause: err });
  }
  return new TwlError('TWL_INPUT_INVALID', message, { actions: [help], cause: err });
}

/** An error for people, on stderr: `Error (CODE): message` and the suggested actions. */
export function writeError(err: unknown): void {
  const body = errorBody(err);
  const actions = (body.actions as string[] | undefined) ?? [];
  process.stderr.write(`Error (${body.code}): ${body.message}\n${actions.map((a) => `  Try: ${a}\n`).join('')}`);
  if (!isTwlError(err) && process.env.TWL_DEBUG) process.stderr.write(`${(err as Error).stack ?? ''}\n`);
}

/** The error envelope of --json, for failures outside a command (an unknown command). */
export const errorEnvelope = (err: unknown): Record<string, unknown> => ({ status: isTwlError(err) ? err.exitCode : ExitCode.failure, error: errorBody(err), warnings: [] });

/** The error part of the envelope, with secrets hidden. */
export function errorBody(err: unknown): Record<string, unknown> {
  if (isTwlError(err)) return redactDeep(err.toJSON()); // messages, actions and details alike
  const code = (err as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'TWL_UNEXPECTED', message: redactText(messageOf(err)), exitCode: ExitCode.failure, actions: ['Run again with --verbose, and report it if it persists.'] };
}

/** A yes/no question on the terminal (stderr), `y` or `yes` meaning yes; a Ctrl-C at the prompt rejects. */
export async function askOnTerminal(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Settles as `work` does, or rejects with the signal's reason once it aborts first (the work is then left to settle alone). */
export function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = () => reject(signal.reason);
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    work.then(
      (value) => (signal.removeEventListener('abort', stop), resolve(value)),
      (err: unknown) => (signal.removeEventListener('abort', stop), reject(err)),
    );
  });
}

/** A command that is a thin adapter over one op: flags/args → input, op, rendering. */
export abstract class OpCommand<O extends AnyOp> extends TwlCommand<OutputOf<O>> {
  /** The op this command runs; `twl serve` exposes it as an MCP tool. */
  static op: AnyOp;

  static override baseFlags = {
    ...TwlCommand.baseFlags,
    yes: Flags.boolean({ char: 'y', description: 'Approve steps that need approval without asking (for scripts).', helpGroup: 'GLOBAL' }),
  };

  /** Maps the parsed flags and arguments to the op's input. */
  protected abstract input(): Promise<Record<string, unknown>>;

  /** Renders the result for people (not called under --json). */
  protected abstract render(result: OutputOf<O>): void;

  async run(): Promise<OutputOf<O>> {
    const result = await this.execute();
    if (!this.jsonEnabled()) this.render(result);
    return result;
  }

  /**
   * Parses, validates and runs the op (no rendering). Ctrl-C is the command's from the start, not
   * only once the op runs: one while the input is read (stdin for `-`; the store, opened to find
   * `last`) or the configuration loads ends the command there with TWL_INTERRUPTED (130), the op
   * never started, so nothing is recorded, and what was being opened is closed once open (finally).
   * Node's default would have ended the process at once, the store half-open.
   */
  protected async execute(): Promise<OutputOf<O>> {
    const op = (this.constructor as unknown as { op: O }).op;
    const controller = (this.controller = new AbortController());
    const onSigint = () => this.interrupt();
    process.on('SIGINT', onSigint);
    try {
      const raw = await unlessAborted(this.input(), controller.signal);
      parseInput(op, raw); // bad input fails before the configuration or the store are touched
      const runtime = await unlessAborted(this.runtime(), controller.signal);
      this.opStarted = true;
      return await invoke(op, runtime, raw, {
        signal: controller.signal,
        warn: (message) => this.note(message),
        ask: (question) => this.ask(question),
        progress: (update) => this.onProgress(update),
      });
    } finally {
      process.off('SIGINT', onSigint);
    }
  }

  private controller?: AbortController;
  private opStarted = false;

  /**
   * Ctrl-C: the first asks the op to stop (its signal aborts) and record where it stopped; a second
   * one, or an op that does not stop within 8 s, ends the process with the conventional 130. A prompt
   * holding the terminal (Ctrl-C then reaches it as a key, not a signal) calls this too.
   */
  protected interrupt(): void {
    const controller = this.controller;
    if (!controller || controller.signal.aborted) process.exit(130);
    process.stderr.write('\nInterrupted: stopping (Ctrl-C again to force)…\n');
    controller.abort(new TwlError('TWL_INTERRUPTED', 'Interrupted.'));
    // Before the op: a read of the input left pending (stdin for `-`) must not keep the process from ending.
    if (!this.opStarted) (process.stdin as { unref?: () => void }).unref?.();
    this.forceExit = setTimeout(() => process.exit(130), 8000).unref();
  }

  /** The 8 s bound of an interruption (a test that interrupts a command in its own process clears it). */
  protected forceExit?: NodeJS.Timeout;

  /** Whether an error is a prompt given up with Ctrl-C (readline's AbortError, inquirer's ExitPromptError). */
  protected static isPromptInterrupt(err: unknown): boolean {
    const e = err as { code?: unknown; name?: unknown };
    return e?.code === 'ABORT_ERR' || e?.name === 'AbortError' || e?.name === 'ExitPromptError' || e?.name === 'AbortPromptError';
  }

  /** --yes approves; a terminal gets a prompt; otherwise nobody can answer (undefined). Ctrl-C at the prompt interrupts the op. */
  protected async ask(question: string): Promise<boolean | undefined> {
    if (this.argv.includes('--yes') || this.argv.includes('-y')) return true;
    if (!process.stdin.isTTY || !process.stderr.isTTY || this.jsonEnabled()) return undefined;
    try {
      return await askOnTerminal(question);
    } catch (err) {
      if (!OpCommand.isPromptInterrupt(err)) throw err;
      this.interrupt();
      return undefined;
    }
  }

  /** Progress for people, on stderr; --json runs stay quiet (the result holds the steps). */
  protected onProgress(update: Progress): void {
    if (this.jsonEnabled() || this.argv.includes('--quiet')) return;
    const mark = statusMark[update.status ?? 'running'];
    const count = update.total ? `[${(update.done ?? 0) + (update.status === 'running' ? 1 : 0)}/${update.total}] ` : '';
    process.stderr.write(`${mark} ${count}${update.message}\n`);
  }
}
