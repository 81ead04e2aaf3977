/**
 * The upstream `twl bridge` fronts, as an `upstreams:` entry: built from the command after `--`,
 * or a configured entry named with --upstream; --sharing and --timeout override either.
 */
import { flagPairs, upstreamConfigSchema, upstreamNamePattern, type UpstreamConfig, type UpstreamConfigInput } from '../upstream/config.js';
import { TwlError } from '../runtime/errors.js';

export interface BridgeFlags {
  upstream?: string;
  name?: string;
  sharing?: 'shared' | 'pool' | 'isolated';
  /** Already checked durations, in milliseconds. */
  timeoutMs?: number;
  idleTimeoutMs?: number;
  poolMax?: number;
  /** NAME=VALUE pairs for the child's environment (a value may be ${env:NAME}). */
  env?: string[];
  cwd?: string;
}

/** Validates an entry with the `upstreams:` schema; a problem names the flag to fix. */
function validated(input: UpstreamConfigInput): UpstreamConfig {
  const parsed = upstreamConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'entry'}: ${i.message}`).join('; ');
  throw new TwlError('TWL_INPUT_INVALID', `The upstream to bridge is not valid: ${issues}.`);
}

/**
 * The entry to bridge. `command` is everything after `--` (program and arguments, passed as they
 * are, never through a shell); `configured` the `upstreams:` entries of the configuration.
 */
export function bridgeEntry(flags: BridgeFlags, command: string[], configured: UpstreamConfig[]): UpstreamConfig {
  if (flags.upstream === undefined && !command.length) throw new TwlError('TWL_INPUT_INVALID', 'No server to bridge: put its command after --, or name a configured upstream with --upstream.', { actions: ['Run e.g. `twl bridge -- npx -y @modelcontextprotocol/server-everything stdio`, or `twl bridge --upstream NAME`.'] });
  if (flags.upstream !== undefined) {
    if (command.length) throw new TwlError('TWL_INPUT_INVALID', `Give either --upstream ${flags.upstream} or a command after --, not both.`, { actions: ['Bridge a configured upstream: `twl bridge --upstream NAME`; or any stdio server: `twl bridge -- npx -y some-mcp-server`.'] });
    if (flags.env?.length || flags.cwd || flags.name) throw new TwlError('TWL_INPUT_INVALID', '--env, --cwd and --name are for a command given after --; a configured upstream has its own in the configuration.');
    const entry = configured.find((e) => e.name === flags.upstream);
    if (!entry) {
      const names = configured.map((e) => e.name);
      throw new TwlError('TWL_UPSTREAM_UNKNOWN', `No upstream named ${JSON.stringify(flags.upstream.slice(0, 64))} in the configuration${names.length ? ` (there are: ${names.join(', ')})` : ' (it has none)'}.`);
    }
    // The entry is parsed already (durations in ms): the overrides apply to it as such.
    const merged: UpstreamConfig = {
      ...entry,
      ...(flags.sharing ? { sharing: flags.sharing } : {}),
      ...(flags.timeoutMs !== undefined ? { timeout: flags.timeoutMs } : {}),
      ...(flags.idleTimeoutMs !== undefined ? { idleTimeout: flags.idleTimeoutMs } : {}),
      ...(flags.poolMax !== undefined ? { pool: { min: Math.min(entry.pool.min, flags.poolMax), max: flags.poolMax } } : {}),
    };
    if (merged.transport === 'http' && merged.sharing === 'pool') throw new TwlError('TWL_INPUT_INVALID', `--sharing pool is for stdio servers; the upstream ${entry.name} is an http one (use shared or isolated).`);
    return merged;
  }
  const name = flags.name ?? 'bridge';
  if (!upstreamNamePattern.test(name)) throw new TwlError('TWL_INPUT_INVALID', `--name ${JSON.stringify(name.slice(0, 64))} is not a valid upstream name: lowercase letters, digits and -, starting with a letter, at most 32 characters.`);
  const overrides: Partial<UpstreamConfigInput> = {
    ...(flags.sharing ? { sharing: flags.sharing } : {}),
    ...(flags.timeoutMs !== undefined ? { timeout: `${flags.timeoutMs}ms` } : {}),
    ...(flags.idleTimeoutMs !== undefined ? { idleTimeout: `${flags.idleTimeoutMs}ms` } : {}),
    ...(flags.poolMax !== undefined ? { pool: { min: 1, max: flags.poolMax } } : {}),
  };
  const [program, ...args] = command;
  return validated({
    name,
    transport: 'stdio',
    command: program!,
    args,
    env: flagPairs(flags.env, '--env'),
    ...(flags.cwd ? { cwd: flags.cwd } : {}),
    // Whoever runs the bridge chose to expose this server: its tools need no per-call approval
    // (nobody could answer one over HTTP); keys and roles still decide who may call what.
    approval: 'never',
    ...overrides,
  });
}
