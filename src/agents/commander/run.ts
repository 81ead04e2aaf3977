import { createHash } from 'node:crypto';
import { mkdirSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { secretName } from '../../runtime/config.js';
import type { OpContext } from '../../runtime/context.js';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { SYSTEM_PATH, decide, resolveProgram, type Verdict } from './policy.js';

export interface CommandRequest {
  argv: string[];
  cwd?: string;
  timeoutMs?: number;
  dryRun?: boolean;
  ticketId?: number;
}

export interface CommandResult {
  program: string;
  args: string[];
  resolved: string | null;
  cwd: string;
  decision: Verdict['decision'];
  rule: string;
  reason: string;
  approved: boolean | null;
  outcome: 'ran' | 'refused' | 'dry-run' | 'failed' | 'timeout' | 'cancelled';
  exitCode: number | null;
  durationMs: number;
  stdout: string;
  stderr: string;
  truncated: boolean;
  auditId: number;
}

/** The working directory, which must be (below) one of the allowed ones. The data directory, the default, is created when missing. */
function allowedCwd(ctx: OpContext, cwd: string | undefined): string {
  const roots = (ctx.config.commander.cwd.length ? ctx.config.commander.cwd : [ctx.runtime.loaded.home]).map((d) => path.resolve(d));
  if (!ctx.config.commander.cwd.length) mkdirSync(roots[0]!, { recursive: true, mode: 0o700 });
  const wanted = path.resolve(cwd ?? roots[0]!);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw new TwlError('TWL_PATH_NOT_FOUND', `The working directory ${wanted} does not exist.`);
  }
  const inside = roots.some((root) => {
    let r: string;
    try {
      r = realpathSync(root);
    } catch {
      return false;
    }
    return real === r || real.startsWith(`${r}${path.sep}`);
  });
  if (!inside) throw new TwlError('TWL_POLICY_DENIED', `Commands may not run in ${wanted}${real !== wanted ? ` (${real})` : ''}: commander.cwd allows ${roots.join(', ')}.`);
  return real;
}

/**
 * The child's environment: the variables commander.env names, with twl's own values, never a
 * secret-looking one (defence in depth: the configuration refuses them too), and PATH the
 * system directories. A caller cannot set any.
 */
const environment = (names: string[]): Record<string, string> => ({
  ...Object.fromEntries(names.flatMap((n) => (process.env[n] === undefined || secretName(n) || n === 'PATH' ? [] : [[n, process.env[n]!]]))),
  PATH: SYSTEM_PATH,
});

/** A lone UTF-16 surrogate: no UTF-8 spelling, so neither PostgreSQL nor an exec'd program can receive it. */
const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** What cannot be stored in the audit log or passed to a program: NUL bytes and lone surrogates. */
const unstorable = (s: string) => s.includes('\0') || new RegExp(loneSurrogate.source).test(s);
/** A storable stand-in for the audit row: each offending character becomes U+FFFD. */
const storable = (s: string) => s.replace(loneSurrogate, '\uFFFD').replaceAll('\0', '\uFFFD');

type AuditRow = Pick<CommandResult, 'program' | 'args' | 'cwd' | 'decision' | 'rule' | 'approved' | 'exitCode' | 'durationMs'> & { outcome: CommandResult['outcome'] | 'started'; resolved: string | null; digest: string | null; ticketId?: number };

async function audit(ctx: OpContext, row: AuditRow): Promise<number> {
  const store = await ctx.store();
  const { rows } = await store.query<{ id: string }>(
    `INSERT INTO twl_audit (actor, program, args, cwd, decision, approved, rule, outcome, exit_code, duration_ms, output_sha256, ticket_id, resolved)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
    [ctx.actor, storable(row.program), JSON.stringify(row.args.map(storable)), storable(row.cwd), row.decision, row.approved, row.rule, row.outcome, row.exitCode, row.durationMs, row.digest, row.ticketId ?? null, row.resolved],
  );
  return Number(rows[0]!.id);
}

/** Completes the row written before the program started (the only update the table admits). */
async function complete(ctx: OpContext, id: number, row: Pick<CommandResult, 'outcome' | 'exitCode' | 'durationMs'> & { digest: string }): Promise<void> {
  const store = await ctx.store();
  await store.query(`UPDATE twl_audit SET outcome = $2, exit_code = $3, duration_ms = $4, output_sha256 = $5 WHERE id = $1 AND outcome = 'started'`, [id, row.outcome, row.exitCode, row.durationMs, row.digest]);
}

/** Audits a refusal that came before the policy could decide (input, working directory), then throws it. */
async function refuseEarly(ctx: OpContext, req: CommandRequest, rule: string, err: TwlError): Promise<never> {
  const [program = '', ...args] = req.argv;
  const auditId = await audit(ctx, { program, args, cwd: req.cwd ?? '', resolved: null, decision: 'deny', rule, approved: null, outcome: 'refused', exitCode: null, durationMs: 0, digest: null, ticketId: req.ticketId });
  throw new TwlError(err.code, `${err.message} Nothing ran (audit #${auditId}).`, { actions: err.actions, cause: err });
}

/**
 * Runs one command under the policy: never through a shell (arguments are passed as they
 * are), in an allowed directory, with only the allowed environment, in its own process group
 * so a timeout kills the whole tree, with output capped. Every decision is audited, and a
 * command that runs has its row written before it starts: no row, no run.
 */
export async function runCommand(ctx: OpContext, req: CommandRequest): Promise<CommandResult> {
  const [program, ...args] = req.argv;
  if (!program) throw new TwlError('TWL_INPUT_INVALID', 'No command given: expected a program and its arguments.');
  const cfg = ctx.config.commander;
  const badIndex = [...req.argv, req.cwd ?? ''].findIndex(unstorable);
  if (badIndex >= 0) {
    const what = badIndex === 0 ? 'The program name' : badIndex === req.argv.length ? 'The working directory' : `Argument ${badIndex}`;
    await refuseEarly(ctx, req, 'commander.input', new TwlError('TWL_INPUT_INVALID', `${what} contains a NUL byte or a lone UTF-16 surrogate, which no program can receive and the audit log cannot store.`, { actions: ['Send the text as valid UTF-8 without NUL bytes.'] }));
  }
  let cwd: string;
  try {
    cwd = allowedCwd(ctx, req.cwd);
  } catch (err) {
    if (err instanceof TwlError) return refuseEarly(ctx, req, 'commander.cwd', err);
    throw err;
  }
  const env = environment(cfg.env);
  const resolved = resolveProgram(program, cwd);
  const verdict = decide(cfg, program, args, resolved, cwd);
  const base = { program, args, cwd, decision: verdict.decision, rule: verdict.rule, resolved: resolved ?? null, reason: verdict.reason };
  const refuse = async (approved: boolean | null = null) => audit(ctx, { ...base, approved, outcome: 'refused', exitCode: null, durationMs: 0, digest: null, ticketId: req.ticketId });

  if (verdict.decision === 'deny') throw new TwlError('TWL_POLICY_DENIED', `Refused by ${verdict.rule}: ${verdict.reason}. Nothing ran (audit #${await refuse()}).`);
  if (!resolved) {
    const where = program.includes('/') ? `at ${path.resolve(cwd, program)}` : `in the system directories (${SYSTEM_PATH})`;
    throw new TwlError('TWL_PATH_NOT_FOUND', `No program "${program}" ${where} (audit #${await refuse()}).`, { actions: program.includes('/') ? [] : ['A program elsewhere runs only by its absolute path, under a rule that names that path.'] });
  }
  const empty = { approved: null, exitCode: null, durationMs: 0, stdout: '', stderr: '', truncated: false };
  if (req.dryRun) {
    const auditId = await audit(ctx, { ...base, ...empty, outcome: 'dry-run', digest: null, ticketId: req.ticketId });
    return { ...base, ...empty, outcome: 'dry-run', auditId };
  }
  let approved: boolean | null = null;
  if (verdict.decision === 'ask') {
    approved = (await ctx.ask(`Run ${[resolved, ...args].map((a) => JSON.stringify(a)).join(' ')} in ${cwd} (${verdict.reason})?`)) ?? false;
    if (!approved) throw new TwlError('TWL_APPROVAL_REQUIRED', `${program} (${resolved}) needs approval (${verdict.reason}) and none was given. Nothing ran (audit #${await refuse(false)}).`);
  }
  // Fail closed: if this row cannot be written, the program does not start.
  const auditId = await audit(ctx, { ...base, approved, outcome: 'started', exitCode: null, durationMs: 0, digest: null, ticketId: req.ticketId });

  const { execa } = await import('execa');
  const timeoutMs = Math.min(req.timeoutMs ?? cfg.timeout, cfg.timeout);
  const cap = cfg.maxOutput;
  const out = { stdout: [] as Buffer[], stderr: [] as Buffer[], kept: { stdout: 0, stderr: 0 }, truncated: false };
  const hash = createHash('sha256');
  const started = performance.now();
  // shell: false is execa's default; stated here because it is the point.
  const child = execa(resolved, args, { shell: false, cwd, env, extendEnv: false, detached: true, stdin: 'ignore', buffer: false, reject: false, cleanup: true });
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]?.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      const room = cap - out.kept[stream];
      if (room <= 0) return void (out.truncated = true);
      const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (part.length < chunk.length) out.truncated = true;
      out[stream].push(part);
      out.kept[stream] += part.length;
    });
  }
  let outcome: CommandResult['outcome'] = 'ran';
  const killTree = (why: CommandResult['outcome']) => {
    outcome = why;
    try {
      process.kill(-child.pid!, 'SIGTERM');
      setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, 1500).unref();
    } catch {
      // already gone
    }
  };
  const timer = setTimeout(() => killTree('timeout'), timeoutMs);
  const onAbort = () => killTree('cancelled');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  let result: Awaited<typeof child>;
  try {
    result = await child;
  } catch (err) {
    await complete(ctx, auditId, { outcome: 'failed', exitCode: null, durationMs: 0, digest: hash.digest('hex') }).catch(() => undefined);
    throw new TwlError('TWL_COMMAND_FAILED', `${program} could not run: ${messageOf(err)} (audit #${auditId}).`, { cause: err });
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  const exitCode = result.exitCode ?? null;
  if (outcome === 'ran' && exitCode !== 0) outcome = 'failed';
  const digest = hash.digest('hex');
  try {
    await complete(ctx, auditId, { outcome, exitCode, durationMs, digest });
  } catch (err) {
    // The row written before the start stands (outcome started); the result is still the caller's.
    ctx.logger.error({ err: messageOf(err), auditId }, 'could not complete the audit row of a command that ran');
    ctx.warn(`The command ran, but its audit row #${auditId} could not be completed (it says started): ${messageOf(err)}`);
  }
  return {
    ...base,
    approved,
    outcome,
    exitCode,
    durationMs,
    stdout: Buffer.concat(out.stdout).toString('utf8'),
    stderr: Buffer.concat(out.stderr).toString('utf8'),
    truncated: out.truncated,
    auditId,
  };
}
