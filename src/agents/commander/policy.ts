import path from 'node:path';
import type { Config } from '../../runtime/config.js';

export type Decision = 'allow' | 'ask' | 'deny';

export interface Verdict {
  decision: Decision;
  /** Which rule decided, for the audit log. */
  rule: string;
  reason: string;
}

interface Rule {
  program: string;
  args?: string;
  decision: Decision;
  reason?: string;
}

/**
 * Read-only diagnostics that run without asking (the default policy): each program with the
 * argument shapes that only read. Anything else asks, unless the configuration says otherwise.
 */
export const builtInRules: Rule[] = [
  ...['uptime', 'hostname', 'whoami', 'id', 'date', 'uname', 'nproc', 'lscpu', 'lsblk', 'free', 'df', 'w', 'who', 'last', 'pwd'].map((program) => ({
    program,
    decision: 'allow' as const,
    reason: 'read-only diagnostic',
  })),
  { program: 'ps', decision: 'allow', reason: 'read-only diagnostic' },
  { program: 'ss', decision: 'allow', reason: 'read-only diagnostic' },
  { program: 'netstat', decision: 'allow', reason: 'read-only diagnostic' },
  { program: 'ip', args: '^(-[a-z0-9]+ )*(a|addr|address|r|route|l|link|n|neigh)( (show|list)( [\\w.:/-]+)*)?$', decision: 'allow', reason: 'read-only network listing' },
  { program: 'ping', args: '^-c [1-9]\\d? [\\w.:-]+$', decision: 'allow', reason: 'bounded ping' },
  { program: 'dig', decision: 'allow', reason: 'DNS lookup' },
  { program: 'nslookup', decision: 'allow', reason: 'DNS lookup' },
  { program: 'host', decision: 'allow', reason: 'DNS lookup' },
  { program: 'systemctl', args: '^(status|is-active|is-failed|is-enabled|list-units|list-timers|show)( [\\w@.:-]+)*$', decision: 'allow', reason: 'read-only systemd query' },
  { program: 'journalctl', args: '^(-[unp] [\\w@.:-]+ |--unit[= ][\\w@.:-]+ |--since[= ][\\w:.-]+ |-n \\d+ |--no-pager )*(-[unp] [\\w@.:-]+|--no-pager|-n \\d+)?$', decision: 'allow', reason: 'reading logs' },
  { program: 'docker', args: '^(ps|images|inspect|logs|stats --no-stream|version|info)( [\\w@.:/=-]+)*$', decision: 'allow', reason: 'read-only Docker query' },
  { program: 'kubectl', args: '^(get|describe|logs|top|version|cluster-info)( [\\w@.:/=,-]+)*$', decision: 'allow', reason: 'read-only Kubernetes query' },
];

/** A program named the way a rule names it: a bare name matches that program anywhere; an absolute path matches only itself. */
function programMatches(rule: string, program: string, resolved: string | undefined): boolean {
  if (path.isAbsolute(rule)) return rule === program || rule === resolved;
  return rule === program || (resolved !== undefined && path.basename(resolved) === rule && isSystemPath(resolved));
}

/** Programs in the usual system directories (a bare rule name never matches ./ls or /tmp/ls). */
const isSystemPath = (file: string) => /^\/(usr\/)?(local\/)?s?bin\/[^/]+$/.test(file) || /\/node_modules\/\.bin\/[^/]+$/.test(file) || /\/node_modules\/node\/bin\/node$/.test(file);

/**
 * Decides on a command: the configured rules first, in order, then the built-in read-only
 * diagnostics, then the configured default. Nothing about the command changes what rules
 * apply: an op cannot edit the policy.
 */
export function decide(config: Config['commander'], program: string, args: string[], resolved?: string): Verdict {
  const joined = args.join(' ');
  const rules: Array<{ rule: Rule; name: string }> = [
    ...config.rules.map((rule, i) => ({ rule, name: `commander.rules[${i}]` })),
    ...builtInRules.map((rule) => ({ rule, name: `built-in: ${rule.program}` })),
  ];
  for (const { rule, name } of rules) {
    if (!programMatches(rule.program, program, resolved)) continue;
    if (rule.args !== undefined && !new RegExp(rule.args).test(joined)) continue;
    return { decision: rule.decision, rule: name, reason: rule.reason ?? `${rule.decision} by ${name}` };
  }
  return { decision: config.default, rule: 'commander.default', reason: `no rule matches ${path.basename(program)}: the default is ${config.default}` };
}
