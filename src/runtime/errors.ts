/**
 * Every error twl reports on purpose, in one place: a code, the process exit code, what
 * happened, and what to do about it. Ops throw these; only the base command turns them
 * into an exit code, and the MCP server into a tool error.
 */
export const ExitCode = {
  failure: 1,
  usage: 2,
  config: 3,
  refused: 4,
  timeout: 5,
  unavailable: 6,
  notFound: 7,
} as const;

export interface ErrorSpec {
  exit: number;
  /** Suggested actions, shown under the message and included in the JSON envelope. */
  actions?: string[];
}

export const errorCatalog = {
  TWL_CONFIG_INVALID: { exit: ExitCode.config, actions: ['Fix the file named above, then run `twl config validate`.'] },
  TWL_CONFIG_UNREADABLE: { exit: ExitCode.config, actions: ['Fix the syntax of the file named above, then run `twl config validate`.'] },
  TWL_CONFIG_EXISTS: { exit: ExitCode.refused, actions: ['Pass --force to overwrite it, or edit the existing file.'] },
  TWL_INPUT_INVALID: { exit: ExitCode.usage, actions: ['Run the command with --help to see its flags and examples.'] },
  TWL_COMMAND_UNKNOWN: { exit: ExitCode.usage, actions: ['Run `twl help` for a list of commands.'] },
  TWL_STORE_BUSY: {
    exit: ExitCode.unavailable,
    actions: ['Retry when the other twl process ends, or run long-lived work under `twl serve`, which shares the embedded store with other twl processes.'],
  },
  TWL_STORE_UNAVAILABLE: {
    exit: ExitCode.unavailable,
    actions: ['Check database.url (or TWL_DATABASE_URL) and that the server is running.', 'Once it answers again, the next call works: a running `twl serve` reconnects by itself, without a restart.'],
  },
  TWL_STORE_FAILED: { exit: ExitCode.failure },
  TWL_CACHE_UNAVAILABLE: { exit: ExitCode.unavailable, actions: ['Check redis.url (or TWL_REDIS_URL) and that Redis is running, or unset it to use the embedded cache.'] },
  TWL_SQL_REFUSED: { exit: ExitCode.refused, actions: ['Send one SELECT, VALUES, SHOW or EXPLAIN at a time; make changes with your usual database tooling (psql, migrations).'] },
  TWL_SQL_INVALID: { exit: ExitCode.usage, actions: ['Check the SQL syntax near the position given.'] },
  TWL_SQL_FAILED: { exit: ExitCode.failure },
  TWL_TIMEOUT: { exit: ExitCode.timeout, actions: ['Raise --timeout, or make the query cheaper (filters, indexes, LIMIT).'] },
  TWL_TARGET_UNKNOWN: { exit: ExitCode.usage, actions: ['List the names under database.targets in your configuration (`twl config show`).'] },
  TWL_TABLE_NOT_FOUND: { exit: ExitCode.notFound, actions: ['Run `twl db tables` to see the tables.'] },
  TWL_MCP_FAILED: { exit: ExitCode.failure },
  TWL_UPSTREAM_UNAVAILABLE: { exit: ExitCode.unavailable, actions: ['Check the upstream\'s command/url in the configuration and its logs (`twl upstream status`).'] },
  TWL_UPSTREAM_CRASH_LOOP: { exit: ExitCode.unavailable, actions: ['Fix the upstream (run its command by hand to see why it exits); calls are tried again when the crash-loop period ends.'] },
  TWL_UPSTREAM_TIMEOUT: { exit: ExitCode.timeout, actions: ['Raise the upstream\'s timeout or toolTimeouts in the configuration, or check why the server is slow.'] },
  TWL_UPSTREAM_BREAKER_OPEN: { exit: ExitCode.unavailable, actions: ['The upstream failed repeatedly; calls are tried again after breaker.halfOpenAfter.'] },
  TWL_UPSTREAM_QUEUE_FULL: { exit: ExitCode.unavailable, actions: ['Retry later, or raise the upstream\'s queue.max in the configuration.'] },
  TWL_UPSTREAM_TOOL_ERROR: { exit: ExitCode.failure },
  TWL_UPSTREAM_INVALID: { exit: ExitCode.failure, actions: ['The upstream sent something twl refuses (see the message); fix or update the server, or adjust maxMessageBytes / maxTools.'] },
  TWL_UPSTREAM_QUARANTINED: { exit: ExitCode.refused, actions: ['Review what changed with `twl upstream status NAME`, then `twl upstream accept NAME` (or set pin: false for the upstream in the configuration).'] },
  TWL_NAMESPACE_DENIED: { exit: ExitCode.refused, actions: ['Use a key granted this namespace (`twl keys create --namespaces …`); `twl keys list` shows each key\'s namespaces.'] },
  TWL_UPSTREAM_UNKNOWN: { exit: ExitCode.usage, actions: ['List the configured upstreams with `twl upstream list`.'] },
  TWL_SECRET_UNREADABLE: { exit: ExitCode.config, actions: ['Set TWL_SECRET_KEY (or TWL_SECRET_KEY_OLD) to the key the value was encrypted with, or store the secret again.'] },
  TWL_TICKET_NOT_FOUND: { exit: ExitCode.notFound, actions: ['Run `twl ticket list` to see the tickets.'] },
  TWL_TICKET_STATE: { exit: ExitCode.refused },
  TWL_IMPORT_INVALID: { exit: ExitCode.usage, actions: ['Fix the lines listed, or pass --skip-invalid to import the valid ones.'] },
  TWL_LLM_UNAVAILABLE: { exit: ExitCode.unavailable, actions: ['Start Ollama, or check llm.host and llm.model (`twl llm status`).'] },
  TWL_LLM_OUTPUT_INVALID: {
    exit: ExitCode.failure,
    actions: ["Raise the step's retries (at most 5), simplify its format, or use a larger model (llm.model); the problems above quote the model's answers."],
  },
  TWL_WORKFLOW_PLAN_INVALID: {
    exit: ExitCode.refused,
    actions: ["Nothing ran. Widen the orchestrator's tools globs or maxCalls if the plan was right, or make its prompt name the tools and inputs it needs (`twl tools list`)."],
  },
  TWL_INTERRUPTED: { exit: 130 },
  TWL_PATH_NOT_FOUND: { exit: ExitCode.notFound },
  TWL_POLICY_DENIED: { exit: ExitCode.refused, actions: ['Change commander.rules in the configuration if this should be allowed.'] },
  TWL_APPROVAL_REQUIRED: { exit: ExitCode.refused, actions: ['Confirm at the prompt on a terminal, or pass --yes in scripts.'] },
  TWL_COMMAND_FAILED: { exit: ExitCode.failure },
  TWL_DOCKER_UNAVAILABLE: { exit: ExitCode.unavailable, actions: ['Start the Docker engine, or set docker.socket to its API socket.'] },
  TWL_SERVICE_UNKNOWN: { exit: ExitCode.usage, actions: ['List the configured services with `twl monitoring health`.'] },
  TWL_BROWSE_REFUSED: { exit: ExitCode.refused, actions: ['Change browser.allow / browser.deny in the configuration if this host should be reachable.'] },
  TWL_BROWSE_FAILED: { exit: ExitCode.unavailable },
  TWL_BACKUP_CORRUPT: { exit: ExitCode.failure, actions: ['Use another backup (`twl backup list`), and check the storage it sits on.'] },
  TWL_BACKUP_FAILED: { exit: ExitCode.failure },
  TWL_TOOL_MISSING: { exit: ExitCode.unavailable },
  TWL_DATA_DIR_UNWRITABLE: {
    exit: ExitCode.config,
    actions: [
      'Point TWL_HOME (or the home key) at a writable directory: a volume in a container (the image uses /var/lib/twl), an emptyDir in Kubernetes.',
      'With PostgreSQL (TWL_DATABASE_URL) twl serve writes nothing there; the embedded store, backups and the commander\'s scratch directory do.',
    ],
  },
  TWL_TOOL_UNKNOWN: { exit: ExitCode.notFound, actions: ['Run `twl tools list` to see the tools you may call.'] },
  TWL_TOOL_ERROR: { exit: ExitCode.failure },
  TWL_AUTH_REQUIRED: { exit: ExitCode.refused, actions: ['Send Authorization: Bearer <key>; create a key with `twl keys create --role viewer`.'] },
  TWL_ROLE_DENIED: { exit: ExitCode.refused, actions: ['Use a key with a higher role (`twl keys create --role …`).'] },
  TWL_RATE_LIMITED: { exit: ExitCode.refused, actions: ['Wait for the Retry-After seconds, or raise http.rateLimit in the configuration.'] },
  TWL_DOCS_SOURCE: { exit: ExitCode.usage, actions: ['Give a folder or file, npm:PACKAGE (installed), or an https:// site: `twl docs add --help`.'] },
  TWL_DOCS_LIBRARY_UNKNOWN: { exit: ExitCode.notFound, actions: ['List the indexed libraries with `twl docs list`, or find one with `twl docs resolve NAME`.'] },
  TWL_KEY_NOT_FOUND: { exit: ExitCode.notFound, actions: ['List the keys with `twl keys list`.'] },
  TWL_TASK_NOT_FOUND: { exit: ExitCode.notFound, actions: ['Run `twl task list` to see the tasks.'] },
  TWL_TASK_STATE: { exit: ExitCode.refused },
  TWL_KEY_REVOKED: { exit: ExitCode.refused, actions: ['Create the task again with a live key (or from the command line, which needs no key); `twl keys list` shows which keys are revoked.'] },
  TWL_GRANT_EXPIRED: {
    exit: ExitCode.refused,
    actions: [
      'Create the task again with an API key (`twl keys create --role manager`): its runs last until the key is revoked; or from the command line, which needs no key.',
      'An OAuth access token\'s task runs only until the token expires (`grantExpiresAt` in `twl task show`).',
    ],
  },
  TWL_NOT_AVAILABLE: { exit: ExitCode.unavailable },
  TWL_AGENT_NOT_FOUND: { exit: ExitCode.notFound, actions: ['Run `twl agent list` to see the agents.'] },
  TWL_AGENT_EXISTS: { exit: ExitCode.refused, actions: ['Choose another name, or change the existing agent with `twl agent edit`.'] },
  TWL_AGENT_STATE: { exit: ExitCode.refused },
  TWL_AGENT_HIERARCHY: { exit: ExitCode.usage, actions: ['A master has no parent; a supervisor\'s parent is a master or a supervisor; a worker\'s parent is a supervisor or a master; workers have no children.'] },
  TWL_WORKFLOW_INVALID: { exit: ExitCode.config, actions: ['Fix the file, step and problem named above, then run `twl workflow validate`.'] },
  TWL_WORKFLOW_UNKNOWN: { exit: ExitCode.notFound, actions: ['Run `twl workflow list` to see the workflows (and `twl workflow validate` for those left out).'] },
  TWL_WORKFLOW_RUN_NOT_FOUND: { exit: ExitCode.notFound, actions: ['Run `twl workflow runs` to see the recorded runs.'] },
  TWL_WORKFLOW_FAILED: { exit: ExitCode.failure, actions: ['See every step with `twl workflow show RUN` (the run id is in the message).'] },
  TWL_WORKFLOW_STEP_FAILED: { exit: ExitCode.failure },
  TWL_WORKFLOW_GATE: { exit: ExitCode.failure },
} satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof errorCatalog;

export class TwlError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly actions: string[];
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; actions?: string[]; details?: Record<string, unknown> } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TwlError';
    this.code = code;
    const spec: ErrorSpec = errorCatalog[code];
    this.exitCode = spec.exit;
    this.actions = options.actions ?? spec.actions ?? [];
    this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, exitCode: this.exitCode, actions: this.actions, ...(this.details ? { details: this.details } : {}) };
  }
}

export const isTwlError = (err: unknown): err is TwlError => err instanceof TwlError;

/** The message of anything thrown, without a stack. */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The answer for a tool that exists nowhere (to any caller). */
export const unknownTool = (name: unknown): TwlError => new TwlError('TWL_TOOL_UNKNOWN', `No tool named ${JSON.stringify(String(name).slice(0, 200))}.`);

/** Marks a refusal told to a caller limited to namespaces as "no such tool" (see `unseenTool`). */
const WITHHELD = Symbol('twl.withheld');

/**
 * The one answer a caller limited to namespaces (an API key made with `--namespaces`) gets for a
 * tool it may not reach: word for word what a tool that exists nowhere gets, whether the tool is in
 * another namespace or nowhere at all, so a key cannot learn what other namespaces hold. Every face
 * (catalog calls, MCP, REST, tasks, agents, workflows, Maestro) says it through this function; the
 * audit row keeps the real reason (TWL_NAMESPACE_DENIED or TWL_TOOL_UNKNOWN) for operators.
 */
export function unseenTool(name: unknown): TwlError {
  const err = unknownTool(name);
  Object.defineProperty(err, WITHHELD, { value: true });
  return err;
}

/**
 * The refusal by its caller's grant an error is, or carries, as the caller is told it: a tool it may
 * not reach (`unseenTool`), a task outside its grant (TWL_NAMESPACE_DENIED), or a workflow that failed
 * because a step's tool was one of those (TWL_WORKFLOW_FAILED whose run error is TWL_TOOL_UNKNOWN: a
 * workflow's steps are checked against the catalog when it loads, so a step's tool unknown at run
 * time is one its caller cannot reach). Undefined for any other error.
 */
export function namespaceRefusalOf(err: unknown): { code: string; message: string } | undefined {
  if (!isTwlError(err)) return undefined;
  if (err.code === 'TWL_NAMESPACE_DENIED' || (err as TwlError & { [WITHHELD]?: boolean })[WITHHELD]) return { code: err.code, message: err.message };
  const inner = err.code === 'TWL_WORKFLOW_FAILED' ? (err.details?.error as { code?: unknown; message?: unknown } | null | undefined) : undefined;
  return inner?.code === 'TWL_NAMESPACE_DENIED' || inner?.code === 'TWL_TOOL_UNKNOWN' ? { code: inner.code, message: err.message } : undefined;
}
