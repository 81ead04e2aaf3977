import { lstatSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { getopt, test, whole, type OptionSpec, type ValueTest } from './argv.js';

/**
 * The built-in read-only diagnostics: for each program, the argument shapes that only read,
 * parsed with an explicit allow-list of options. Anything the parser does not understand
 * (an unknown option, an abbreviation, an operand where none is read-only) falls outside the
 * rule, and the configured default decides. docs/commander.md explains each choice.
 */
export interface BuiltIn {
  program: string;
  reason: string;
  /** Undefined when the arguments are a read-only shape; otherwise why not. `cwd` is where the command would run (relative operands). */
  check(args: readonly string[], cwd: string): string | undefined;
}

const num = (max: number) => (v: string) => /^\d{1,6}$/.test(v) && Number(v) >= 1 && Number(v) <= max;
/** A name-like operand: letters, digits, and . _ : @ - ; never starting with a dash. */
const name = whole('[A-Za-z0-9_][A-Za-z0-9_.:@-]{0,252}');
const host = whole('[A-Za-z0-9_][A-Za-z0-9_.:-]{0,252}');
const when = whole('[A-Za-z0-9_+-][A-Za-z0-9_.:+ -]{0,63}');
const dfPath: ValueTest = (v) => whole('[A-Za-z0-9_/][A-Za-z0-9_./-]{0,255}').test(v) && !/^\/+(dev|proc|sys)(\/|$)/.test(v) && !v.split('/').includes('..');

/**
 * df opens each operand (O_RDONLY|O_NONBLOCK), and opening a device can act (a watchdog arms, a
 * tape rewinds): what the operand is on disk decides, not how it is spelled. It must be a
 * directory or a regular file, reached without a symlink, outside /dev, /proc and /sys, and in
 * no directory another user could change (where someone else could swap it for a symlink
 * between this check and df's open).
 */
function dfOperandProblem(operand: string, cwd: string): string | undefined {
  const file = path.resolve(cwd, operand);
  let real: string;
  let isDirOrFile: boolean;
  try {
    real = realpathSync(file);
    const st = statSync(real);
    isDirOrFile = st.isDirectory() || st.isFile();
  } catch {
    return `the operand ${JSON.stringify(operand)} does not exist`;
  }
  if (real !== file) return `the operand ${JSON.stringify(operand)} goes through a symlink (to ${real}): name the real path`;
  if (/^\/(dev|proc|sys)(\/|$)/.test(real)) return `the operand ${JSON.stringify(operand)} is under /dev, /proc or /sys`;
  if (!isDirOrFile) return `the operand ${JSON.stringify(operand)} is not a directory or a regular file (df opens it)`;
  // Every directory above it must be safe from other users, as OpenSSH checks a key file's path:
  // owned by root or by twl's user, and writable by nobody else, except a sticky directory
  // (/tmp) holding an entry owned by root or twl's user (nobody else may rename or remove it).
  const me = process.getuid?.() ?? 0;
  const trusted = (uid: number) => uid === 0 || uid === me;
  for (let child = real, dir = path.dirname(real); child !== dir; child = dir, dir = path.dirname(dir)) {
    const st = statSync(dir);
    const swappable = `(it could be swapped for a symlink)`;
    if (!trusted(st.uid)) return `the operand ${JSON.stringify(operand)} is in ${dir}, which belongs to another user (uid ${st.uid}) ${swappable}`;
    if ((st.mode & 0o022) === 0 || ((st.mode & 0o1000) !== 0 && trusted(lstatSync(child).uid))) continue;
    return `the operand ${JSON.stringify(operand)} is in ${dir}, which ${(st.mode & 0o002) !== 0 ? 'anyone' : 'its group'} can write ${swappable}`;
  }
  return undefined;
}
const oneOf = (...values: string[]): ValueTest => (v) => values.includes(v);
const list = (item: ValueTest): ValueTest => (v) => v.length > 0 && v.length < 1024 && v.split(',').every((x) => test(item, x));
const flags = (letters: string): Record<string, null> => Object.fromEntries([...letters].map((c) => [c, null]));
const longs = (...names: string[]): Record<string, null> => Object.fromEntries(names.map((n) => [n, null]));

const withSpec =
  (spec: OptionSpec, extra?: (p: { options: Array<{ name: string; value?: string }>; positionals: string[] }, cwd: string) => string | undefined) =>
  (args: readonly string[], cwd = process.cwd()) => {
    const r = getopt(spec, args);
    if (!r.ok) return r.why;
    return extra?.(r.parsed, cwd);
  };

/** The first operand chooses what runs (docker ps, kubectl get): it must come first and be one of `verbs`. */
const verbFirst =
  (verbs: Record<string, (rest: readonly string[]) => string | undefined>, what: string) =>
  (args: readonly string[]): string | undefined => {
    const [verb, ...rest] = args;
    if (verb === undefined) return `it needs a ${what}`;
    if (!Object.hasOwn(verbs, verb)) return `${JSON.stringify(verb)} is not a read-only ${what} the rule allows (${Object.keys(verbs).join(', ')}); options go after it`;
    return verbs[verb]!(rest);
  };

// ps: UNIX options with a dash, BSD letters without one. The BSD `e` (and `-O`/`o` formats we do
// not list) print other processes' environments, twl's own included: never allowed.
const psFormat = list(
  whole(
    '(pid|ppid|pgid|sid|tid|lwp|nlwp|user|uid|euser|ruser|group|gid|comm|args|cmd|command|%cpu|pcpu|%mem|pmem|rss|vsz|sz|stat|state|s|start|start_time|lstart|time|etime|etimes|pri|ni|nice|tty|tt|psr|wchan|f|c|class|rtprio)(=[A-Za-z%_-]{0,20})?',
  ),
);
const psUnix: OptionSpec = {
  short: { ...flags('eAadfFlyHLTw'), o: psFormat, p: list(whole('\\d{1,9}')), u: list(name), U: list(name), C: list(name) },
  long: { ...longs('no-headers', 'forest', 'headers'), sort: list(whole('[+-]?[a-z%_]{1,16}')), pid: list(whole('\\d{1,9}')), ppid: list(whole('\\d{1,9}')), user: list(name) },
};
function checkPs(args: readonly string[]): string | undefined {
  const unix: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith('-')) {
      unix.push(arg);
      // The value of a UNIX option that takes one, when separate.
      if (/^-[eAadfFlyHLTw]*[opuUC]$/.test(arg) || /^--(sort|pid|ppid|user)$/.test(arg)) {
        const value = args[++i];
        if (value !== undefined) unix.push(value);
      }
      continue;
    }
    if (/^\d{1,9}$/.test(arg)) continue;
    // BSD options: a, u, x, w, f, r, l, j, v only.
    const bad = [...arg].find((c) => !'auxwfrljv'.includes(c));
    if (bad !== undefined) return bad === 'e' || bad === 'E' ? `the BSD option ${JSON.stringify(bad)} (in ${JSON.stringify(arg)}) prints process environments` : `${JSON.stringify(arg)} is not a BSD option set the rule allows (letters a u x w f r l j v)`;
  }
  const r = getopt(psUnix, unix);
  return r.ok ? undefined : r.why;
}

// ip: iproute2 reads options and objects by prefix (-b is -batch), so only these exact spellings.
const ipOptions = new Set(['-4', '-6', '-s', '-stats', '-d', '-details', '-br', '-brief', '-j', '-json', '-p', '-pretty', '-o', '-oneline']);
const ipObjects = new Set(['a', 'addr', 'address', 'r', 'route', 'l', 'link', 'n', 'neigh', 'neighbor', 'neighbour']);
const ipFilter = whole('[A-Za-z0-9_][A-Za-z0-9_.:/@-]{0,63}');
function checkIp(args: readonly string[]): string | undefined {
  let i = 0;
  while (i < args.length && args[i]!.startsWith('-')) {
    if (!ipOptions.has(args[i]!)) return `${JSON.stringify(args[i])} is not an ip option the rule allows (${[...ipOptions].join(' ')})`;
    i++;
  }
  const object = args[i++];
  if (object === undefined || !ipObjects.has(object)) return `ip ${JSON.stringify(object ?? '')}: the rule allows listing ${[...ipObjects].join(', ')} only`;
  if (i === args.length) return undefined;
  const verb = args[i++]!;
  if (verb !== 'show' && verb !== 'list') return `ip ${object} ${JSON.stringify(verb)}: only show and list read`;
  const rest = args.slice(i);
  if (rest.length > 6) return 'too many filter words';
  const bad = rest.find((w) => !ipFilter.test(w));
  return bad === undefined ? undefined : `the filter word ${JSON.stringify(bad)} is not one the rule allows`;
}

/** A zone transfer (AXFR, IXFR) dumps a whole zone: not a lookup. */
const zoneTransfer = (v: string) => /^(type)?[ai]xfr(=\d+)?$/i.test(v);

// dig: its own syntax (@server, +options, -x); -f (batch file), -k and -y (keys), -b (source
// address) and -p (port: DNS goes to port 53, never to another service on a chosen port) are not allowed.
const digPlus = whole('\\+(no)?(short|all|answer|authority|additional|question|stats|cmd|comments|trace|tcp|recurse|dnssec|multiline|identify|search)|\\+(time|tries|retry)=\\d{1,2}');
function checkDig(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-4' || arg === '-6') continue;
    if (['-x', '-t', '-c', '-q'].includes(arg)) {
      const value = args[++i];
      if (value === undefined || !host.test(value)) return `${arg} needs a name, type or address`;
      if (zoneTransfer(value)) return `${JSON.stringify(value)} asks for a zone transfer`;
      continue;
    }
    if (arg.startsWith('-')) return `${JSON.stringify(arg)} is not a dig option the rule allows (-4 -6 -x -t -c -q)`;
    if (arg.startsWith('+')) {
      if (!digPlus.test(arg)) return `${JSON.stringify(arg)} is not a dig +option the rule allows`;
      continue;
    }
    if (arg.startsWith('@') ? !host.test(arg.slice(1)) : !host.test(arg)) return `the operand ${JSON.stringify(arg)} is not a name the rule allows`;
    if (zoneTransfer(arg)) return `${JSON.stringify(arg)} asks for a zone transfer`;
  }
  return undefined;
}

// nslookup: -option=value words; with no name it would read commands from standard input. No
// -port= (DNS goes to port 53), no zone transfers.
const nslookupOption = whole('-(type|query|q|class)=[A-Za-z0-9]{1,10}|-(timeout|retry)=\\d{1,5}|-(no)?(debug|vc|recurse)');
function checkNslookup(args: readonly string[]): string | undefined {
  const operands = args.filter((a) => !a.startsWith('-'));
  const bad = args.find((a) => (a.startsWith('-') ? !nslookupOption.test(a) || zoneTransfer(a.split('=')[1] ?? '') : !host.test(a)));
  if (bad !== undefined) return `${JSON.stringify(bad)} is not an nslookup argument the rule allows`;
  if (operands.length < 1 || operands.length > 2) return 'it takes a name and at most a server';
  return undefined;
}

// systemctl: read-only verbs; `show` only for listed properties (a unit's Environment= holds secrets).
const unit = whole('[A-Za-z0-9_@*\\\\][A-Za-z0-9_@.:*\\\\-]{0,255}');
const safeProperties = [
  'Id', 'Names', 'Description', 'LoadState', 'ActiveState', 'SubState', 'UnitFileState', 'Result', 'MainPID', 'ExecMainPID', 'ExecMainStatus', 'ExecMainCode',
  'ExecMainStartTimestamp', 'ExecMainExitTimestamp', 'ActiveEnterTimestamp', 'ActiveExitTimestamp', 'InactiveEnterTimestamp', 'StateChangeTimestamp', 'NRestarts',
  'MemoryCurrent', 'CPUUsageNSec', 'TasksCurrent', 'FragmentPath', 'Restart', 'Type',
];
const systemctlSpec: OptionSpec = {
  short: { ...flags('alq'), n: num(1000), p: list(oneOf(...safeProperties)), t: list(whole('[a-z]{1,12}')) },
  long: { ...longs('no-pager', 'no-legend', 'plain', 'full', 'all', 'failed', 'quiet', 'value'), state: list(whole('[a-z-]{1,20}')), type: list(whole('[a-z]{1,12}')), lines: num(1000), property: list(oneOf(...safeProperties)) },
  positional: (v) => unit.test(v),
  maxPositionals: 33,
};
const systemctlVerbs = new Set(['status', 'is-active', 'is-failed', 'is-enabled', 'is-system-running', 'list-units', 'list-timers', 'list-sockets', 'list-unit-files', 'show']);
const checkSystemctl = withSpec(systemctlSpec, ({ options, positionals }) => {
  const verb = positionals[0];
  if (verb === undefined || !systemctlVerbs.has(verb)) return `${JSON.stringify(verb ?? '')} is not a read-only systemctl verb the rule allows (${[...systemctlVerbs].join(', ')})`;
  if (verb === 'show' && !options.some((o) => o.name === '-p' || o.name === '--property')) return 'systemctl show lists every property, Environment= included: name the properties with -p/--property';
  return undefined;
});

// journalctl: which logs and how many; no other journal files or directories, nothing that writes (vacuum, rotate, flush, keys).
const journalctlSpec: OptionSpec = {
  short: { ...flags('rqkxa'), u: unit, n: num(100000), p: whole('[0-7]|emerg|alert|crit|err|warning|notice|info|debug'), S: when, U: when, o: oneOf('short', 'short-iso', 'short-precise', 'short-monotonic', 'json', 'cat', 'with-unit') },
  long: {
    ...longs('no-pager', 'reverse', 'quiet', 'dmesg', 'catalog', 'utc', 'no-hostname', 'all'),
    unit,
    lines: num(100000),
    priority: whole('[0-7]|emerg|alert|crit|err|warning|notice|info|debug'),
    since: when,
    until: when,
    output: oneOf('short', 'short-iso', 'short-precise', 'short-monotonic', 'json', 'cat', 'with-unit'),
    identifier: name,
    grep: whole('[A-Za-z0-9_ .:@-]{1,64}'),
  },
};

// docker: read-only subcommands, no global options (-H, --config, --context choose another daemon or config).
// inspect is not here: it prints each container's environment (secrets).
const container = whole('[A-Za-z0-9][A-Za-z0-9_.-]{0,127}');
const dockerFilter = whole('[a-z_]{1,20}=[A-Za-z0-9_.:/@-]{1,128}');
const dockerVerbs = {
  ps: withSpec({ short: { ...flags('aqsl'), n: num(1000), f: dockerFilter }, long: { ...longs('all', 'quiet', 'size', 'latest', 'no-trunc'), last: num(1000), filter: dockerFilter } }),
  images: withSpec({ short: flags('aq'), long: longs('all', 'quiet', 'digests', 'no-trunc'), positional: whole('[A-Za-z0-9][A-Za-z0-9_./:-]{0,255}'), maxPositionals: 1 }),
  logs: withSpec({ short: { t: null, n: (v) => v === 'all' || num(100000)(v) }, long: { ...longs('timestamps', 'details'), tail: (v) => v === 'all' || num(100000)(v), since: when, until: when }, positional: container, maxPositionals: 1 }, ({ positionals }) =>
    positionals.length === 1 ? undefined : 'docker logs needs one container',
  ),
  stats: withSpec({ short: flags('a'), long: longs('no-stream', 'all', 'no-trunc'), positional: container, maxPositionals: 32 }, ({ options }) =>
    options.some((o) => o.name === '--no-stream') ? undefined : 'docker stats runs until killed: add --no-stream',
  ),
  version: withSpec({}),
  info: withSpec({}),
};

// kubectl: read-only verbs on resource kinds that hold no credentials; no global options
// (--kubeconfig, --server, --token, --as choose other credentials); -o wide|name only (yaml/json print specs).
const kinds = [
  'pods', 'pod', 'po', 'services', 'service', 'svc', 'deployments', 'deployment', 'deploy', 'nodes', 'node', 'no', 'namespaces', 'namespace', 'ns', 'events', 'event', 'ev',
  'replicasets', 'replicaset', 'rs', 'statefulsets', 'statefulset', 'sts', 'daemonsets', 'daemonset', 'ds', 'jobs', 'job', 'cronjobs', 'cronjob', 'cj', 'ingresses', 'ingress', 'ing',
  'persistentvolumeclaims', 'persistentvolumeclaim', 'pvc', 'persistentvolumes', 'persistentvolume', 'pv', 'endpoints', 'ep', 'horizontalpodautoscalers', 'hpa',
];
const k8sName = whole('[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?');
const kindList: ValueTest = list(oneOf(...kinds));
const kindOrKindName: ValueTest = (v) => (v.includes('/') ? v.split('/').length === 2 && kinds.includes(v.split('/')[0]!) && k8sName.test(v.split('/')[1]!) : test(kindList, v));
const selector = whole('[A-Za-z0-9_./=!,-]{1,256}');
const scope = { short: { A: null, n: k8sName, l: selector }, long: { 'all-namespaces': null, namespace: k8sName, selector } };
const kubectlResources =
  (output: boolean) =>
  (rest: readonly string[]): string | undefined => {
    const r = getopt(
      { short: { ...scope.short, ...(output ? { o: oneOf('wide', 'name') } : {}) }, long: { ...scope.long, ...(output ? { output: oneOf('wide', 'name'), ...longs('no-headers', 'show-labels') } : {}) }, positional: (v) => kindOrKindName(v) || k8sName.test(v), maxPositionals: 16 },
      rest,
    );
    if (!r.ok) return r.why;
    const [first] = r.parsed.positionals;
    if (first === undefined || !kindOrKindName(first)) return `the first operand must be a resource kind the rule allows (${kinds.filter((k) => k.length > 3).join(', ')}): not secrets or configmaps`;
    return undefined;
  };
const kubectlVerbs = {
  get: kubectlResources(true),
  describe: kubectlResources(false),
  logs: withSpec(
    {
      short: { ...scope.short, c: k8sName, p: null },
      long: { ...scope.long, container: k8sName, tail: num(100000), since: whole('\\d{1,6}[smh]'), ...longs('previous', 'timestamps', 'all-containers') },
      positional: (v) => k8sName.test(v) || /^(pod|pods|po|deployment|deploy|job|statefulset|sts|daemonset|ds)\/[a-z0-9][a-z0-9.-]{0,251}$/.test(v),
      maxPositionals: 1,
    },
    ({ positionals }) => (positionals.length === 1 ? undefined : 'kubectl logs needs one pod'),
  ),
  top: withSpec({ short: scope.short, long: { ...scope.long, containers: null }, positional: (v) => ['pod', 'pods', 'po', 'node', 'nodes', 'no'].includes(v) || k8sName.test(v), maxPositionals: 2 }, ({ positionals }) =>
    ['pod', 'pods', 'po', 'node', 'nodes', 'no'].includes(positionals[0] ?? '') ? undefined : 'kubectl top needs pod or node',
  ),
  version: withSpec({ long: { client: null, output: oneOf('json', 'yaml') }, short: { o: oneOf('json', 'yaml') } }),
  'cluster-info': withSpec({}),
};

export const builtIns: BuiltIn[] = [
  { program: 'uptime', reason: 'read-only diagnostic', check: withSpec({ short: flags('ps'), long: longs('pretty', 'since') }) },
  // An operand or -F/-b sets the host name: only the flags that print it.
  { program: 'hostname', reason: 'read-only diagnostic', check: withSpec({ short: flags('fsiIdA'), long: longs('fqdn', 'long', 'short', 'ip-address', 'all-ip-addresses', 'domain', 'all-fqdns') }) },
  { program: 'whoami', reason: 'read-only diagnostic', check: withSpec({}) },
  { program: 'id', reason: 'read-only diagnostic', check: withSpec({ short: flags('ugGnrz'), long: longs('user', 'group', 'groups', 'name', 'real', 'zero'), positional: name, maxPositionals: 1 }) },
  // -s/--set and an MMDDhhmm operand set the clock; -f/--file and -r/--reference read files: only printing, with a +FORMAT.
  {
    program: 'date',
    reason: 'read-only diagnostic',
    check: withSpec({
      short: { ...flags('uR'), d: when, I: null },
      long: { ...longs('utc', 'universal', 'rfc-email'), date: when, 'rfc-3339': oneOf('date', 'seconds', 'ns') },
      longOptional: { 'iso-8601': oneOf('date', 'hours', 'minutes', 'seconds', 'ns') },
      positional: whole('\\+[A-Za-z0-9%:_ ./,-]{0,64}'),
      maxPositionals: 1,
    }),
  },
  { program: 'uname', reason: 'read-only diagnostic', check: withSpec({ short: flags('asnrvmpio'), long: longs('all', 'kernel-name', 'nodename', 'kernel-release', 'kernel-version', 'machine', 'processor', 'hardware-platform', 'operating-system') }) },
  { program: 'nproc', reason: 'read-only diagnostic', check: withSpec({ long: { all: null, ignore: whole('\\d{1,4}') } }) },
  // -s/--sysroot reads another tree: not listed.
  { program: 'lscpu', reason: 'read-only diagnostic', check: withSpec({ short: flags('JepabcxyB'), long: longs('json', 'extended', 'parse', 'all', 'online', 'offline', 'hex', 'physical', 'bytes') }) },
  { program: 'lsblk', reason: 'read-only diagnostic', check: withSpec({ short: { ...flags('abdfJlmnpSt'), o: whole('[A-Z0-9,:%+-]{1,256}') }, long: { ...longs('all', 'bytes', 'nodeps', 'fs', 'json', 'list', 'perms', 'noheadings', 'paths', 'scsi', 'topology'), output: whole('[A-Z0-9,:%+-]{1,256}') }, positional: whole('/dev/[A-Za-z0-9_/.-]{1,64}'), maxPositionals: 8 }) },
  // -s repeats forever: not listed.
  { program: 'free', reason: 'read-only diagnostic', check: withSpec({ short: flags('bkmghwtlv'), long: longs('bytes', 'kilo', 'mega', 'giga', 'kibi', 'mebi', 'gibi', 'human', 'si', 'wide', 'total', 'lohi', 'committed') }) },
  // An operand names a file whose file system is shown (df opens it, never reads it): not under /dev, /proc or /sys, where opening can act.
  {
    program: 'df',
    reason: 'read-only diagnostic',
    check: withSpec(
      { short: { ...flags('hHkTilaP'), t: name, x: name }, long: { ...longs('human-readable', 'si', 'print-type', 'inodes', 'local', 'all', 'portability', 'total'), type: name, 'exclude-type': name }, longOptional: { output: list(oneOf('source', 'fstype', 'itotal', 'iused', 'iavail', 'ipcent', 'size', 'used', 'avail', 'pcent', 'file', 'target')) }, positional: dfPath, maxPositionals: 16 },
      ({ positionals }, cwd) => positionals.map((p) => dfOperandProblem(p, cwd)).find((why) => why !== undefined),
    ),
  },
  { program: 'w', reason: 'read-only diagnostic', check: withSpec({ short: flags('hsuifo'), long: longs('no-header', 'short', 'ip-addr', 'from', 'old-style', 'no-current'), positional: name, maxPositionals: 1 }) },
  // An operand is the utmp file to read: only `who am i`.
  { program: 'who', reason: 'read-only diagnostic', check: withSpec({ short: flags('abdHlmpqrstTuw'), long: longs('all', 'boot', 'dead', 'heading', 'login', 'process', 'count', 'runlevel', 'short', 'time', 'mesg', 'users'), positional: oneOf('am', 'i'), maxPositionals: 2 }) },
  // -f FILE reads any file: not listed.
  { program: 'last', reason: 'read-only diagnostic', check: withSpec({ short: { ...flags('adFiwxR'), n: num(10000) }, long: { ...longs('hostlast', 'dns', 'fulltimes', 'ip', 'fullnames', 'system', 'nohostname'), limit: num(10000) }, positional: name, maxPositionals: 8 }) },
  { program: 'pwd', reason: 'read-only diagnostic', check: withSpec({ short: flags('LP') }) },
  { program: 'ps', reason: 'read-only process listing (never environments)', check: checkPs },
  // -D/--diag writes a file, -K/--kill kills sockets, -F reads a filter file, -N enters another namespace: not listed.
  {
    program: 'ss',
    reason: 'read-only socket listing',
    check: withSpec({
      short: { ...flags('tuwxlanpemoiHrOs460S'), f: oneOf('inet', 'inet6', 'link', 'unix', 'netlink', 'vsock') },
      long: { ...longs('tcp', 'udp', 'raw', 'unix', 'listening', 'all', 'numeric', 'processes', 'extended', 'memory', 'options', 'info', 'no-header', 'resolve', 'oneline', 'summary', 'ipv4', 'ipv6', 'packet', 'sctp'), family: oneOf('inet', 'inet6', 'link', 'unix', 'netlink', 'vsock') },
      positional: whole('[A-Za-z0-9_.:*()=!<>\\[\\]/][A-Za-z0-9_.:*()=!<>\\[\\]/-]{0,63}'),
      maxPositionals: 16,
    }),
  },
  // -c repeats forever: not listed.
  { program: 'netstat', reason: 'read-only socket listing', check: withSpec({ short: flags('tuwxlanpriseoW46g'), long: longs('tcp', 'udp', 'raw', 'unix', 'listening', 'all', 'numeric', 'programs', 'route', 'interfaces', 'statistics', 'extend', 'timers', 'wide', 'groups') }) },
  { program: 'ip', reason: 'read-only network listing', check: checkIp },
  // A count is required (ping runs until killed otherwise); no flood, pattern or size.
  {
    program: 'ping',
    reason: 'bounded ping',
    check: withSpec({ short: { ...flags('nq46'), c: num(10), W: num(10), w: num(30), i: whole('0\\.[2-9]|[1-5](\\.\\d)?') }, positional: host, maxPositionals: 1 }, ({ options, positionals }) =>
      !options.some((o) => o.name === '-c') ? 'ping needs a count: -c N (at most 10)' : positionals.length !== 1 ? 'ping needs one host' : undefined,
    ),
  },
  { program: 'dig', reason: 'DNS lookup', check: checkDig },
  { program: 'nslookup', reason: 'DNS lookup', check: checkNslookup },
  // -l asks for a zone transfer, -m sets memory debugging: not listed.
  {
    program: 'host',
    reason: 'DNS lookup',
    check: withSpec({ short: { ...flags('av46CdrsT'), t: (v) => /^[A-Za-z0-9]{1,10}$/.test(v) && !zoneTransfer(v), c: whole('[A-Za-z]{1,5}'), W: num(30), R: num(5) }, positional: host, maxPositionals: 2 }, ({ positionals }) => (positionals.length ? undefined : 'host needs a name')),
  },
  { program: 'systemctl', reason: 'read-only systemd query', check: checkSystemctl },
  { program: 'journalctl', reason: 'reading logs', check: withSpec(journalctlSpec) },
  { program: 'docker', reason: 'read-only Docker query', check: verbFirst(dockerVerbs, 'docker subcommand') },
  { program: 'kubectl', reason: 'read-only Kubernetes query', check: verbFirst(kubectlVerbs, 'kubectl subcommand') },
];

