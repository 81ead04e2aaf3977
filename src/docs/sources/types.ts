import type { Page } from '../formats.js';

/** What an earlier indexing knew of a page: a refresh skips it when nothing says it changed. */
export interface Known {
  hash: string;
  etag: string | null;
  lastModified: string | null;
  links: string[];
}

/** One page read from a source: new or changed (with its page), or known unchanged. */
export interface SourceDoc {
  /** The page's key in its library: a relative file path, or the URL. */
  location: string;
  /** Where a reader finds it: file:// or https:// URL. */
  url: string;
  /** Undefined when the page is unchanged since `Known` (304, or the same content hash). */
  page?: Page;
  hash: string;
  etag: string | null;
  lastModified: string | null;
  links: string[];
}

export interface Skipped {
  location: string;
  reason: string;
}

export interface Gathered {
  docs: SourceDoc[];
  skipped: Skipped[];
  /** What the source says of itself (an npm package's version and description). */
  version?: string;
  description?: string;
  /** The library name when --name is not given. */
  name: string;
  kind: 'local' | 'npm' | 'web' | 'git';
  /** Pages fetched or read, for the refresh report (unchanged ones included). */
  requests: number;
}

export interface GatherOptions {
  known: Map<string, Known>;
  signal: AbortSignal;
  progress: (message: string, done?: number, total?: number) => void;
  maxFileBytes: number;
}
