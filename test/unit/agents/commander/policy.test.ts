import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkArgvRule } from '../../../../src/agents/commander/argv.js';
import { builtIns } from '../../../../src/agents/commander/builtins.js';
import { SYSTEM_DIRS, decide, resolveProgram } from '../../../../src/agents/commander/policy.js';
import { validateConfig, type ConfigInput } from '../../../../src/runtime/config.js';

const commander = (c: ConfigInput['commander'] = {}) => validateConfig({ commander: c, home: '/tmp/twl-unit' }, undefined, {}).config.commander;
const deny = commander({ default: 'deny' });
/** The decision for a command under the built-ins, as if every program existed in /usr/bin. */
const verdict = (argv: string[], config = deny) => decide(config, argv[0]!, argv.slice(1), `/usr/bin/${argv[0]}`);

// Read-only shapes each built-in must keep allowing (operators rely on them).
const allowed: string[][] = [
  ['uptime'], ['uptime', '-p'], ['hostname'], ['hostname', '-f'], ['hostname', '--all-ip-addresses'], ['whoami'], ['id'], ['id', '-un'], ['id', 'root'],
  ['date'], ['date', '-u'], ['date', '+%s'], ['date', '--iso-8601=seconds'], ['date', '-d', 'yesterday', '+%F'], ['uname', '-a'], ['uname', '-sr'], ['nproc'], ['nproc', '--all'],
  ['lscpu'], ['lscpu', '-J'], ['lsblk'], ['lsblk', '-f'], ['lsblk', '-o', 'NAME,SIZE', '/dev/sda'], ['free', '-h'], ['free', '-m', '-w'], ['df'], ['df', '-h'], ['df', '-hT', '/var'],
  ['df', '--output=source,pcent'], ['w'], ['w', '-h'], ['who'], ['who', '-b'], ['who', 'am', 'i'], ['last', '-n', '5'], ['last', 'reboot'], ['pwd'],
  ['ps'], ['ps', 'aux'], ['ps', 'ax'], ['ps', '-ef'], ['ps', '-eo', 'pid,user,%cpu,comm'], ['ps', '-e', '-o', 'pid,args', '--sort=-%cpu'], ['ps', 'auxww'], ['ps', '-p', '1'], ['ps', '--forest', '-e'],
  ['ss', '-tlnp'], ['ss', '-s'], ['ss', '-t', 'state', 'established'], ['ss', '--tcp', '--listening'], ['netstat', '-tlnp'], ['netstat', '-rn'],
  ['ip', 'a'], ['ip', 'addr', 'show'], ['ip', '-br', 'a'], ['ip', '-j', 'route', 'show'], ['ip', 'link', 'show', 'lo'], ['ip', 'addr', 'show', 'dev', 'eth0'], ['ip', 'neigh'],
  ['ping', '-c', '1', 'localhost'], ['ping', '-c3', '-W', '2', '10.0.0.1'], ['dig', 'example.com'], ['dig', '+short', 'example.com', 'MX'], ['dig', '@1.1.1.1', 'example.com'], ['dig', '-x', '8.8.8.8'],
  ['nslookup', 'example.com'], ['nslookup', '-type=MX', 'example.com', '1.1.1.1'], ['host', 'example.com'], ['host', '-t', 'MX', 'example.com'],
  ['systemctl', 'status', 'nginx'], ['systemctl', 'status', '--no-pager', '-n', '20', 'nginx.service'], ['systemctl', 'is-active', 'nginx'], ['systemctl', 'list-units', '--failed'],
  ['systemctl', 'show', '-p', 'ActiveState,SubState', 'nginx'], ['journalctl', '-u', 'nginx', '-n', '50', '--no-pager'], ['journalctl', '--unit=nginx', '--since=-1h'], ['journalctl', '-p', 'err', '-b'].slice(0, 3),
  ['docker', 'ps'], ['docker', 'ps', '-a'], ['docker', 'images'], ['docker', 'logs', '--tail', '100', 'web'], ['docker', 'stats', '--no-stream'], ['docker', 'version'], ['docker', 'info'],
  ['kubectl', 'get', 'pods'], ['kubectl', 'get', 'pods', '-n', 'prod', '-o', 'wide'], ['kubectl', 'get', 'deploy,svc', '-A'], ['kubectl', 'describe', 'pod', 'web-1'], ['kubectl', 'logs', 'web-1', '--tail=100'],
  ['kubectl', 'top', 'pods'], ['kubectl', 'version', '--client'], ['kubectl', 'cluster-info'],
];

// Each from #11.1 and #10.9, and the classes around them: writes, kills, file reads, remote hosts, environments, secrets.
const refused: string[][] = [
  ['ss', '-D', 'MARK'], ['ss', '-DMARK'], ['ss', '--diag=MARK'], ['ss', '--diag', 'MARK'], ['ss', '--dia=MARK'], ['ss', '-De'], ['ss', '-tD', 'x'], ['ss', '-K'], ['ss', '--kill'], ['ss', '-tK', 'dport', '=', ':22'],
  ['ss', '-F', '/etc/shadow'], ['ss', '--filter=/etc/shadow'], ['ss', '-N', 'other'], ['ss', '--', '-D', 'x'],
  ['hostname', 'evil'], ['hostname', '-F', '/etc/shadow'], ['hostname', '--file', '/etc/shadow'], ['hostname', '-b', 'x'], ['hostname', '--', 'evil'],
  ['date', '-s', '2020-01-01'], ['date', '--set=2020-01-01'], ['date', '--se', '2020'], ['date', '-f', '/etc/shadow'], ['date', '--file=/etc/shadow'], ['date', '-r', '/etc/shadow'], ['date', '010100002020'], ['date', '-us', 'x'],
  ['ip', '-b', '/etc/shadow'], ['ip', '-batch', '/etc/shadow'], ['ip', '-ba', 'x'], ['ip', '-force', '-b', 'x'], ['ip', '-n', 'other', 'a'], ['ip', 'link', 'set', 'lo', 'down'], ['ip', 'addr', 'flush', 'dev', 'lo'],
  ['ip', 'route', 'add', 'default', 'via', '1.1.1.1'], ['ip', 'netns', 'exec', 'x', 'sh'], ['ip', 'a', 'add', '1.2.3.4/32', 'dev', 'lo'], ['ip', 'link', 's', 'lo', 'down'],
  ['kubectl', 'cluster-info', 'dump', '--output-directory=/tmp/x'], ['kubectl', 'cluster-info', 'dump'], ['kubectl', 'get', 'secrets'], ['kubectl', 'get', 'secret', 'x', '-o', 'yaml'], ['kubectl', 'get', 'secret/db'],
  ['kubectl', 'get', 'pods,secrets'], ['kubectl', 'get', 'configmaps'], ['kubectl', 'get', 'pods', '-o', 'yaml'], ['kubectl', 'get', 'pods', '--kubeconfig=/tmp/evil'], ['kubectl', '--kubeconfig', '/tmp/evil', 'get', 'pods'],
  ['kubectl', 'get', 'pods', '--as=system:admin'], ['kubectl', 'get', 'pods', '--server=https://evil'], ['kubectl', 'exec', 'pod', '--', 'sh'], ['kubectl', 'delete', 'pod', 'x'], ['kubectl', 'get', 'pods', '-w'], ['kubectl', 'evil-plugin'],
  ['kubectl', 'logs', '-f', 'web'], ['kubectl', 'apply', '-f', '/tmp/x.yaml'],
  ['systemctl', 'show', '-H', 'user@host'], ['systemctl', 'status', '-H', 'user@host', 'nginx'], ['systemctl', 'status', '--host=user@host'], ['systemctl', '-M', 'c', 'status'], ['systemctl', 'show', 'nginx'],
  ['systemctl', 'show', '-p', 'Environment', 'nginx'], ['systemctl', 'show', '--property=Environment', 'nginx'], ['systemctl', 'cat', 'nginx'], ['systemctl', 'restart', 'nginx'], ['systemctl', 'stop', 'nginx'],
  ['systemctl', 'status', '--root=/tmp'], ['systemctl', 'edit', 'nginx'], ['systemctl', 'set-environment', 'A=1'], ['systemctl', 'daemon-reload'], ['systemctl', '--user', 'status'],
  ['journalctl', '--vacuum-size=1'], ['journalctl', '--vacuum-s=1'], ['journalctl', '--rotate'], ['journalctl', '--flush'], ['journalctl', '--file=/etc/shadow'], ['journalctl', '-D', '/tmp'], ['journalctl', '--setup-keys'],
  ['journalctl', '-u', '--vacuum-size=1'], ['journalctl', '-f'], ['journalctl', '--root=/tmp'], ['journalctl', '_PID=1'], ['journalctl', '-o', 'export'],
  ['ps', 'e'], ['ps', 'eww'], ['ps', 'axeww'], ['ps', 'aux', 'e'], ['ps', 'auxe'], ['ps', 'E'], ['ps', '-ef', 'e'], ['ps', '-o', 'pid,environ'], ['ps', 'ewwp', '1'], ['ps', 'O', 'environ'], ['ps', '--', 'e'], ['ps', 'axk', 'x'],
  ['docker', 'inspect', 'web'], ['docker', 'run', '--rm', 'alpine'], ['docker', 'exec', 'web', 'sh'], ['docker', '-H', 'tcp://evil', 'ps'], ['docker', '--config', '/tmp', 'ps'], ['docker', 'ps', '--format', '{{json .}}'],
  ['docker', 'stats'], ['docker', 'logs', '-f', 'web'], ['docker', 'evil-plugin'], ['docker', 'cp', 'web:/etc/shadow', '.'],
  ['dig', '-f', '/etc/shadow'], ['dig', '-k', '/etc/key'], ['dig', '-y', 'hmac:name:key'], ['nslookup'], ['nslookup', '-'], ['host', '-l', 'example.com'], ['host'],
  ['ping', 'localhost'], ['ping', '-f', '-c', '1', 'localhost'], ['ping', '-c', '1000', 'localhost'], ['ping', '-c', '1', '-p', 'ff', 'localhost'], ['ping', '-c', '1', 'a', 'b'],
  ['last', '-f', '/etc/shadow'], ['who', '/etc/shadow'], ['free', '-s', '1'], ['netstat', '-c'], ['lscpu', '--sysroot', '/tmp'], ['lscpu', '-s', '/tmp'], ['uptime', 'x'], ['whoami', '--x'],
  ['id', '-u', '--', '-x'], ['uname', '--a'], ['df', '--output=source', '--', '-x'], ['lsblk', '/etc/shadow'], ['df', '/dev/st0'], ['df', '/proc/1/environ'], ['df', '//sys/x'], ['df', 'a/../../dev/x'],
  // Unicode look-alikes and case tricks in options and verbs never match an allowed spelling.
  ['ss', '\u2013D', 'x'], ['systemctl', 'ѕtatus', 'x'], ['systemctl', 'STATUS', 'x'], ['kubectl', 'GET', 'pods'], ['ip', 'A'], ['ps', 'ａux'],
  // Newlines in arguments.
  ['systemctl', 'status', 'nginx\n-H'], ['date', '+%s\n-s'], ['ping', '-c', '1', 'localhost\n-f'],
  // DNS tools pointed at another service's port, and zone transfers (the whole zone, not a lookup).
  ['dig', '-p', '6379', '@127.0.0.1', 'example.com'], ['dig', '+tcp', '-p6379', '@127.0.0.1', 'x'], ['nslookup', '-port=6379', 'example.com', '127.0.0.1'],
  ['dig', 'example.com', 'AXFR'], ['dig', '-t', 'axfr', 'example.com'], ['dig', 'ixfr=1', 'example.com'], ['host', '-t', 'AXFR', 'example.com'], ['host', '-tixfr', 'example.com'], ['nslookup', '-type=AXFR', 'example.com'], ['nslookup', '-q=ixfr', 'example.com'],
  // More spellings: clusters hiding a writing or file-reading option, abbreviations, stdin batches, date strings naming files.
  ['date', '--s', '@0'], ['date', '-Is', '@0'], ['date', '-uRf-'], ['date', '-d', 'TZ="/etc/shadow" now'], ['hostname', '-bF', '/etc/shadow'], ['ss', '-tnlpD/tmp/x'], ['ss', '-Kt'], ['ss', '--kil'],
  ['ip', '-4', '-force', 'a'], ['ip', '-b', '-'], ['ps', '-o', 'pid,cmd', '-o', 'environ'], ['ps', '--format', 'environ'], ['ps', 'aux', '-e', 'e'], ['ps', '-\u0435'], ['ps', 'a\u0445e'],
  ['uptime', '--since\n-x'], ['date', '+%s\r-s'], ['id', '\u202eroot'], ['kubectl', 'get', 'pods', '--raw', '/api/v1/secrets'], ['kubectl', 'proxy'], ['docker', 'logs', '--follow', 'web'],
  ['systemctl', 'show', '-p', 'Environment,Id', 'nginx'], ['systemctl', 'show', '--property=ExecStart', 'nginx'], ['journalctl', '--output=export'], ['journalctl', '-o', 'verbose'], ['journalctl', '-M', 'x'],
];

describe('the built-in read-only diagnostics', () => {
  it.each(allowed.map((a) => [a.join(' '), a]))('allows %s', (_, argv) => {
    expect(verdict(argv)).toMatchObject({ decision: 'allow', rule: `built-in: ${argv[0]}` });
  });
  it.each(refused.map((a) => [JSON.stringify(a), a]))('leaves %s to the default', (_, argv) => {
    const v = verdict(argv);
    expect(v).toMatchObject({ decision: 'deny', rule: 'commander.default' });
    expect(v.reason).toMatch(/the default is deny/);
  });
  it('names the reason a command falls outside its built-in rule', () => {
    expect(verdict(['ss', '-D', 'MARK']).reason).toMatch(/"-D" is not an option the rule allows/);
    expect(verdict(['ps', 'axeww']).reason).toMatch(/prints process environments/);
    expect(verdict(['kubectl', 'get', 'secrets']).reason).toMatch(/not secrets or configmaps/);
  });
  it('covers every built-in program with allowed and refused shapes', () => {
    for (const b of builtIns) expect(allowed.some((a) => a[0] === b.program), b.program).toBe(true);
  });
  it('can be turned off', () => {
    expect(verdict(['uptime'], commander({ default: 'deny', builtIns: false }))).toMatchObject({ decision: 'deny', rule: 'commander.default' });
  });
});

describe("df's operands: what they are on disk, not how they are spelled (df opens each one)", () => {
  // A directory beside the checkout, holding a device symlink, a FIFO and directories others can write.
  const dir = mkdtempSync(path.join(path.resolve(import.meta.dirname, '../../../..'), '.df-operands-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const df = (args: string[]) => decide(deny, 'df', args, '/usr/bin/df', dir);
  it('refuses a device reached through a symlink, a FIFO, and a file in a world-writable directory', () => {
    symlinkSync('/dev/zero', path.join(dir, 'zero'));
    symlinkSync('/dev', path.join(dir, 'devdir'));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    mkdirSync(path.join(dir, 'open', 'inner'), { recursive: true });
    chmodSync(path.join(dir, 'open'), 0o777);
    for (const [args, why] of [
      [['zero'], /symlink \(to \/dev\/zero\)/],
      [[path.join(dir, 'zero')], /symlink/],
      [['-h', 'devdir/null'], /symlink/],
      [['fifo'], /not a directory or a regular file/],
      [['open/inner'], /anyone can write/],
      [['no-such-file'], /does not exist/],
    ] as Array<[string[], RegExp]>) {
      const v = df(args);
      expect(v, JSON.stringify(args)).toMatchObject({ decision: 'deny', rule: 'commander.default' });
      expect(v.reason, JSON.stringify(args)).toMatch(why);
    }
  });
  it('allows a real directory and a regular file, relative to the working directory', () => {
    writeFileSync(path.join(dir, 'file'), 'x');
    expect(df(['-h', dir])).toMatchObject({ decision: 'allow' });
    expect(df(['file', '/'])).toMatchObject({ decision: 'allow' });
  });
  it("judges a sticky directory like /tmp by who owns the entry below it, and refuses another user's directory", () => {
    mkdirSync(path.join(dir, 'sticky', 'mine'), { recursive: true });
    chmodSync(path.join(dir, 'sticky'), 0o1777);
    // Nobody else may rename or remove an entry of a sticky directory that twl's user owns.
    expect(df(['sticky/mine'])).toMatchObject({ decision: 'allow' });
    mkdirSync(path.join(dir, 'group', 'inner'), { recursive: true });
    chmodSync(path.join(dir, 'group'), 0o775);
    expect(df(['group/inner']).reason).toMatch(/its group can write/);
  });
  it.runIf(process.getuid?.() === 0)("refuses an entry another user owns in a sticky directory, and a directory another user owns", () => {
    mkdirSync(path.join(dir, 'sticky', 'theirs', 'inner'), { recursive: true });
    chmodSync(path.join(dir, 'sticky'), 0o1777);
    chownSync(path.join(dir, 'sticky', 'theirs'), 4242, 4242);
    // They could rename their entry and put a symlink to a device in its place.
    expect(df(['sticky/theirs']).reason).toMatch(/anyone can write/);
    expect(df(['sticky/theirs/inner']).reason).toMatch(/belongs to another user \(uid 4242\)/);
  });
});

describe('how a bare program name resolves', () => {
  it('only in the fixed system directories, never elsewhere', () => {
    expect(SYSTEM_DIRS).toEqual(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);
    const file = resolveProgram('uptime', '/tmp');
    expect(file && SYSTEM_DIRS.some((d) => file === `${d}/uptime`)).toBe(true);
    // The same name elsewhere never matches the bare rule (#11.2, #10.9).
    for (const fake of ['/tmp/evil/uptime', '/tmp/node_modules/.bin/uptime', '/home/x/node_modules/.bin/df', '/usr/bin/sub/uptime', '/usr/bin/../../tmp/uptime'.replace('/usr/bin/../..', '')]) {
      expect(decide(deny, 'uptime', [], fake), fake).toMatchObject({ decision: 'deny' });
    }
    expect(decide(deny, '/usr/bin/uptime', [], '/usr/bin/uptime')).toMatchObject({ decision: 'allow' });
    expect(decide(deny, './uptime', [], '/tmp/x/uptime')).toMatchObject({ decision: 'deny' });
  });
  it('refuses a configured rule with a relative program', () => {
    expect(() => commander({ rules: [{ program: 'bin/ls', decision: 'allow' }] })).toThrow(/bare name|absolute path/);
  });
});

describe('configured rules', () => {
  const naive = commander({ default: 'deny', rules: [{ program: 'find', args: '^(?!.*-exec)', decision: 'allow' }] });
  it('match args with . matching newlines too (the ^(?!.*-exec) bypass of #11.4)', () => {
    expect(decide(naive, 'find', ['.', '-name', 'x'], '/usr/bin/find').decision).toBe('allow');
    expect(decide(naive, 'find', ['.', '-name', 'x\n', '-exec', 'touch', 'y', ';'], '/usr/bin/find').decision).toBe('deny');
    expect(decide(naive, 'find', ['.', '-name', '\n-exec'], '/usr/bin/find').decision).toBe('deny');
  });
  const structured = commander({
    default: 'deny',
    rules: [{ program: 'find', argv: { flags: ['-name', '-type', '-maxdepth', '-mtime'], positional: '[A-Za-z0-9_./*-]+' }, decision: 'allow' }],
  });
  it.each([
    [['.', '-name', '*.log'], 'allow'],
    [['/var/log', '-maxdepth', '1', '-type', 'f'], 'allow'],
    [['.', '-exec', 'touch', 'x', ';'], 'deny'],
    [['.', '-execdir', 'sh', ';'], 'deny'],
    [['.', '-delete'], 'deny'],
    [['.', '-fprint', '/tmp/x'], 'deny'],
    [['.', '-name', 'x\n-exec'], 'deny'],
    [['.', '-ok', 'rm', ';'], 'deny'],
  ] as Array<[string[], string]>)('structured flags: find %j → %s', (args, decision) => {
    expect(decide(structured, 'find', args, '/usr/bin/find').decision).toBe(decision);
  });
  it('denyFlags catch every spelling: clusters, attached values, abbreviations, after --', () => {
    const rule = { denyFlags: ['-D', '--output-directory', '-exec'] };
    // --output too: twl does not know the program's options, and it may abbreviate --output-directory.
    for (const args of [['-D', 'x'], ['-De'], ['-tD'], ['-Dfile'], ['--output-directory=/x'], ['--output-d=/x'], ['--output-dir', '/x'], ['--output=x'], ['-exec'], ['-exec=x'], ['--', '-exec']]) {
      expect(checkArgvRule(rule, args), JSON.stringify(args)).toBeDefined();
    }
    for (const args of [['-t'], ['--out-dir=x'], ['x', 'y'], ['-execdir']]) expect(checkArgvRule(rule, args), JSON.stringify(args)).toBeUndefined();
  });
  it('positional patterns match whole operands, and maxPositionals counts them', () => {
    const rule = { positional: '[a-z]+', maxPositionals: 2 };
    expect(checkArgvRule(rule, ['abc'])).toBeUndefined();
    expect(checkArgvRule(rule, ['abc1'])).toMatch(/does not match/);
    expect(checkArgvRule(rule, ['abc\n'])).toMatch(/does not match/);
    expect(checkArgvRule(rule, ['a', 'b', 'c'])).toMatch(/more than 2/);
    expect(checkArgvRule(rule, ['--', '-x'])).toMatch(/does not match/);
  });
  it('refuse secret-looking environment names in commander.env', () => {
    for (const name of ['TWL_DATABASE_URL', 'DATABASE_URL', 'AWS_SECRET_ACCESS_KEY', 'GITHUB_TOKEN', 'PGPASSWORD']) expect(() => commander({ env: [name] }), name).toThrow(/secret/);
  });
});
