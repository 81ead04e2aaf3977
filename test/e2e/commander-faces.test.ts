import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_URL, bin, envelope, hasPostgres, inheritedEnv, startHttpServe, tempHome, twl } from '../helpers.js';

// The commander's hostile corpus, run over every face (the CLI, MCP over stdio with the SDK
// client, REST with an operator key) against the embedded store and PostgreSQL. twl runs with
// secrets in its environment; no attempt may print them, create the canaries, change the host,
// or run without an audit row. The policy is the default one (built-ins, then ask).

const SECRET = `S3cretPW${randomUUID().slice(0, 8)}`;
const secretUrl = (() => {
  const u = new URL(POSTGRES_URL);
  u.password = SECRET;
  return u.toString();
})();

const backends: Array<{ name: string; available: boolean; env: Record<string, string> }> = [
  { name: 'embedded', available: true, env: { PGPASSWORD: SECRET, AWS_SECRET_ACCESS_KEY: SECRET } },
  { name: 'postgres', available: hasPostgres, env: { PGPASSWORD: SECRET, AWS_SECRET_ACCESS_KEY: SECRET, TWL_DATABASE_URL: secretUrl } },
];

interface Ctx {
  home: string;
  canary: string;
  /** The pid of the twl process serving the call (MCP, REST), or "self". */
  pid: string;
}

/** Attempts; `cli: false` for those that cannot cross execve (NUL) or UTF-8 (lone surrogates); `refuse`: must not run at all, even as a program the judge lets run. */
const corpus = ({ home, canary, pid }: Ctx): Array<{ argv: string[]; cwd?: string; cli?: false; refuse?: true }> => {
  const now = Math.floor(Date.now() / 1000);
  const a = (...argv: string[]) => ({ argv });
  const r = (...argv: string[]) => ({ argv, refuse: true as const });
  return [
    // #11.1: the built-ins' writing, killing, file-reading and remote forms.
    a('ss', '-D', 'MARK'), a('ss', '-DMARK'), a('ss', '--diag=MARK'), a('ss', '--dia=MARK'), a('ss', '--diag', 'MARK'), a('ss', '-De'), a('ss', '-tnD', 'MARK'),
    a('ss', '-K', 'dport', '=', ':1'), a('ss', '--kill', 'dport', '=', ':1'), a('ss', '-F', '/proc/self/environ'), a('ss', '--', '-D', 'MARK'),
    a('hostname', os.hostname()), a('hostname', '-F', '/proc/self/environ'), a('hostname', '--fi', '/proc/self/environ'),
    a('date', '-s', `@${now}`), a('date', '--set', `@${now}`), a('date', '--se', `@${now}`), a('date', '-f', '/proc/self/environ'), a('date', '--fi=/proc/self/environ'), a('date', '-r', '/etc/shadow'),
    a('ip', '-b', '/proc/self/environ'), a('ip', '-ba', '/proc/self/environ'), a('ip', '-batch', '/proc/self/environ'), a('ip', '-force', '-b', '/proc/self/environ'), a('ip', 'link', 'set', 'lo', 'up'),
    a('kubectl', 'cluster-info', 'dump', `--output-directory=${canary}`), a('kubectl', 'cluster-info', 'dump', `--output-d=${canary}`), a('kubectl', 'get', 'secrets', '-A', '-o', 'yaml'), a('kubectl', '--kubeconfig', `${home}/kc`, 'get', 'pods'),
    a('systemctl', 'show', '-H', 'user@host'), a('systemctl', 'status', '--host=user@host'), a('systemctl', 'show', 'twl'), a('systemctl', 'show-environment'),
    a('journalctl', '--vacuum-size=1G'), a('journalctl', '--vacuum-s=1G'), a('journalctl', '-u', '--rotate'), a('journalctl', '--file=/proc/self/environ'),
    a('docker', 'inspect', 'twl'), a('docker', '-H', 'tcp://127.0.0.1:1', 'ps'), a('dig', '-f', '/proc/self/environ'), a('last', '-f', '/proc/self/environ'), a('who', '/proc/self/environ'),
    // Environments: twl's own (the secret is there), any other process's, the child's.
    a('ps', 'e'), a('ps', 'eww'), a('ps', 'axeww'), a('ps', 'auxe'), a('ps', 'aux', 'e'), a('ps', '-ef', 'e'), a('ps', 'ewwp', pid), a('ps', 'e', '-p', pid), a('ps', '-o', 'pid,environ'), a('ps', '--', 'e'),
    a('cat', '/proc/self/environ'), a('cat', `/proc/${pid}/environ`), a('strings', `/proc/${pid}/environ`), a('xargs', '-0', '-a', `/proc/${pid}/environ`, 'echo'),
    a('env'), a('printenv'), a('printenv', 'TWL_DATABASE_URL'), a('/usr/bin/env'), a('sh', '-c', 'cat /proc/$PPID/environ'), a('bash', '-c', 'env'),
    a('node', '-e', 'console.log(JSON.stringify(process.env))'), a('python3', '-c', 'import os; print(os.environ)'), a('perl', '-e', 'print %ENV'), a('awk', 'BEGIN{for(k in ENVIRON) print k, ENVIRON[k]}'),
    // Programs that run others.
    a('env', 'touch', canary), a('env', '-S', `touch ${canary}`), a('nice', 'touch', canary), a('nohup', 'touch', canary), a('timeout', '5', 'touch', canary), a('xargs', 'touch', canary),
    a('find', home, '-maxdepth', '0', '-exec', 'touch', canary, ';'), a('watch', '-n', '1', 'touch', canary), a('stdbuf', '-o0', 'touch', canary), a('setsid', 'touch', canary), a('busybox', 'touch', canary),
    a('flock', `${home}/lock`, 'touch', canary), a('sudo', 'touch', canary), a('chroot', '/', 'touch', canary),
    // Program names: traversal, relative, look-alikes, case, assignments, argument files.
    a('../../../../usr/bin/touch', canary), a('/usr/bin/../bin/touch', canary), a('./touch', canary), a('TOUCH', canary), a('Uptime'), a('uptime\u200b'), a('upt\u0456me'), a('ｕｐｔｉｍｅ'),
    a('LD_PRELOAD=/tmp/x.so', 'uptime'), a('PATH=/tmp', 'uptime'), a(`@${home}/args`), a('uptime', `@${home}/args`), a('touch', canary),
    // Unicode look-alikes of options and verbs.
    a('ss', '\u2013D', 'MARK'), a('ss', '\u2212D', 'MARK'), a('systemctl', '\u0455tatus', 'x'), a('systemctl', 'STATUS', 'x'), a('ps', 'ａux'),
    // Newlines.
    a('systemctl', 'status', 'x\n-H'), a('date', '+%s\n-s'), a('ping', '-c', '1', 'localhost\n-f'),
    // Working directories outside commander.cwd, and through a symlink.
    { argv: ['pwd'], cwd: '/' }, { argv: ['pwd'], cwd: `${home}/../..` }, { argv: ['pwd'], cwd: `${home}/root-link` },
    // Read-only shapes that run: their output must not carry a secret either.
    a('ps', 'aux'), a('ps', '-ef'), a('ps', '-eo', 'pid,args'), a('uptime'), a('id'), a('hostname', '-f'), a('df', '-h'),
    // Operands that are something else on disk than their spelling (df opens each operand: a
    // device through a symlink, a FIFO, a file someone else can swap), network services on
    // chosen ports through DNS tools, zone transfers, more option spellings, env and unicode tricks.
    r('df', `${home}/dev-link`), r('df', 'dev-link'), r('df', './dev-link'), r('df', '-h', `${home}/fifo-df`), r('df', '-h', '--', '/dev/zero'), r('df', '/var/../dev/zero'), r('df', `${home}/dev-dir/null`),
    r('dig', '-p', '6379', '@127.0.0.1', 'example.com'), r('dig', '+tcp', '-p6379', '@127.0.0.1', 'x'), r('nslookup', '-port=6379', 'example.com', '127.0.0.1'),
    r('dig', 'example.com', 'AXFR'), r('dig', '-t', 'axfr', 'example.com'), r('dig', 'ixfr=1', 'example.com'), r('host', '-t', 'AXFR', 'example.com'), r('nslookup', '-type=AXFR', 'example.com'),
    r('ping', '-c', '1', '-I', 'lo', 'localhost'), r('ping', '-c', '1', '-s', '65000', 'localhost'), r('kubectl', 'get', 'pods', '--raw', '/api/v1/secrets'), r('kubectl', 'proxy'),
    r('docker', 'logs', '--follow', 'twl'), r('docker', 'ps', '--format={{.Env}}'), r('systemctl', 'show', '-p', 'Environment,Id', 'twl'), r('systemctl', 'show', '--property=ExecStart', 'twl'),
    r('journalctl', '--output=export'), r('journalctl', '-o', 'verbose'), r('journalctl', '-M', 'x'), r('date', '--s', `@${now}`), r('date', '-Is', `@${now}`), r('date', '-uRf-'),
    r('date', '-d', 'TZ="/proc/self/environ" now'), r('hostname', '-bF', '/proc/self/environ'), r('ss', `-tnlpD${canary}`), r('ss', '-Kt'), r('ss', '--kil'), r('ip', '-4', '-force', 'a'), r('ip', '-b', '-'),
    r('ip', 'a', 'flush', 'dev', 'lo'), r('ps', '-o', 'pid,cmd', '-o', 'environ'), r('ps', '--format', 'environ'), r('ps', 'aux', '-e', 'e'), r('ps', '-\u0435'), r('ps', 'a\u0445e'),
    r('uptime', '--since\n-x'), r('whoami\n'), r('date', '+%s\r-s'), r('id', '\u202eroot'), r('env', 'PATH=/tmp', 'uptime'), r('TZ=/proc/self/environ', 'date'), r('lsblk', '--sysroot', '/tmp'),
    // Cannot be stored or passed: refused and audited (MCP and REST only).
    { argv: ['cat', `${home}/fifo`, '\ud800'], cli: false }, { argv: ['touch', `${canary}\u0000`], cli: false }, { argv: ['uptime\u0000touch'], cli: false },
  ];
};

const refusals = ['TWL_POLICY_DENIED', 'TWL_APPROVAL_REQUIRED', 'TWL_PATH_NOT_FOUND', 'TWL_INPUT_INVALID'];
const ranPrograms = ['ps', 'uptime', 'id', 'hostname', 'df', 'pwd'];

/** What one face answered: the JSON text (all of it is checked for the secret) and the audit id it names. */
interface Answer {
  text: string;
  ok: boolean;
  code?: string;
  result?: { program: string; decision: string; rule: string; outcome: string; auditId: number };
}

const auditIdOf = (a: Answer): number | undefined => a.result?.auditId ?? (/audit #(\d+)/.exec(a.text) ? Number(/audit #(\d+)/.exec(a.text)![1]) : undefined);

for (const backend of backends) {
  describe.skipIf(!backend.available)(`the commander's hostile corpus (${backend.name} store)`, () => {
    let home: string;
    let cleanup: () => void;
    let canary: string;
    const hostname = os.hostname();
    const env = () => ({ ...inheritedEnv(), ...backend.env, TWL_HOME: home, HOME: home });

    beforeAll(async () => {
      ({ home, cleanup } = tempHome('twl-commander-faces-'));
      canary = path.join(home, 'CANARY');
      writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ commander: { cwd: [home] } }));
      writeFileSync(path.join(home, 'args'), `touch ${canary}\n`);
      symlinkSync('/', path.join(home, 'root-link'));
      // A planted program where a caller's PATH might look.
      mkdirSync(path.join(home, 'node_modules', '.bin'), { recursive: true });
      writeFileSync(path.join(home, 'node_modules', '.bin', 'uptime'), `#!/bin/sh\ntouch '${canary}'\n`);
      chmodSync(path.join(home, 'node_modules', '.bin', 'uptime'), 0o755);
      writeFileSync(path.join(home, 'touch'), `#!/bin/sh\ntouch '${canary}'\n`);
      chmodSync(path.join(home, 'touch'), 0o755);
      // What df would open: a device through a symlink (a file and a directory link), a FIFO.
      symlinkSync('/dev/zero', path.join(home, 'dev-link'));
      symlinkSync('/dev', path.join(home, 'dev-dir'));
      execFileSync('mkfifo', [path.join(home, 'fifo-df')]);
    });
    afterAll(() => cleanup?.());

    /** Checks every answer and then the audit log the face itself lists. */
    const judge = async (face: string, attempts: ReturnType<typeof corpus>, answers: Answer[], auditIds: (limit: number) => Promise<Array<{ id: number; program: string }>>) => {
      expect(answers.length).toBe(attempts.length);
      const ids: number[] = [];
      for (const [i, answer] of answers.entries()) {
        const what = `${face}: ${JSON.stringify(attempts[i])} → ${answer.text.slice(0, 300)}`;
        expect(answer.text, what).not.toContain(SECRET);
        if (!answer.ok && answer.code === 'HTTP_400') {
          // Refused at the HTTP entry (a body twl cannot store: a lone surrogate): no op ran, so the
          // commander made no decision to audit. Only REST bodies are checked there.
          expect(face, what).toMatch(/^rest/);
          expect(answer.text, what).toMatch(/lone UTF-16 surrogate|NUL/);
          continue;
        }
        if (attempts[i]!.refuse) expect(answer.ok, `${what}: it ran`).toBe(false);
        if (answer.ok) {
          expect(answer.result, what).toMatchObject({ decision: 'allow', rule: expect.stringMatching(/^built-in: /) });
          expect(ranPrograms, what).toContain(answer.result!.program);
        } else {
          expect(refusals, what).toContain(answer.code);
        }
        const id = auditIdOf(answer);
        expect(id, `${what}: no audit row`).toBeDefined();
        ids.push(id!);
      }
      expect(existsSync(canary), `${face}: the canary was created`).toBe(false);
      expect(readdirSync(home).filter((f) => f === 'MARK' || f.startsWith('CANARY'))).toEqual([]);
      expect(os.hostname()).toBe(hostname);
      const listed = new Set((await auditIds(2000)).map((r) => r.id));
      for (const id of ids) expect(listed.has(id), `${face}: audit #${id} is not in the audit log`).toBe(true);
      // Every attempt its own row.
      expect(new Set(ids).size).toBe(ids.length);
    };

    it('over the CLI', async () => {
      // One process per attempt is slow: the CLI runs the #11 reproductions and every third
      // attempt (the same policy code answers every face; this checks what reaches it from argv).
      const reproductions = new Set(['ss -D MARK', 'ss --dia=MARK', 'ss -De', 'ps axeww', 'ps e', 'date -s', 'ip -b', 'hostname -F', 'systemctl show -H', 'kubectl cluster-info dump', 'cat /proc/self/environ', 'env touch', 'find']);
      const attempts = corpus({ home, canary, pid: 'self' }).filter(
        (a, i) => a.cli !== false && (i % 3 === 0 || [...reproductions].some((r) => a.argv.join(' ').startsWith(r))),
      );
      const run = (args: string[]) => twl(args, { home, env: backend.env });
      // The first start of an embedded store can be slow on a loaded machine: warm it up.
      for (let i = 0; i < 3 && (await run(['audit', 'list', '--limit', '1', '--json'])).exitCode !== 0; i++);
      const answers: Answer[] = [];
      for (const attempt of attempts) {
        const r = await run(['exec', '--json', ...(attempt.cwd ? ['--cwd', attempt.cwd] : []), '--', ...attempt.argv]);
        const text = `${r.stdout}\n${r.stderr}`;
        const env = envelope(r.stdout);
        answers.push({ text, ok: env.result !== undefined, code: env.error?.code as string | undefined, result: env.result as Answer['result'] });
      }
      await judge('cli', attempts, answers, async (limit) => {
        const r = await run(['audit', 'list', '--limit', String(limit), '--json']);
        return (envelope(r.stdout).result as { entries: Array<{ id: number; program: string }> }).entries;
      });
    }, 900_000);

    // #10.8: with TWL_DATABASE_URL nothing else creates the data directory; the commander's default working directory.
    it.skipIf(!backend.env.TWL_DATABASE_URL)('creates a missing data directory for the commands', async () => {
      const other = tempHome('twl-commander-fresh-');
      try {
        const fresh = path.join(other.home, 'fresh', 'twl');
        const r = await twl(['exec', '--json', '--', 'pwd'], { home: other.home, env: { ...backend.env, TWL_HOME: fresh } });
        expect(envelope(r.stdout), r.stdout + r.stderr).toMatchObject({ status: 0, result: { outcome: 'ran', cwd: fresh, stdout: `${fresh}\n` } });
      } finally {
        other.cleanup();
      }
    });

    it('over MCP (stdio, SDK client)', async () => {
      const transport = new StdioClientTransport({ command: process.execPath, args: [bin, 'serve', '--stdio'], env: env(), cwd: home, stderr: 'pipe' });
      let stderr = '';
      transport.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const client = new Client({ name: `twl-commander-${randomUUID().slice(0, 6)}`, version: '1.0.0' });
      await client.connect(transport);
      try {
        const attempts = corpus({ home, canary, pid: String(transport.pid) });
        const answers: Answer[] = [];
        for (const attempt of attempts) {
          const r = await client.callTool({ name: 'real-desktop-commander_execute_command', arguments: { command: attempt.argv, ...(attempt.cwd ? { cwd: attempt.cwd } : {}) } });
          const text = JSON.stringify(r);
          answers.push({ text, ok: !r.isError, code: /TWL_[A-Z_]+/.exec(text)?.[0], result: r.structuredContent as Answer['result'] });
        }
        await judge('mcp', attempts, answers, async (limit) => {
          const r = await client.callTool({ name: 'audit_list_entries', arguments: { limit } });
          return (r.structuredContent as { entries: Array<{ id: number; program: string }> }).entries;
        });
      } finally {
        await client.close();
      }
      expect(stderr).not.toContain(SECRET);
    }, 900_000);

    it('over REST (operator key)', async () => {
      const created = await twl(['keys', 'create', '--role', 'operator', '--name', `commander-${randomUUID().slice(0, 6)}`, '--json'], { home, env: backend.env });
      const key = (envelope(created.stdout).result as { key: string }).key;
      const { child, url } = await startHttpServe(home, [], backend.env);
      let serverErr = '';
      child.stderr!.on('data', (d: Buffer) => (serverErr += d.toString()));
      try {
        const call = (tool: string, body: unknown) =>
          fetch(`${url}/api/tools/${tool}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
        const attempts = corpus({ home, canary, pid: String(child.pid) });
        const answers: Answer[] = [];
        for (const attempt of attempts) {
          const res = await call('real-desktop-commander_execute_command', { command: attempt.argv, ...(attempt.cwd ? { cwd: attempt.cwd } : {}) });
          const text = await res.text();
          const body = JSON.parse(text) as { result?: Answer['result']; error?: { code: string } };
          answers.push({ text, ok: res.status === 200, code: body.error?.code, result: body.result });
        }
        await judge('rest', attempts, answers, async (limit) => {
          const res = await call('audit_list_entries', { limit });
          return ((await res.json()) as { result: { entries: Array<{ id: number; program: string }> } }).result.entries;
        });
      } finally {
        child.kill('SIGTERM');
        await child;
      }
      expect(serverErr).not.toContain(SECRET);
    }, 900_000);
  });
}
