import { z } from 'zod';
import { roles } from '../ops/op.js';
import { durationSetting } from '../runtime/duration-setting.js';
import { TwlError } from '../runtime/errors.js';

const duration = durationSetting;

/** A value that may hold a secret: plain text, a `${env:NAME}` reference or a `twl:enc:v1:…` envelope (src/upstream/secrets.ts). */
const secretValue = z.string().max(16 * 1024);
/** A map of names to secret-capable values, each name checked with a message that says what is expected. */
const namedValues = (pattern: RegExp, what: string) =>
  z
    .record(z.string(), secretValue)
    .superRefine((values, ctx) => {
      for (const key of Object.keys(values)) if (!pattern.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: `expected ${what}, got ${JSON.stringify(key.slice(0, 64))}` });
    })
    .default({});
const toolGlob = z.string().min(1).max(128);
const toolName = z.string().min(1).max(128);

export const upstreamNamePattern = /^[a-z][a-z0-9-]{0,31}$/;
/** Namespaces twl keeps for itself: its own tools (`twl`) and workflows (`workflow`). */
export const reservedNamespaces = ['twl', 'workflow'] as const;

/** The namespace of an upstream's tools: its `namespace`, or its name. */
export const namespaceOf = (entry: { name: string; namespace?: string }): string => entry.namespace ?? entry.name;

/** A tool's new name within its namespace: MCP's tool-name alphabet, no `..`, not starting with `.` or `-`. */
const overrideName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'expected 1–64 ASCII letters, digits, "_", "-" or "." (the tool is served as <namespace>_<name>)')
  .refine((n) => !n.includes('..') && !/^[.-]/.test(n), 'must not start with "." or "-" nor hold ".."');

/** What the configuration says of one upstream tool instead of what the upstream declares. */
const toolOverride = z
  .object({
    name: overrideName.optional().describe('Served as <namespace>_<name> instead of <namespace>_<tool>.'),
    title: z.string().min(1).max(200).optional(),
    description: z.string().max(4000).optional(),
    annotations: z
      .object({ readOnlyHint: z.boolean().optional(), destructiveHint: z.boolean().optional(), idempotentHint: z.boolean().optional(), openWorldHint: z.boolean().optional() })
      .strict()
      .optional()
      .describe('Replace the hints the upstream declares (each one given).'),
    minRole: z.enum(roles).optional().describe('Minimum role to call it over HTTP.'),
    needsApproval: z.boolean().optional().describe('Whether a call asks for approval first.'),
  })
  .strict();

export type ToolOverride = z.output<typeof toolOverride>;
/** Names an upstream's environment and headers may have. */
export const envNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const headerNamePattern = /^[A-Za-z0-9-]+$/;

/**
 * `NAME=VALUE` pairs of a repeated flag (`--env`; `--header` also takes `Name: value`), each name
 * once. A malformed pair is named by the flag and, at most, by the name before its separator:
 * never by anything after it, nor by a pair with no separator at all (either may be a secret).
 */
export function flagPairs(values: string[] | undefined, flag: '--env' | '--header'): Record<string, string> {
  const [separator, names] = flag === '--env' ? [/=/, envNamePattern] : [/=|:\s*/, headerNamePattern];
  const fix = { actions: [`Write it as ${flag} NAME=VALUE, or ${flag} NAME='\${env:VARIABLE}' to read the value from twl's environment when the upstream starts.`] };
  const out = new Map<string, string>();
  for (const raw of values ?? []) {
    const match = separator.exec(raw);
    if (!match) throw new TwlError('TWL_INPUT_INVALID', `A ${flag} value has no "=": it is not NAME=VALUE (it is not shown: it may be a secret).`, fix);
    const name = raw.slice(0, match.index).trim();
    if (!names.test(name)) throw new TwlError('TWL_INPUT_INVALID', `${flag} ${JSON.stringify(name.slice(0, 40))} is not NAME=VALUE: ${flag === '--env' ? 'a name is letters, digits and _, not starting with a digit' : 'a header name is letters, digits and -'}.`, fix);
    if (out.has(name)) throw new TwlError('TWL_INPUT_INVALID', `${flag} ${name} is given twice.`);
    out.set(name, raw.slice(match.index + match[0].length));
  }
  return Object.fromEntries(out);
}

export const upstreamConfigSchema = z
  .object({
    name: z.string().regex(upstreamNamePattern, 'expected a lowercase name of letters, digits and -, starting with a letter, at most 32 characters (its tools are named <name>_<tool>)'),
    namespace: z
      .string()
      .regex(upstreamNamePattern, 'expected a lowercase namespace of letters, digits and -, starting with a letter, at most 32 characters (its tools are named <namespace>_<tool>)')
      .refine((n) => !(reservedNamespaces as readonly string[]).includes(n), { message: `twl and workflow are twl's own namespaces: choose another` })
      .optional()
      .describe('Prefix of its tools (<namespace>_<tool>) and what API keys are granted (`twl keys create --namespaces`); default its name.'),
    overrides: z
      .record(toolName, toolOverride)
      .default({})
      .describe('Per tool (its name at the upstream): name, title, description, annotations, minRole, needsApproval served instead of what the upstream declares.'),
    pin: z.boolean().default(true).describe('Pin its tool definitions on first sight: when they change, its tools are quarantined until `twl upstream accept NAME`. false: follow the upstream.'),
    transport: z.enum(['stdio', 'http']).describe('stdio: twl starts the server as a child process; http: twl connects to a Streamable HTTP server.'),
    command: z.string().min(1).optional().describe('stdio: the program (looked up in PATH, never through a shell).'),
    args: z.array(z.string()).default([]).describe('stdio: its arguments.'),
    env: namedValues(envNamePattern, 'an environment variable name (letters, digits, _)').describe('stdio: environment of the child besides PATH, HOME, LANG, TERM, USER (twl\'s own environment is not passed). Values may be ${env:NAME} or encrypted (twl:enc:v1:…).'),
    cwd: z.string().optional().describe('stdio: working directory of the child.'),
    url: z
      .string()
      .refine((value) => {
        try {
          return ['http:', 'https:'].includes(new URL(value).protocol);
        } catch {
          return false;
        }
      }, 'expected an http:// or https:// URL')
      .optional()
      .describe('http: the server\'s MCP endpoint.'),
    headers: namedValues(headerNamePattern, 'an HTTP header name (letters, digits, -)').describe('http: headers sent with every request. Values may be ${env:NAME} or encrypted (twl:enc:v1:…).'),
    sharing: z.enum(['shared', 'pool', 'isolated']).default('shared').describe('shared: one child for every call; pool: min..max children, least-in-flight routing; isolated: one child per downstream session.'),
    pool: z
      .object({ min: z.number().int().min(0).max(64).default(1), max: z.number().int().min(1).max(64).default(4) })
      .strict()
      .refine((p) => p.min <= p.max, 'pool.min must not exceed pool.max')
      .prefault({}),
    timeout: duration('30s').describe('How long one call may take, queue wait included.'),
    startTimeout: duration('30s').describe('How long a child has to start and answer the MCP handshake.'),
    tools: z
      .object({ include: z.array(toolGlob).optional(), exclude: z.array(toolGlob).optional() })
      .strict()
      .prefault({})
      .describe('Globs (* and ?) on the upstream\'s tool names: only included tools, minus excluded ones, are listed and callable.'),
    toolTimeouts: z.record(toolName, duration('30s')).default({}).describe('Per-tool call timeouts, overriding timeout.'),
    cache: z
      .record(
        toolGlob,
        z
          .object({
            ttl: duration('60s').describe('How long a result is served from the cache.'),
            staleIfError: duration('0s').describe('How long past its ttl a cached result may still be served when the upstream fails (0: fail fast with the reason).'),
          })
          .strict(),
      )
      .default({})
      .describe('Response cache for read-only tools (readOnlyHint), by tool glob: L1 in memory, L2 in Redis or the embedded cache.'),
    entityKey: z.record(toolName, z.string().min(1)).default({}).describe('Per tool, the argument naming the entity it writes: calls with the same value run one at a time.'),
    approval: z.enum(['ask', 'never']).default('ask').describe('Whether calls of tools that are not read-only ask for approval.'),
    minRole: z.enum(roles).optional().describe('Minimum role to call its tools (default operator for tools that are not read-only, viewer for read-only ones).'),
    queue: z
      .object({
        max: z.number().int().min(1).max(100_000).default(1000).describe('Calls waiting at most; more are refused at once (queue full).'),
        concurrency: z.number().int().min(1).max(1024).default(64).describe('Calls sent to the upstream at the same time (per upstream).'),
      })
      .strict()
      .prefault({}),
    retries: z.number().int().min(0).max(10).default(2).describe('Retries, with jittered backoff, of calls to idempotent tools (idempotentHint or read-only) that failed for want of the upstream (not tool errors).'),
    breaker: z
      .object({
        failures: z.number().int().min(1).max(1000).default(5).describe('Consecutive failed calls (timeouts, dead child) that open the breaker.'),
        halfOpenAfter: duration('10s').describe('How long the breaker stays open before one trial call.'),
      })
      .strict()
      .prefault({}),
    restart: z
      .object({
        maxRestarts: z.number().int().min(0).max(100).default(5).describe('Crashes within window that put the upstream in crash-loop.'),
        window: duration('60s'),
        backoff: duration('200ms').describe('First respawn delay, doubled (with jitter) per crash up to 10 s.'),
        crashLoopFor: duration('60s').describe('How long crash-loop refuses calls before trying again.'),
      })
      .strict()
      .prefault({}),
    idleTimeout: duration('15m').describe('A child with no call for this long is stopped (and started again on the next call); 0: never.'),
    healthInterval: duration('30s').describe('A ping to each idle ready child this often; a child that does not answer in timeout is restarted; 0: never.'),
    maxMessageBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(8 * 1024 * 1024).describe('Largest message accepted from the upstream; a larger one fails the call and restarts the child.'),
    maxTools: z.number().int().min(1).max(100_000).default(1000).describe('Most tools accepted from one listing; a larger listing is refused.'),
    killGrace: duration('2s').describe('Between SIGTERM and SIGKILL of a child\'s process group when it is stopped.'),
  })
  .strict()
  .superRefine((entry, ctx) => {
    if (entry.namespace === undefined && (reservedNamespaces as readonly string[]).includes(entry.name)) ctx.addIssue({ code: 'custom', path: ['namespace'], message: `required for an upstream named ${entry.name}: twl and workflow are twl's own namespaces` });
    const renamed = new Map<string, string>();
    for (const [tool, override] of Object.entries(entry.overrides)) {
      if (!override.name) continue;
      const other = renamed.get(override.name);
      if (other) ctx.addIssue({ code: 'custom', path: ['overrides', tool, 'name'], message: `${override.name} is also the new name of ${other}: two tools cannot share a name` });
      renamed.set(override.name, tool);
    }
    if (entry.transport === 'stdio') {
      if (!entry.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'required for transport stdio: the program that starts the server' });
      if (entry.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'only for transport http' });
      if (Object.keys(entry.headers).length) ctx.addIssue({ code: 'custom', path: ['headers'], message: 'only for transport http (use env for a stdio child)' });
    } else {
      if (!entry.url) ctx.addIssue({ code: 'custom', path: ['url'], message: 'required for transport http: the server\'s MCP endpoint' });
      if (entry.command) ctx.addIssue({ code: 'custom', path: ['command'], message: 'only for transport stdio' });
      if (entry.sharing === 'pool') ctx.addIssue({ code: 'custom', path: ['sharing'], message: 'pool is for stdio children; an http upstream is one connection (shared) or one per session (isolated)' });
    }
  });

/** The `upstreams:` configuration key: a list with unique names. */
export const upstreamsSchema = z
  .array(upstreamConfigSchema)
  .default([])
  .superRefine((entries, ctx) => {
    const seen = new Set<string>();
    const namespaces = new Map<string, string>();
    entries.forEach((entry, i) => {
      if (seen.has(entry.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate upstream name ${JSON.stringify(entry.name)}` });
      seen.add(entry.name);
      const ns = namespaceOf(entry);
      const other = namespaces.get(ns);
      if (other !== undefined && other !== entry.name) ctx.addIssue({ code: 'custom', path: [i, 'namespace'], message: `namespace ${ns} is upstream ${other}'s too: each upstream needs its own` });
      namespaces.set(ns, entry.name);
    });
  })
  .describe('MCP servers twl uses: their tools join the catalog as <name>_<tool> (docs/upstreams.md).');

export type UpstreamConfig = z.output<typeof upstreamConfigSchema>;
export type UpstreamConfigInput = z.input<typeof upstreamConfigSchema>;
