/**
 * What the catalog needs of the upstreams (src/upstream, see its types): the connected set and
 * each entry's policy settings. Kept to the few members the catalog uses.
 */
import type { Role } from '../ops/op.js';

export interface UpstreamToolLike {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
  annotations?: Record<string, unknown>;
}

export interface UpstreamCallResult {
  content?: unknown[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

export interface UpstreamLike {
  readonly name: string;
  listTools(options?: { signal?: AbortSignal }): Promise<UpstreamToolLike[]>;
  callTool(
    tool: string,
    args: Record<string, unknown>,
    options?: { signal?: AbortSignal; timeoutMs?: number; priority?: number; sessionKey?: string; progress?: (p: { progress: number; total?: number; message?: string }) => void },
  ): Promise<UpstreamCallResult>;
  onToolsChanged(listener: () => void): () => void;
}

export interface UpstreamSetLike {
  all(): UpstreamLike[];
  close(): Promise<void>;
}

/** The policy part of an `upstreams:` entry. */
export interface UpstreamPolicy {
  name: string;
  approval?: 'ask' | 'never';
  minRole?: Role;
}
