import type { Runtime } from '../runtime/context.js';
import { TwlError, messageOf } from '../runtime/errors.js';
import { redactText } from '../runtime/redact.js';
import type { Queryable } from '../store/types.js';
import type { UpstreamConfig, UpstreamConfigInput } from '../upstream/config.js';
import type { UpstreamSet } from '../upstream/types.js';

/**
 * Upstreams come from two places: the `upstreams:` key of the configuration file (reviewed,
 * versioned with the rest of it), and `twl upstream add`, which writes the store table
 * twl_upstreams: no configuration file is rewritten (it may be JSON, YAML or JavaScript, with
 * comments), replicas of `twl serve` on one PostgreSQL see the same list, adds and removes are
 * atomic, and `rotate-key` re-encrypts every stored secret in one transaction. A name is in
 * one place only; the file wins when both hold it.
 */
export type Origin = 'config' | 'store';

export interface ConfiguredUpstream {
  entry: UpstreamConfig;
  origin: Origin;
}

export interface StoredUpstream {
  name: string;
  entry: UpstreamConfigInput;
  createdAt: string;
  createdBy: string;
  updatedAt: string;
}

export async function storedUpstreams(q: Queryable): Promise<StoredUpstream[]> {
  const { rows } = await q.query<{ name: string; entry: UpstreamConfigInput; created_at: Date; created_by: string; updated_at: Date }>('SELECT name, entry, created_at, created_by, updated_at FROM twl_upstreams ORDER BY name');
  return rows.map((r) => ({ name: r.name, entry: r.entry, createdAt: new Date(r.created_at).toISOString(), createdBy: r.created_by, updatedAt: new Date(r.updated_at).toISOString() }));
}

/**
 * Every upstream: the file's entries, then the stored ones (validated again: a row written by an
 * older twl, or by hand, that the schema refuses is skipped with a warning naming it).
 */
export async function configuredUpstreams(runtime: Runtime, warn: (message: string) => void): Promise<ConfiguredUpstream[]> {
  const fromFile = runtime.config.upstreams.map((entry) => ({ entry, origin: 'config' as const }));
  let stored: StoredUpstream[] = [];
  try {
    stored = await storedUpstreams(await runtime.store());
  } catch (err) {
    warn(`the upstreams added with \`twl upstream add\` could not be read: ${redactText(messageOf(err))}`);
  }
  if (!stored.length) return fromFile;
  const { upstreamConfigSchema, namespaceOf } = await import('../upstream/config.js');
  const out: ConfiguredUpstream[] = [...fromFile];
  for (const row of stored) {
    if (fromFile.some((u) => u.entry.name === row.name)) {
      warn(`upstream ${row.name} is both in the configuration file and added with \`twl upstream add\`: the file's entry is used (\`twl upstream remove ${row.name}\` drops the other)`);
      continue;
    }
    const parsed = upstreamConfigSchema.safeParse(row.entry);
    if (!parsed.success) {
      warn(`upstream ${row.name} (added with \`twl upstream add\`) is not valid any more and is skipped: ${describeIssues(parsed.error)}`);
      continue;
    }
    const clash = out.find((u) => namespaceOf(u.entry) === namespaceOf(parsed.data));
    if (clash) {
      warn(`upstream ${row.name} (added with \`twl upstream add\`) is skipped: its namespace ${namespaceOf(parsed.data)} is upstream ${clash.entry.name}'s too (re-add it with --namespace)`);
      continue;
    }
    out.push({ entry: parsed.data, origin: 'store' });
  }
  return out;
}

/** A schema error as `path: problem` lines; a bad record key says what a key must be (zod nests that issue). */
export function describeIssues(error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; issues?: ReadonlyArray<{ message: string }> }> }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || 'entry'}: ${i.code === 'invalid_key' && i.issues?.[0] ? i.issues[0].message : i.message}`).join('; ');
}

/** The SecretBox of this data directory (the key file lives there, or TWL_SECRET_KEY). */
export async function secretBox(runtime: Runtime) {
  const { SecretBox } = await import('../upstream/secrets.js');
  return new SecretBox({ home: runtime.loaded.home });
}

/** Opens the given upstreams (children start on first use) with twl's cache as their L2. */
export async function openSet(runtime: Runtime, entries: UpstreamConfig[]): Promise<UpstreamSet> {
  const { openUpstreams } = await import('../upstream/index.js');
  return openUpstreams(entries, { logger: runtime.logger, secrets: await secretBox(runtime), cache: () => runtime.cache() });
}

/**
 * The catalog's upstream side: every configured upstream, opened on first need (an empty set when
 * there is none, so one added later with `twl upstream add` joins it), and the configured entries
 * as they are now, for the catalog's refresh.
 */
export function upstreamsOf(runtime: Runtime): { upstreams: () => Promise<UpstreamSet | undefined>; configured: () => Promise<UpstreamConfig[]> } {
  const configured = async () => (await configuredUpstreams(runtime, (message) => runtime.logger.warn(message))).map((u) => u.entry);
  return { upstreams: async () => openSet(runtime, await configured()), configured };
}

/** One upstream by name, or TWL_INPUT_INVALID naming the ones there are. */
export function pick(configured: ConfiguredUpstream[], name: string): ConfiguredUpstream {
  const found = configured.find((u) => u.entry.name === name);
  if (found) return found;
  const names = configured.map((u) => u.entry.name);
  throw new TwlError('TWL_INPUT_INVALID', `No upstream named ${JSON.stringify(name.slice(0, 64))}. ${names.length ? `Configured: ${names.join(', ')}.` : 'None is configured.'}`, {
    actions: ['List them with `twl upstream list`, or add one with `twl upstream add NAME -- COMMAND ARGS…`.'],
  });
}

/** How a secret-bearing value is held, never the value: an env reference, an encrypted envelope, or plain text (in the file). */
export const secretKind = (value: string): 'env-reference' | 'encrypted' | 'plain' => (value.startsWith('twl:enc:v1:') ? 'encrypted' : /^\$\{env:[A-Za-z_][A-Za-z0-9_]*\}$/.test(value) ? 'env-reference' : 'plain');

/** An upstream as `twl upstream list` and `twl config show` show it: env and header values replaced by how they are held. */
export function publicView(entry: UpstreamConfig | UpstreamConfigInput): Record<string, unknown> {
  const masked = (values: Record<string, string> | undefined) => Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, `[${secretKind(v)}]`]));
  const { env, headers, url, args, ...rest } = entry;
  return {
    ...rest,
    ...(url ? { url: redactText(url) } : {}),
    ...(args ? { args: args.map((a) => redactText(a)) } : {}),
    env: masked(env),
    headers: masked(headers),
  };
}
