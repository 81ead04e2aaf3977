import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { roles } from '../ops/op.js';
import { upstreamsSchema } from '../upstream/config.js';
import { durationOrOffSetting, durationSetting } from './duration-setting.js';
import { TwlError, messageOf } from './errors.js';
import { redactText } from './redact.js';

const duration = durationSetting;

const urlOf = (schemes: string[], what: string) =>
  z.string().refine((value) => {
    try {
      return schemes.includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, `expected ${what} URL (${schemes.map((s) => `${s}//…`).join(' or ')})`);

/** Whether a URL's host is this machine (127.0.0.0/8, ::1, localhost). */
export const isLoopbackUrl = (url: URL): boolean => url.hostname === 'localhost' || url.hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(url.hostname);

/** An https:// URL, or http:// to this machine only: keys fetched in clear from elsewhere could be swapped in transit. */
const httpsUrl = (what: string, required?: string) =>
  z.string({ error: (issue) => (issue.input === undefined && required ? required : `expected ${what} https:// URL, got ${typeof issue.input}`) }).refine((value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(url));
    } catch {
      return false;
    }
  }, `expected ${what} https:// URL (http:// only to localhost, 127.0.0.1 or [::1])`);

const validRegExp = (source: string) => {
  try {
    new RegExp(source, 's');
    return true;
  } catch {
    return false;
  }
};
const optionName = z.string().regex(/^--?[A-Za-z0-9][A-Za-z0-9_-]*$/, 'an option as it is typed: -x, --name or -word');
/** Environment variables that hold twl's secrets or look like a secret: never passed to a command. */
export const secretName = (name: string) => /^TWL_/i.test(name) || /(KEY|TOKEN|SECRET|PASSW|CREDENTIAL|DATABASE_URL|PGPASS|AUTH)/i.test(name);
const postgresUrl = urlOf(['postgres:', 'postgresql:'], 'a PostgreSQL');
const redisUrl = urlOf(['redis:', 'rediss:'], 'a Redis');

const parsesAs = (value: string, schemes: string[], needsHost = false): boolean => {
  try {
    const url = new URL(value);
    return schemes.includes(url.protocol) && (!needsHost || url.hostname !== '');
  } catch {
    return false;
  }
};

/** What a service's target must look like for its kind; null when it does. */
export function targetProblem(kind: string, target: string): string | null {
  switch (kind) {
    case 'http':
      return parsesAs(target, ['http:', 'https:'], true) ? null : 'expected an http:// or https:// URL for an http service';
    case 'tcp': {
      const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(target);
      return m && Number(m[2]) >= 1 && Number(m[2]) <= 65535 ? null : 'expected host:port for a tcp service (e.g. 127.0.0.1:5432 or [::1]:80)';
    }
    case 'process':
      return /^[^\s/]+$/.test(target) ? null : 'expected a process name (no spaces or slashes) for a process service';
    case 'container':
      return /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(target) ? null : 'expected a container name or id for a container service';
    case 'systemd':
      return /^[A-Za-z0-9@:_.\\][A-Za-z0-9@:_.\\-]*$/.test(target) ? null : 'expected a systemd unit name (e.g. nginx.service) for a systemd service';
    case 'postgres':
      return parsesAs(target, ['postgres:', 'postgresql:']) ? null : 'expected a postgres:// URL for a postgres service';
    case 'redis':
      return parsesAs(target, ['redis:', 'rediss:']) ? null : 'expected a redis:// or rediss:// URL for a redis service';
    default:
      return null;
  }
}

export const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const configSchema = z
  .object({
    home: z.string().optional().describe('Data directory (embedded store, run files). Default: $XDG_DATA_HOME/twl.'),
    log: z.object({ level: z.enum(logLevels).default('warn').describe('pino level for logs on stderr.') }).strict().prefault({}),
    database: z
      .object({
        url: postgresUrl.optional().describe('PostgreSQL for twl\'s store. Unset: the embedded PGlite store in the data directory.'),
        poolSize: z.number().int().min(1).max(100).default(5).describe('Connections per twl process.'),
        autoMigrate: z.boolean().default(true).describe('Apply pending migrations when the store is opened.'),
        targets: z
          .record(
            z.string().regex(/^[A-Za-z][\w-]*$/, 'expected a target name of letters, digits, - and _'),
            z.object({ url: postgresUrl, description: z.string().optional() }).strict(),
          )
          .default({})
          .describe('Other PostgreSQL databases the db tools may inspect, chosen with --target NAME.'),
        readOnlyRole: z
          .string()
          .min(1)
          .max(63)
          .optional()
          .describe('On PostgreSQL (the store and every target), run `db query` statements as this role (SET LOCAL ROLE): one with read rights only. See docs/sql-guard.md for the grants.'),
        queryMaxBytes: z
          .number()
          .int()
          .min(1024)
          .max(1024 * 1024 * 1024)
          .default(10 * 1024 * 1024)
          .describe('`db query` returns rows up to this many bytes (their JSON size), then stops and says the result was truncated.'),
      })
      .strict()
      .prefault({}),
    redis: z
      .object({
        url: redisUrl.optional().describe('Redis for the cache. Unset: a TTL table in the store.'),
        prefix: z.string().default('twl:').describe('Prefix of every cache key in Redis.'),
      })
      .strict()
      .prefault({}),
    llm: z
      .object({
        host: urlOf(['http:', 'https:'], 'an HTTP').optional().describe('Ollama server. Unset: rule-based agents only.'),
        model: z.string().min(1).default('llama3.1').describe('Ollama model for chat, generation, classification and planning.'),
        timeout: duration('60s').describe('How long one LLM request may take.'),
      })
      .strict()
      .prefault({}),
    runbooks: z
      .array(
        z
          .object({
            name: z.string().min(1).describe('Shown on the timeline.'),
            when: z
              .object({
                categories: z.array(z.enum(['application', 'server', 'network', 'database', 'security', 'access', 'hardware', 'email', 'storage', 'other'])).optional(),
                keywords: z.array(z.string().min(1)).optional().describe('Any of these words in the ticket (case and accents ignored).'),
              })
              .strict()
              .refine((w) => w.categories?.length || w.keywords?.length, 'expected categories or keywords'),
            steps: z
              .array(
                z
                  .object({
                    tool: z.string().min(1).describe('An MCP tool name, e.g. database_db_health or cache_cache_delete.'),
                    input: z.record(z.string(), z.unknown()).default({}),
                    approval: z.boolean().optional().describe('Ask before running; default: yes for any tool that is not read-only.'),
                  })
                  .strict(),
              )
              .min(1),
            resolution: z.string().min(1).describe('The resolution written when every step succeeds.'),
          })
          .strict(),
      )
      .default([])
      .describe('Symptoms mapped to steps: Maestro runs a matching runbook after its checks.'),
    services: z
      .array(
        z
          .object({
            name: z.string().regex(/^[\w.-]+$/, 'expected a service name of letters, digits, ., - and _'),
            kind: z.enum(['http', 'tcp', 'process', 'container', 'systemd', 'postgres', 'redis']),
            target: z.string().min(1).describe('URL (http), host:port (tcp), process name, container name, systemd unit, or connection URL (postgres, redis).'),
            healthy: z
              .object({
                status: z.array(z.number().int().min(100).max(599)).optional().describe('HTTP statuses that count as healthy (default: 200–399).'),
                bodyMatch: z.string().optional().describe('A regular expression the body must match.'),
                latencyMs: z.number().positive().optional().describe('Slower than this: degraded.'),
              })
              .strict()
              .prefault({}),
            timeout: duration('5s'),
            categories: z.array(z.enum(['application', 'server', 'network', 'database', 'security', 'access', 'hardware', 'email', 'storage', 'other'])).optional().describe('Ticket categories this service concerns (default from its kind).'),
            keywords: z.array(z.string().min(1)).optional().describe('Words in a ticket that point at this service (its name always does).'),
            actions: z
              .object({
                restart: z.array(z.string().min(1)).min(1).optional().describe('Program and arguments that restart it, run through the commander policy.'),
                logs: z.array(z.string().min(1)).min(1).optional(),
              })
              .strict()
              .prefault({}),
          })
          .strict()
          .superRefine((service, ctx) => {
            const problem = targetProblem(service.kind, service.target);
            if (problem) ctx.addIssue({ code: 'custom', path: ['target'], message: `${problem}, got ${JSON.stringify(redactText(service.target))}` });
          }),
      )
      .default([])
      .describe('The services twl checks and acts on.'),
    commander: z
      .object({
        rules: z
          .array(
            z
              .object({
                program: z
                  .string()
                  .min(1)
                  .refine((p) => path.isAbsolute(p) || !p.includes('/'), 'a bare name (looked up in the system directories) or an absolute path')
                  .describe('A bare program name (the file of that name in /usr/local/sbin, /usr/local/bin, /usr/sbin, /usr/bin, /sbin or /bin, never the caller\'s PATH) or an absolute path.'),
                args: z
                  .string()
                  .refine(validRegExp, 'a valid JavaScript regular expression')
                  .optional()
                  .describe('A regular expression (dotAll: . matches newlines too) the arguments, joined by single spaces, must match; anchor it with ^…$. Prefer argv.'),
                argv: z
                  .object({
                    flags: z.array(optionName).optional().describe('The options that may appear; any other argument starting with - falls outside the rule.'),
                    denyFlags: z.array(optionName).optional().describe('Options that may not appear in any spelling: clustered (-De), with a value (--opt=v, -ovalue), abbreviated (--opt-d), after --.'),
                    positional: z.string().refine(validRegExp, 'a valid JavaScript regular expression').optional().describe('A regular expression every operand must match whole.'),
                    maxPositionals: z.number().int().min(0).optional(),
                  })
                  .strict()
                  .optional()
                  .describe('Structured argument conditions, checked argument by argument (see docs/commander.md).'),
                decision: z.enum(['allow', 'ask', 'deny']),
                reason: z.string().optional(),
              })
              .strict(),
          )
          .default([])
          .describe('Checked in order before the built-in read-only diagnostics; the first match decides.'),
        builtIns: z.boolean().default(true).describe('Allow the built-in read-only diagnostics (docs/commander.md); false: only commander.rules and the default decide.'),
        default: z.enum(['allow', 'ask', 'deny']).default('ask').describe('For a command no rule matches.'),
        cwd: z.array(z.string()).default([]).describe('Directories commands may run in (and below); empty: the data directory only.'),
        env: z
          .array(
            z
              .string()
              .regex(/^[A-Za-z_][A-Za-z0-9_]*$/)
              .refine((n) => !secretName(n), 'not a TWL_* variable or a secret-looking name (KEY, TOKEN, SECRET, PASSWORD, CREDENTIAL, DATABASE_URL): twl\'s secrets never reach a child'),
          )
          .default(['HOME', 'LANG', 'LC_ALL', 'TZ', 'TERM'])
          .describe('Environment variables passed through from twl\'s own; nothing else is. PATH is always the system directories.'),
        timeout: duration('30s'),
        maxOutput: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024).describe('Bytes of stdout and of stderr kept.'),
      })
      .strict()
      .prefault({}),
    browser: z
      .object({
        allow: z.array(z.string()).default(['*']).describe('Hosts that may be browsed (* wildcards).'),
        deny: z.array(z.string()).default([]).describe('Hosts that may not, even when allowed.'),
        denyNetworks: z
          .array(z.string().regex(/^[0-9a-fA-F:.]+\/\d{1,3}$/, 'expected an address range in CIDR notation, e.g. 169.254.0.0/16'))
          .default(['0.0.0.0/8', '169.254.0.0/16', '100.100.100.200/32', '224.0.0.0/4', '255.255.255.255/32', '::/128', 'fe80::/10', 'fd00:ec2::254/128', 'ff00::/8'])
          .describe('Addresses never connected to, whatever the host name resolves to (redirects included): by default link-local (cloud metadata services), unspecified and multicast.'),
        timeout: duration('15s'),
        maxBytes: z.number().int().min(1024).default(5 * 1024 * 1024),
        chromium: z.string().optional().describe('Path to Chromium (e.g. /usr/bin/chromium): browse --screenshot then saves a PNG of the page.'),
      })
      .strict()
      .prefault({}),
    backup: z
      .object({
        dir: z.string().optional().describe('Where backups go (default: <data dir>/backups).'),
        keepLast: z.number().int().min(1).optional().describe('Prune keeps the newest N backups.'),
        keepDays: z.number().int().min(1).optional().describe('Prune keeps backups younger than N days.'),
      })
      .strict()
      .prefault({}),
    http: z
      .object({
        auth: z.enum(['keys', 'none']).default('keys').describe('keys: every route but /health/live needs an API key (twl keys create); none: only for a loopback bind you trust.'),
        rateLimit: z
          .object({
            ip: z.object({ capacity: z.number().int().min(1).default(20), refillPerMinute: z.number().min(0.01).default(20) }).strict().prefault({}).describe('Requests without a valid key, per client address.'),
            key: z.object({ capacity: z.number().int().min(1).default(600), refillPerMinute: z.number().min(0.01).default(600) }).strict().prefault({}).describe('Requests per API key.'),
          })
          .strict()
          .prefault({}),
        replica: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'expected a replica name: letters, digits, - and _ (at most 63), starting with a letter or digit')
          .optional()
          .describe('This replica\'s name when several serve one address (TWL_REPLICA). MCP 2025 session ids start with "<name>." so a load balancer can route a session back to it (deploy/nginx.conf).'),
        trustProxy: z.boolean().default(false).describe('Take the client address from X-Forwarded-For (behind a load balancer).'),
        bodyLimit: z.number().int().min(1024).default(1024 * 1024).describe('Largest request body, in bytes.'),
        allowedHosts: z.array(z.string()).default([]).describe('Host headers accepted besides loopback names.'),
        timeouts: z
          .object({
            headers: z.number().min(1).default(10).describe('Seconds a client has to send the request line and headers; then the connection is closed.'),
            request: z.number().min(1).default(60).describe('Seconds a client has to send a whole request, body included (not the answer: streams stay open); then 408 and the connection is closed.'),
            keepAlive: z.number().min(1).default(5).describe('Seconds an idle keep-alive connection stays open between two requests.'),
            sessionIdle: z.number().min(1).default(1800).describe('Seconds a 2025 MCP session (Mcp-Session-Id) lives without a request or an open stream; then it is closed and its client must initialize again.'),
          })
          .strict()
          .prefault({}),
        events: z
          .object({
            heartbeat: z.number().min(1).default(15).describe('Seconds between two heartbeats (an SSE comment) on an idle GET /api/events stream, so proxies keep it open.'),
            perKey: z.number().int().min(1).default(4).describe('Open GET /api/events streams per API key, token or (auth: none) client; one more is refused with 429.'),
            buffer: z.number().int().min(1024).default(1024 * 1024).describe('Bytes of events queued for one GET /api/events client that does not read them; past this it is disconnected (it may resume with Last-Event-ID).'),
          })
          .strict()
          .prefault({})
          .describe('The change feed over Server-Sent Events: GET /api/events.'),
        oauth: z
          .object({
            issuer: httpsUrl('an', 'required when http.oauth is set: the authorization server\'s URL (the tokens\' "iss")').describe('The authorization server, exactly as the tokens\' "iss" claim spells it (a trailing slash counts).'),
            audience: z
              .string({ error: (issue) => (issue.input === undefined ? 'required when http.oauth is set: this server\'s identifier (the tokens\' "aud")' : `expected a string, got ${typeof issue.input}`) })
              .min(1, 'expected this server\'s identifier (the tokens\' "aud"), not an empty string').describe('This server\'s identifier: a token is accepted only when its "aud" is (or contains) it.'),
            jwksUri: httpsUrl('an')
              .optional()
              .describe('The issuer\'s signing keys (JWKS). Default: "jwks_uri" of <issuer>/.well-known/openid-configuration, else <issuer>/.well-known/jwks.json.'),
            roleClaim: z
              .string()
              .min(1, 'expected the name of a claim')
              .default('twl_role')
              .describe(`The claim holding the caller's role, as one string: ${roles.join(', ')}. Any other value refuses the token.`),
            defaultRole: z.enum(roles).optional().describe('The role of a token without the role claim. Unset: such a token is refused.'),
          })
          .strict()
          .optional()
          .describe('Also accept OAuth 2.0 bearer JWTs from this issuer (besides API keys), signed with an asymmetric key of its JWKS.'),
      })
      .strict()
      .prefault({}),
    docker: z
      .object({ socket: z.string().default('/var/run/docker.sock').describe('The Docker Engine API socket.') })
      .strict()
      .prefault({}),
    upstreams: upstreamsSchema,
    workflows: z
      .array(z.unknown())
      .default([])
      .describe('Workflows written inline (each as in a workflows/*.yaml file beside this file; see docs/workflows.md). Validated when loaded: a broken one is skipped with its problem, and `twl workflow validate` lists them.'),
    maestro: z
      .object({ maxSteps: z.number().int().min(1).max(50).default(8).describe('Step budget of one plan (and of the LLM tool-calling loop).') })
      .strict()
      .prefault({}),
    docs: z
      .object({
        maxFileBytes: z.number().int().min(1024).default(2 * 1024 * 1024).describe('Files larger than this are skipped (with the reason) when a folder or package is indexed.'),
        cacheTtl: duration('5m').describe('How long resolve-library-id and query-docs answers stay in the cache (the index changing clears them sooner).'),
        tokens: z.number().int().min(100).max(100_000).default(5000).describe('The default token budget of query-docs (Context7\'s "tokens").'),
        crawl: z
          .object({
            depth: z.number().int().min(0).max(20).default(3).describe('Links followed from the start page.'),
            maxPages: z.number().int().min(1).max(100_000).default(500),
            rate: z.number().min(0.1).max(100).default(5).describe('Requests per second at most (robots.txt\'s Crawl-delay may slow it further).'),
          })
          .strict()
          .prefault({}),
        runbooks: z.array(z.string()).default([]).describe('Folders or files of runbooks (Markdown…) indexed as /twl/runbooks, with the configured runbooks.'),
        roots: z.array(z.string().min(1)).default([]).describe('Folders (and git repositories) that docs_add_library may read when called over MCP or REST; the CLI may read any path its user can. Empty: local paths only from the CLI.'),
        embeddings: z
          .object({
            model: z
              .string()
              .min(1)
              .optional()
              .describe('An Ollama embedding model (at llm.host, e.g. nomic-embed-text) for vector search, fused with full-text by reciprocal rank; chunks are embedded when indexed, and again at refresh after the model changes. Needs the vector extension: always there on the embedded store, pgvector on PostgreSQL. Unset: full-text only.'),
            batch: z.number().int().min(1).max(512).default(32).describe('Chunks sent to Ollama in one /api/embed request when indexing.'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({})
      .describe('The documentation index (twl docs, resolve-library-id, query-docs): see docs/docs-server.md.'),
    tasks: z
      .object({
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,48}$/, 'expected a lowercase PostgreSQL schema name (letters, digits, underscores)')
          .default('pgboss')
          .describe('The PostgreSQL schema of the job queue; pg-boss creates and migrates it.'),
        retries: z.number().int().min(0).max(100).default(2).describe('Retries of a failed task run, with exponential backoff (a task may set its own).'),
        retryDelay: duration('5s').describe('Delay before the first retry; doubled for each retry after it.'),
        timeout: duration('15m').describe('How long one run of a task may take before it fails and is retried (a task may set its own).'),
        heartbeat: duration('10s')
          .refine((ms) => ms >= 10_000, 'expected 10s or more (the job queue checks heartbeats at that granularity)')
          .describe('A worker silent for this long (killed, frozen, cut off) loses its task, and another worker retries it.'),
        pollInterval: duration('500ms')
          .refine((ms) => ms >= 500, 'expected 500ms or more')
          .describe('How often an idle worker looks for due tasks.'),
        superviseInterval: duration('10s')
          .refine((ms) => ms >= 1000, 'expected 1s or more')
          .describe('How often workers look for runs whose worker went silent (and retry them).'),
      })
      .strict()
      .prefault({}),
    store: z
      .object({
        lockTimeout: duration('10s').describe('How long a command waits for the embedded store held by another process.'),
        activityRetention: duration('1d').describe('How long op calls are kept for the dashboard\'s metrics.'),
        eventRetention: durationOrOffSetting('7d', 'a retention', [60_000, '1m']).describe(
          'How long the studio\'s change feed (twl_events: task, execution and agent statuses, output lines) is kept for GET /api/events resumes and followers; older events are deleted a batch at a time by twl worker, twl serve and the store host (and now and then by any twl process), or now with twl db prune; a GET /api/events client resuming after a deleted event is told (event: pruned). The output lines themselves stay in the tasks\' logs. off: kept forever.',
        ),
        runRetention: durationOrOffSetting('30d', 'a retention such as 30d', [3_600_000, '1h']).describe(
          'How long the run history is kept: task executions (with their output lines), agent runs (with their steps) and workflow runs (with their steps), counted from when each ended. Never deleted: what still runs or waits for its turn (a workflow run left waiting_approval has ended: it goes), a task\'s latest execution, and a run another kept row refers to. Deleted a batch at a time by twl worker, twl serve and the store host (and now and then by any twl process), or now with twl db prune. off: kept forever.',
        ),
        auditRetention: durationOrOffSetting('off', 'a retention such as 365d', [86_400_000, '1d']).describe(
          'How long the audit trails are kept: the commander\'s decisions (twl_audit, twl audit list) and the tool calls (twl_tool_calls). off (the default): kept forever, as compliance usually asks; set it (365d, for instance) to delete older rows, a batch at a time, like the run history.',
        ),
        workflowLease: duration('1m')
          .refine((ms) => ms >= 1000, 'expected 1s or more')
          .describe(
            "How long a running workflow run stays its process's without renewal (renewed every third of it while the run goes on). Once it runs out, the store's upkeep (twl worker, twl serve, the store host, twl db prune) marks the run failed (TWL_WORKFLOW_LOST): its process was killed or its machine lost. A process frozen longer than this (a suspended laptop) finds its run failed, and records how it really ended when it comes back.",
          ),
        autoHost: durationOrOffSetting('2m', 'an idle time')
          .describe('CLI commands start a background store host that later commands share, and that exits after this idle time; off: each command opens the store itself.'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type Runbook = Config['runbooks'][number];
export type Service = Config['services'][number];
export type ConfigInput = z.input<typeof configSchema>;

export interface LoadedConfig {
  config: Config;
  /** The file it came from, if any. */
  file?: string;
  /** The data directory, resolved. */
  home: string;
  /** Keys set from the environment, as `key ← VARIABLE`. */
  fromEnv: string[];
}

/** Environment variables that override a configuration key. */
export const envOverrides: Array<{ variable: string; key: string[] }> = [
  { variable: 'TWL_HOME', key: ['home'] },
  { variable: 'TWL_DATABASE_URL', key: ['database', 'url'] },
  { variable: 'TWL_REDIS_URL', key: ['redis', 'url'] },
  { variable: 'TWL_REDIS_PREFIX', key: ['redis', 'prefix'] },
  { variable: 'TWL_LOG_LEVEL', key: ['log', 'level'] },
  { variable: 'TWL_LLM_HOST', key: ['llm', 'host'] },
  { variable: 'TWL_LLM_MODEL', key: ['llm', 'model'] },
  { variable: 'TWL_STORE_LOCK_TIMEOUT', key: ['store', 'lockTimeout'] },
  { variable: 'TWL_STORE_AUTO_HOST', key: ['store', 'autoHost'] },
  { variable: 'TWL_STORE_WORKFLOW_LEASE', key: ['store', 'workflowLease'] },
  { variable: 'TWL_REPLICA', key: ['http', 'replica'] },
  { variable: 'TWL_TASKS_SCHEMA', key: ['tasks', 'schema'] },
];

export const defaultHome = (env: NodeJS.ProcessEnv = process.env): string =>
  path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'twl');

const importModule = async (filepath: string): Promise<unknown> => {
  const mod = (await import(pathToFileURL(filepath).href)) as { default?: unknown };
  return mod.default ?? mod;
};

async function findFile(cwd: string, explicit?: string): Promise<{ file?: string; raw: unknown }> {
  const { cosmiconfig } = await import('cosmiconfig');
  // Node >= 22.18 strips TypeScript types itself, so twl.config.ts needs no compiler at run time.
  const explorer = cosmiconfig('twl', { searchStrategy: 'global', loaders: { '.ts': importModule, '.mts': importModule } });
  try {
    const result = explicit ? await explorer.load(path.resolve(cwd, explicit)) : await explorer.search(cwd);
    if (!result) return { raw: {} };
    return { file: result.filepath, raw: result.isEmpty ? {} : result.config };
  } catch (err) {
    const file = explicit ? path.resolve(cwd, explicit) : (err as { filepath?: string }).filepath;
    throw new TwlError('TWL_CONFIG_UNREADABLE', `Cannot read the configuration${file ? ` ${file}` : ''}: ${messageOf(err)}`);
  }
}

const setPath = (target: Record<string, unknown>, key: string[], value: unknown): void => {
  let node = target;
  for (const part of key.slice(0, -1)) {
    const next = node[part];
    node[part] = next && typeof next === 'object' ? { ...(next as object) } : {};
    node = node[part] as Record<string, unknown>;
  }
  node[key.at(-1)!] = value;
};

/** Turns a validation failure into one readable message naming the file, each key and what is expected. */
export function describeIssues(error: z.ZodError, file: string | undefined, fromEnv: Map<string, string>): string {
  const lines = error.issues.map((issue) => {
    const key = issue.path.map(String).join('.') || '(top level)';
    const variable = fromEnv.get(key);
    const message = issue.code === 'unrecognized_keys' ? `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}` : redactText(issue.message);
    return `  - ${key}${variable ? ` (from ${variable})` : ''}: ${message}`;
  });
  return `Invalid configuration in ${file ?? 'the environment'}:\n${lines.join('\n')}`;
}

/** Validates a raw object (the parsed file plus environment overrides). */
export function validateConfig(raw: unknown, file?: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TwlError('TWL_CONFIG_INVALID', `Invalid configuration in ${file ?? 'the input'}: expected an object of settings at the top level.`);
  }
  const merged: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  const fromEnv = new Map<string, string>();
  for (const { variable, key } of envOverrides) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    setPath(merged, key, value);
    fromEnv.set(key.join('.'), variable);
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new TwlError('TWL_CONFIG_INVALID', describeIssues(parsed.error, file, fromEnv), { details: { file, issues: parsed.error.issues.map((i) => ({ key: i.path.join('.'), message: redactText(i.message) })) } });
  }
  const config = parsed.data;
  const home = path.resolve(config.home ?? defaultHome(env));
  return { config, file, home, fromEnv: [...fromEnv].map(([key, variable]) => `${key} ← ${variable}`) };
}

/** Finds, reads and validates the configuration (TWL_CONFIG names a file explicitly). */
export async function loadConfig(options: { cwd?: string; env?: NodeJS.ProcessEnv; file?: string } = {}): Promise<LoadedConfig> {
  const env = options.env ?? process.env;
  const { file, raw } = await findFile(options.cwd ?? process.cwd(), options.file ?? (env.TWL_CONFIG || undefined));
  return validateConfig(raw, file, env);
}
