import { createHash } from 'node:crypto';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import type { OpContext } from '../../runtime/context.js';
import { TwlError, messageOf } from '../../runtime/errors.js';
import { decide, type Verdict } from './policy.js';

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

/** Finds a program the way execvp would, on the PATH twl passes through; undefined when there is none. */
export function resolveProgram(program: string, searchPath: string, cwd: string): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (program.includes('/')) {
    const file = path.resolve(cwd, program);
    return executable(file) ? file : undefined;
  }
  for (const dir of searchPath.split(':').filter(Boolean)) {
    const file = path.join(dir, program);
    if (executable(file)) return file;
  }
  return undefined;
}

/** The working directory, which must be (below) one of the allowed ones. */
function allowedCwd(ctx: OpContext, cwd: string | undefined): string {
  const roots = (ctx.config.commander.cwd.length ? ctx.config.commander.cwd : [ctx.runtime.loaded.home]).map((d) => path.resolve(d));
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
  if (!inside) throw new TwlError('TWL_POLICY_DENIED', `Commands may not run in ${wanted}: commander.cwd allows ${roots.join(', ')}.`);
  return real;
}

/** Only the variables commander.env names pass through, with twl's own values: a caller cannot set any. */
const environment = (names: string[]): Record<string, string> => Object.fromEntries(names.flatMap((n) => (process.env[n] === undefined ? [] : [[n, process.env[n]!]])));

async function audit(ctx: OpContext, row: Omit<CommandResult, 'auditId' | 'stdout' | 'stderr' | 'truncated' | 'reason' | 'resolved'> & { digest: string | null; ticketId?: number }): Promise<number> {
  const store = await ctx.store();
  const { rows } = await store.query<{ id: string }>(
    `INSERT INTO twl_audit (actor, program, args, cwd, decision, approved, rule, outcome, exit_code, duration_ms, output_sha256, ticket_id)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
    [ctx.actor, row.program, JSON.stringify(row.args), row.cwd, row.decision, row.approved, row.rule, row.outcome, row.exitCode, row.durationMs, row.digest, row.ticketId ?? null],
  );
  return Number(rows[0]!.id);
}

/**
 * Runs one command under the policy: never through a shell (arguments are passed as they
 * are), in an allowed directory, with only the allowed environment, in its own process group
 * so a timeout kills the whole tree, with output capped; every decision is audited.
 */
export async function runCommand(ctx: OpContext, req: CommandRequest): Promise<CommandResult> {
  const [program, ...args] = req.argv;
  if (!program) throw new TwlError('TWL_INPUT_INVALID', 'No command given: expected a program and its arguments.');
  const cfg = ctx.config.commander;
  const cwd = allowedCwd(ctx, req.cwd);
  const env = environment(cfg.env);
  const resolved = resolveProgram(program, env.PATH ?? '', cwd);
  const verdict = decide(cfg, program, args, resolved);
  const base = { program, args, cwd, decision: verdict.decision, rule: verdict.rule, ticketId: req.ticketId };
  const finish = async (partial: Partial<CommandResult> & Pick<CommandResult, 'outcome'>, digest: string | null = null): Promise<CommandResult> => {
    const result = { approved: null, exitCode: null, durationMs: 0, stdout: '', stderr: '', truncated: false, ...base, resolved: resolved ?? null, reason: verdict.reason, ...partial };
    const auditId = await audit(ctx, { ...result, digest, ticketId: req.ticketId });
    return { ...result, auditId };
  };

  if (verdict.decision === 'deny') {
    const r = await finish({ outcome: 'refused' });
    throw new TwlError('TWL_POLICY_DENIED', `Refused by ${verdict.rule}: ${verdict.reason}. Nothing ran (audit #${r.auditId}).`);
  }
  if (!resolved) {
    const r = await finish({ outcome: 'refused' });
    throw new TwlError('TWL_PATH_NOT_FOUND', `No program "${program}" on the PATH twl passes through (audit #${r.auditId}).`);
  }
  if (req.dryRun) return finish({ outcome: 'dry-run' });
  let approved: boolean | null = null;
  if (verdict.decision === 'ask') {
    approved = (await ctx.ask(`Run ${[program, ...args].map((a) => JSON.stringify(a)).join(' ')} in ${cwd} (${verdict.reason})?`)) ?? false;
    if (!approved) {
      const r = await finish({ outcome: 'refused', approved });
      throw new TwlError('TWL_APPROVAL_REQUIRED', `${program} needs approval (${verdict.reason}) and none was given. Nothing ran (audit #${r.auditId}).`);
    }
  }

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
    throw new TwlError('TWL_COMMAND_FAILED', `${program} could not run: ${messageOf(err)}`, { cause: err });
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', onAbort);
  }
  const durationMs = Math.round((performance.now() - started) * 10) / 10;
  const exitCode = result.exitCode ?? null;
  if (outcome === 'ran' && exitCode !== 0) outcome = 'failed';
  return finish(
    {
      outcome,
      approved,
      exitCode,
      durationMs,
      stdout: Buffer.concat(out.stdout).toString('utf8'),
      stderr: Buffer.concat(out.stderr).toString('utf8'),
      truncated: out.truncated,
    },
    hash.digest('hex'),
  );
}
