import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, constants, existsSync, openSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import auditOp from '../../src/ops/audit/list.js';
import execOp from '../../src/ops/exec/run.js';
import type { Runtime } from '../../src/runtime/context.js';
import { isRunning, tempHome, testRuntime } from '../helpers.js';
import { configBackends } from './backends.js';

const backends = configBackends();

for (const backend of backends) describe.skipIf(!backend.available)(`the commander (${backend.name} store)`, () => {
let home: string;
let cleanup: () => void;
let runtime: Runtime;
let canary: string;
/** Unique per run: audit rows on a shared PostgreSQL are told apart by actor. */
const actor = `test-commander-${randomUUID().slice(0, 8)}`;

beforeAll(() => {
  ({ home, cleanup } = tempHome('twl-commander-'));
  canary = path.join(home, 'CANARY');
  runtime = testRuntime(home, {
    ...backend.config,
    commander: {
      cwd: [home],
      rules: [
        { program: 'echo', decision: 'allow', reason: 'echo only prints' },
        { program: 'printenv', decision: 'allow' },
        { program: 'seq', decision: 'allow' },
        { program: 'sh', args: '^-c sleep 300 & echo \\$! > [\\w/.-]+; wait$', decision: 'allow', reason: 'the timeout test' },
        { program: 'rm', decision: 'deny', reason: 'never delete from here' },
        { program: 'cat', argv: { flags: [], positional: `${home.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/fifo-[a-z0-9]+`, maxPositionals: 1 }, decision: 'allow', reason: 'the audit tests' },
      ],
      maxOutput: 4096,
    },
  }, { actor });
});
afterAll(async () => {
  await runtime.close();
  cleanup();
});

/** This run's audit rows, newest first. */
const auditRows = async (limit = 1000) =>
  (await (await runtime.store()).query<{ id: string; program: string; resolved: string | null; args: string[]; cwd: string; decision: string; rule: string; outcome: string; exit_code: number | null }>(
    `SELECT * FROM twl_audit WHERE actor = $1 ORDER BY id DESC LIMIT ${limit}`,
    [actor],
  )).rows;
const run = (command: string | string[], ask?: () => Promise<boolean | undefined>) => invoke(execOp, runtime, { command }, { ask: ask ?? (async () => undefined) });

describe('the commander, against hostile input', () => {
  // Each tries to create the canary file. Either the policy refuses it, or a shell-less echo
  // prints it literally: after all of them, the canary must not exist.
  const corpus = (c: string): Array<string | string[]> => [
    `echo hi; touch ${c}`,
    `echo $(touch ${c})`,
    `echo \`touch ${c}\``,
    `echo hi && touch ${c}`,
    `echo hi || touch ${c}`,
    `echo hi | touch ${c}`,
    `echo hi > ${c}`,
    `echo hi >> ${c}`,
    `echo hi & touch ${c}`,
    `echo "$(touch ${c})"`,
    `echo '; touch ${c}'`,
    `touch ${c}`,
    `bash -c 'touch ${c}'`,
    `sh -c "touch ${c}"`,
    `/bin/sh -c "touch ${c}"`,
    `/usr/bin/touch ${c}`,
    `env touch ${c}`,
    `env -i bash -c 'touch ${c}'`,
    `FOO=bar touch ${c}`,
    `nohup touch ${c}`,
    `sudo touch ${c}`,
    `nice touch ${c}`,
    `timeout 5 touch ${c}`,
    `xargs -a /dev/null touch ${c}`,
    `find ${path.dirname(c)} -maxdepth 0 -exec touch ${c} ;`,
    `python3 -c "open('${c}','w')"`,
    `node -e "require('fs').writeFileSync('${c}','')"`,
    `perl -e "open(F,'>${c}')"`,
    `awk "BEGIN{system(\\"touch ${c}\\")}"`,
    `../../../../usr/bin/touch ${c}`,
    `busybox touch ${c}`,
    `ping -c 1 localhost;touch ${c}`,
    ['echo', `$(touch ${c})`],
    ['echo', `\`touch ${c}\``],
    ['echo', `\ntouch ${c}`],
    [`touch ${c}`],
    [`echo;touch`, c],
    ['df', '-h', ';', 'touch', c],
    ['ping', '-c', '1', `localhost;touch ${c}`],
    ['systemctl', 'status', `nginx; touch ${c}`],
    ['docker', 'run', '--rm', 'alpine', 'touch', c],
    ['kubectl', 'exec', 'pod', '--', 'touch', c],
    ['journalctl', `--output-fields=$(touch ${c})`],
    ['ip', 'link', 'set', 'lo', 'down'],
    ['/bin/rm', '-f', c],
    ['rm', '-f', c],
    ['git', 'config', 'core.pager', `touch ${c}`],
    // Built-ins in shapes that write, read files or run elsewhere: option abbreviations, clusters, -- and = forms.
    ['ss', '-D', c], ['ss', `-D${c}`], ['ss', `--diag=${c}`], ['ss', `--dia=${c}`], ['ss', '--diag', c], ['ss', '-tnD', c], ['ss', '--', '-D', c],
    ['date', '--fi', c], ['date', `--reference=${c}`], ['ip', '-ba', c], ['ip', '-batch', c], ['hostname', '--file', c],
    ['kubectl', 'cluster-info', 'dump', `--output-directory=${c}`], ['kubectl', 'cluster-info', 'dump', `--output-d=${c}`], ['journalctl', `--output-fields=x`, '-u', 'x'],
    ['systemctl', 'status', '-H', 'root@localhost'], ['docker', '--config', path.dirname(c), 'ps'], ['ps', 'axeww'], ['ps', 'e'],
    // Programs that run others, argument files, assignments, look-alikes, traversal.
    ['nice', '-n', '5', 'touch', c], ['timeout', '5', 'touch', c], ['xargs', '-I{}', 'touch', c], ['watch', 'touch', c], ['env', '-S', `touch ${c}`], ['stdbuf', '-o0', 'touch', c],
    ['find', path.dirname(c), '-maxdepth', '0', '-execdir', 'touch', c, ';'], ['find', path.dirname(c), '-fprint', c], ['setsid', 'touch', c],
    [`@${c}`], ['echo', `@${c}`], ['PATH=/tmp', 'touch', c], ['LD_PRELOAD=/x.so', 'echo'], ['TOUCH', c], ['t\u043euch', c], ['touch\u200b', c], ['\uff54ouch', c],
    ['/usr/bin/../bin/touch', c], ['./../../../../usr/bin/touch', c], ['//usr//bin//touch', c], ['/usr/bin/touch/', c],
  ];

  it(`runs nothing outside the policy (${corpus('X').length} hostile inputs)`, async () => {
    expect(corpus('X').length).toBeGreaterThanOrEqual(85);
    const outcomes: string[] = [];
    for (const command of corpus(canary)) {
      try {
        const r = await run(command);
        // Only programs the policy allows may have run.
        expect(r.decision, JSON.stringify(command)).toBe('allow');
        expect(['echo', 'df', 'ping', 'systemctl', 'journalctl', 'ip']).toContain(path.basename(r.program));
        outcomes.push(`${r.program}:${r.outcome}`);
      } catch (err) {
        expect((err as { code: string }).code, JSON.stringify(command)).toMatch(/TWL_(APPROVAL_REQUIRED|POLICY_DENIED|PATH_NOT_FOUND)/);
        outcomes.push('refused');
      }
      expect(existsSync(canary), `the canary exists after ${JSON.stringify(command)}`).toBe(false);
    }
    expect(outcomes.filter((o) => o === 'refused').length).toBeGreaterThan(70);
    // Every attempt is in the audit log, and nothing refused has an exit code.
    const entries = await auditRows();
    expect(entries.length).toBeGreaterThanOrEqual(corpus('X').length);
    for (const e of entries.filter((e) => e.outcome === 'refused')) expect(e.exit_code).toBeNull();
  });

  it('passes shell syntax to an allowed program literally', async () => {
    const r = await run(['echo', '$(whoami)', '`id`', ';', '&&', '>', 'file']);
    expect(r.stdout).toBe('$(whoami) `id` ; && > file\n');
    expect(r.outcome).toBe('ran');
  });

  it('refuses a program that only looks like an allowed one (a symlink outside the system directories)', async () => {
    const dir = path.join(home, 'fake-bin');
    mkdirSync(dir, { recursive: true });
    symlinkSync('/usr/bin/touch', path.join(dir, 'df'));
    await expect(run([path.join(dir, 'df'), canary])).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
    expect(existsSync(canary)).toBe(false);
  });

  it('denies what a deny rule names, even by absolute path, and audits it', async () => {
    await expect(run(['/bin/rm', '-rf', home])).rejects.toMatchObject({ code: 'TWL_POLICY_DENIED', message: expect.stringMatching(/never delete from here/) });
    const [row] = await auditRows(1);
    expect(row).toMatchObject({ program: '/bin/rm', decision: 'deny', outcome: 'refused', rule: 'commander.rules[4]' });
  });

  it('passes only the allowed environment, with twl\'s own values', async () => {
    process.env.TWL_TEST_SMUGGLED = 'touch /tmp/x';
    const r = await run(['printenv']);
    delete process.env.TWL_TEST_SMUGGLED;
    const names = r.stdout.trim().split('\n').map((l: string) => l.split('=')[0]);
    expect(names).not.toContain('TWL_TEST_SMUGGLED');
    for (const name of names) expect(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM']).toContain(name);
    // PATH is the system directories, whatever twl's own.
    expect(r.stdout).toMatch(/^PATH=\/usr\/local\/sbin:\/usr\/local\/bin:\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m);
    // The input has no way to set variables: an unknown key is refused by the (strict) schema, before anything runs.
    await expect(invoke(execOp, runtime, { command: ['printenv', 'LD_PRELOAD'], env: { LD_PRELOAD: '/tmp/evil.so' } })).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/unknown key "env"/) });
  });

  it('refuses a working directory outside commander.cwd', async () => {
    await expect(invoke(execOp, runtime, { command: ['echo', 'x'], cwd: '/' })).rejects.toMatchObject({ code: 'TWL_POLICY_DENIED' });
  });

  it('runs an asked-for command once approved, and says so in the audit', async () => {
    const file = path.join(home, 'approved');
    const r = await run(['touch', file], async () => true);
    expect(r).toMatchObject({ decision: 'ask', approved: true, outcome: 'ran', exitCode: 0 });
    expect(existsSync(file)).toBe(true);
  });

  it('shows the decision without running on a dry run', async () => {
    const r = await invoke(execOp, runtime, { command: ['touch', canary], dry_run: true });
    expect(r).toMatchObject({ outcome: 'dry-run', decision: 'ask', exitCode: null });
    expect(existsSync(canary)).toBe(false);
  });

  it('caps the output', async () => {
    const r = await run(['seq', '1', '100000']);
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBe(4096);
    expect(r.exitCode).toBe(0);
  });

  it('kills the whole process tree on timeout', async () => {
    const pidFile = path.join(home, 'bg.pid');
    // The background sleep outlives the wait below by minutes unless the tree is killed.
    const r = await invoke(execOp, runtime, { command: ['sh', '-c', `sleep 300 & echo $! > ${pidFile}; wait`], timeout_ms: 700 });
    expect(r.outcome).toBe('timeout');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // Once the shell is killed the sleep is PID 1's: killed, it may stay a zombie there (isRunning says gone).
    await expect.poll(() => isRunning(pid), { timeout: 60_000, interval: 100 }).toBe(false);
  });

  it('says clearly when a program does not exist', async () => {
    writeFileSync(path.join(home, 'not-on-path'), '#!/bin/sh\n');
    await expect(run(['no-such-program-twl'])).rejects.toMatchObject({ code: 'TWL_PATH_NOT_FOUND', message: expect.stringMatching(/No program "no-such-program-twl"/) });
  });
});

describe('audit before run (#11.3)', () => {
  it('writes the row before the program starts, and completes it when it ends, with the file that ran', async () => {
    const fifo = path.join(home, `fifo-${randomUUID().slice(0, 6)}`);
    execFileSync('mkfifo', [fifo]);
    const running = run(['cat', fifo]);
    // Opening the FIFO for writing returns once cat has opened it: cat is running now.
    const writer = await open(fifo, 'w');
    const [during] = await auditRows(1);
    expect(during).toMatchObject({ program: 'cat', resolved: '/usr/bin/cat', outcome: 'started', decision: 'allow', exit_code: null });
    await writer.write('hello\n');
    await writer.close();
    const r = await running;
    expect(r).toMatchObject({ outcome: 'ran', stdout: 'hello\n', resolved: '/usr/bin/cat', auditId: Number(during!.id) });
    const [after] = await auditRows(1);
    expect(after).toMatchObject({ id: during!.id, outcome: 'ran', exit_code: 0 });
  });

  it('keeps the table append-only otherwise: a completed row never changes', async () => {
    const [row] = await auditRows(1);
    await expect((await runtime.store()).query(`UPDATE twl_audit SET outcome = 'ran' WHERE id = $1`, [row!.id])).rejects.toThrow(/append-only/);
    await expect((await runtime.store()).query(`DELETE FROM twl_audit WHERE id = $1`, [row!.id])).rejects.toThrow(/append-only/);
  });

  it('runs nothing when the row cannot be written (fail closed)', async () => {
    // An actor PostgreSQL cannot store (a NUL byte) makes every insert fail.
    // Its own data directory: the embedded store admits one runtime per directory.
    const other = tempHome('twl-commander-broken-');
    const broken = testRuntime(other.home, { ...backend.config, commander: { cwd: [home], rules: [{ program: 'touch', decision: 'allow' }] } }, { actor: 'broken\0actor' });
    try {
      await expect(invoke(execOp, broken, { command: ['touch', canary] })).rejects.toThrow(/0x00|invalid byte sequence/);
      expect(existsSync(canary)).toBe(false);
    } finally {
      await broken.close();
      other.cleanup();
    }
  });

  // The reproduction: cat /tmp/fifo "\ud800" ran, then its audit insert failed on the lone surrogate.
  it.each([
    ['a lone surrogate', ['cat', 'FIFO', '\ud800']],
    ['a lone low surrogate', ['touch', 'CANARY', 'x\udc00y']],
    ['a NUL byte in an argument', ['touch', 'CANARY\0MARK']],
    ['a NUL byte in the program', ['touch\0', 'CANARY']],
  ])('refuses %s before anything runs, and audits the refusal', async (_, template) => {
    const fifo = path.join(home, `fifo-${randomUUID().slice(0, 6)}`);
    execFileSync('mkfifo', [fifo]);
    const argv = template.map((a) => a.replace('FIFO', fifo).replace('CANARY', canary));
    const err = await run(argv).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringMatching(/NUL byte or a lone UTF-16 surrogate.*Nothing ran \(audit #\d+\)/) });
    expect(existsSync(canary)).toBe(false);
    // Nobody opened the FIFO (a cat that ran would wait there as its reader): a non-blocking open for writing finds no reader.
    expect(() => openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)).toThrow(/ENXIO/);
    const id = Number(/audit #(\d+)/.exec((err as Error).message)![1]);
    const [row] = await auditRows(1);
    expect(row).toMatchObject({ id: String(id), decision: 'deny', rule: 'commander.input', outcome: 'refused' });
    expect([row!.program, ...row!.args].join(' ')).toContain('\uFFFD');
  });

  it('audits a working directory refused through a symlink', async () => {
    const link = path.join(home, `root-link-${randomUUID().slice(0, 6)}`);
    symlinkSync('/', link);
    const err = await invoke(execOp, runtime, { command: ['echo', 'x'], cwd: link }).catch((e: Error & { code: string }) => e);
    expect(err).toMatchObject({ code: 'TWL_POLICY_DENIED', message: expect.stringMatching(/Nothing ran \(audit #\d+\)/) });
    const [row] = await auditRows(1);
    expect(row).toMatchObject({ program: 'echo', cwd: link, rule: 'commander.cwd', outcome: 'refused' });
  });

  it('lists the file that ran and the started outcome through audit.list', async () => {
    const r = await run(['echo', 'listed']);
    const { entries } = await invoke(auditOp, runtime, { limit: 50 });
    expect(entries.find((e: { id: number }) => e.id === r.auditId)).toMatchObject({ program: 'echo', resolved: '/usr/bin/echo', outcome: 'ran' });
  });
});

describe('bare names resolve in the system directories only (#11.2, #10.9)', () => {
  it('never runs a planted program from the caller\'s PATH or a node_modules/.bin', async () => {
    const evil = path.join(home, 'evil');
    const bin = path.join(home, 'node_modules', '.bin');
    for (const dir of [evil, bin]) {
      mkdirSync(dir, { recursive: true });
      for (const name of ['uptime', 'ls', 'df', 'echo']) {
        writeFileSync(path.join(dir, name), `#!/bin/sh\ntouch '${canary}'\n`);
        chmodSync(path.join(dir, name), 0o755);
      }
    }
    const saved = process.env.PATH;
    process.env.PATH = `${evil}:${bin}:${saved}`;
    try {
      for (const program of ['uptime', 'df', 'echo']) {
        const r = await run([program]);
        expect(r.resolved, program).toMatch(/^\/(usr\/)?(local\/)?s?bin\/[a-z]+$/);
        expect(r.decision).toBe('allow');
      }
      await expect(run(['ls'])).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED', message: expect.stringMatching(/\/usr\/bin\/ls/) });
      // By its path, the planted file is a different program: no built-in rule names it.
      await expect(run([path.join(bin, 'uptime')])).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
      await expect(run(['node_modules/.bin/uptime'])).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
    } finally {
      process.env.PATH = saved;
    }
    expect(existsSync(canary)).toBe(false);
    const rows = await auditRows(6);
    expect(rows.map((r) => r.resolved)).toEqual(expect.arrayContaining(['/usr/bin/uptime', path.join(bin, 'uptime')]));
  });
});

describe('secrets never reach a child (#11.1)', () => {
  it('keeps TWL_* and secret-looking variables out of the child\'s environment, and ps from printing environments', async () => {
    const secret = `postgres://postgres:S3cretPW-${randomUUID().slice(0, 6)}@127.0.0.1:5432/test`;
    process.env.TWL_DATABASE_URL_TEST = secret;
    try {
      const env = await run(['printenv']);
      expect(env.stdout).not.toContain('S3cretPW');
      for (const argv of [['ps', 'e'], ['ps', 'eww'], ['ps', 'axeww'], ['ps', 'auxe'], ['ps', '-ef', 'e'], ['ps', 'e', '-p', String(process.pid)]]) {
        await expect(run(argv), JSON.stringify(argv)).rejects.toMatchObject({ code: 'TWL_APPROVAL_REQUIRED' });
      }
      const ps = await run(['ps', 'auxww']);
      expect(ps.outcome).toBe('ran');
      expect(ps.stdout).not.toContain('S3cretPW');
    } finally {
      delete process.env.TWL_DATABASE_URL_TEST;
    }
  });
  it('refuses a configuration that would pass one through', () => {
    expect(() => testRuntime(home, { commander: { env: ['PATH', 'TWL_DATABASE_URL'] } })).toThrow(/secret/);
  });
});

describe('the data directory (#10.8)', () => {
  it('is created when commands run in it by default, whatever the store', async () => {
    const parent = tempHome('twl-commander-home-');
    const fresh = path.join(parent.home, 'not', 'yet');
    const rt = testRuntime(fresh, backend.config, { actor });
    try {
      const r = await invoke(execOp, rt, { command: ['uptime'] });
      expect(r).toMatchObject({ outcome: 'ran', cwd: fresh, exitCode: 0 });
      expect(existsSync(fresh)).toBe(true);
    } finally {
      await rt.close();
      parent.cleanup();
    }
  });
});
});
