import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invoke } from '../../src/ops/invoke.js';
import auditOp from '../../src/ops/audit/list.js';
import execOp from '../../src/ops/exec/run.js';
import type { Runtime } from '../../src/runtime/context.js';
import { tempHome, testRuntime } from '../helpers.js';

let home: string;
let cleanup: () => void;
let runtime: Runtime;
let canary: string;

beforeAll(() => {
  ({ home, cleanup } = tempHome('twl-commander-'));
  canary = path.join(home, 'CANARY');
  runtime = testRuntime(home, {
    commander: {
      cwd: [home],
      rules: [
        { program: 'echo', decision: 'allow', reason: 'echo only prints' },
        { program: 'printenv', decision: 'allow' },
        { program: 'seq', decision: 'allow' },
        { program: 'sh', args: '^-c sleep 30 & echo \\$! > [\\w/.-]+; wait$', decision: 'allow', reason: 'the timeout test' },
        { program: 'rm', decision: 'deny', reason: 'never delete from here' },
      ],
      maxOutput: 4096,
    },
  });
});
afterAll(async () => {
  await runtime.close();
  cleanup();
});

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
  ];

  it(`runs nothing outside the policy (${corpus('X').length} hostile inputs)`, async () => {
    expect(corpus('X').length).toBeGreaterThanOrEqual(40);
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
    expect(outcomes.filter((o) => o === 'refused').length).toBeGreaterThan(25);
    // Every attempt is in the audit log, and nothing refused has an exit code.
    const { entries } = await invoke(auditOp, runtime, { limit: 500 });
    expect(entries.length).toBeGreaterThanOrEqual(corpus('X').length);
    for (const e of entries.filter((e: { outcome: string }) => e.outcome === 'refused')) expect(e.exitCode).toBeNull();
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
    const { entries } = await invoke(auditOp, runtime, { limit: 1 });
    expect(entries[0]).toMatchObject({ program: '/bin/rm', decision: 'deny', outcome: 'refused', rule: 'commander.rules[4]' });
  });

  it('passes only the allowed environment, with twl\'s own values', async () => {
    process.env.TWL_TEST_SMUGGLED = 'touch /tmp/x';
    const r = await run(['printenv']);
    delete process.env.TWL_TEST_SMUGGLED;
    const names = r.stdout.trim().split('\n').map((l: string) => l.split('=')[0]);
    expect(names).not.toContain('TWL_TEST_SMUGGLED');
    for (const name of names) expect(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM']).toContain(name);
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
    const r = await invoke(execOp, runtime, { command: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`], timeout_ms: 700 });
    expect(r.outcome).toBe('timeout');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    await sleep(2500);
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
  });

  it('says clearly when a program does not exist', async () => {
    writeFileSync(path.join(home, 'not-on-path'), '#!/bin/sh\n');
    await expect(run(['no-such-program-twl'])).rejects.toMatchObject({ code: 'TWL_PATH_NOT_FOUND', message: expect.stringMatching(/No program "no-such-program-twl"/) });
  });
});
