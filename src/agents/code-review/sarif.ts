import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rules, type Finding, type Severity } from './rules.js';

export const sarifSchemaUri = 'https://json.schemastore.org/sarif-2.1.0.json';

export interface ToolInfo {
  version: string;
  /** The project's home page (package.json homepage or repository), when it names one. */
  informationUri?: string;
}

const repositoryUrl = (repository: unknown): string | undefined => {
  const url = typeof repository === 'string' ? repository : (repository as { url?: unknown } | undefined)?.url;
  return typeof url === 'string' ? url.replace(/^git\+/, '').replace(/\.git$/, '') : undefined;
};

/** twl's version and home page, from its package.json (found above this module, in the source tree and in dist/). */
export function twlToolInfo(): ToolInfo {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++, dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (!existsSync(file)) continue;
    try {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string; homepage?: unknown; repository?: unknown };
      if (pkg.name !== 'twisterlab' || !pkg.version) continue;
      const home = typeof pkg.homepage === 'string' ? pkg.homepage : repositoryUrl(pkg.repository);
      return { version: pkg.version, ...(home && URL.canParse(home) ? { informationUri: home } : {}) };
    } catch {
      // not ours; keep looking
    }
  }
  return { version: 'unknown' };
}

/** The parts of a SARIF 2.1.0 log that twl writes (types, not interfaces: they are plain JSON objects). */
export type SarifLog = {
  $schema: string;
  version: '2.1.0';
  runs: SarifRun[];
};

export type SarifRun = {
  tool: { driver: { name: string; informationUri?: string; version: string; rules: SarifRule[] } };
  results: SarifResult[];
  columnKind: 'utf16CodeUnits';
};

export type SarifRule = {
  id: string;
  shortDescription: { text: string };
  defaultConfiguration: { level: Severity };
  properties: { tags: string[] };
};

export type SarifResult = {
  ruleId: string;
  ruleIndex: number;
  level: Severity;
  message: { text: string };
  locations: Array<{ physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number; startColumn: number; snippet?: { text: string } } } }>;
  properties?: { source: string };
};

/** A relative path as a SARIF URI reference: forward slashes, each segment percent-encoded. */
export const toUriReference = (file: string): string =>
  file
    .split(/[\\/]+/)
    .filter((segment) => segment !== '' && segment !== '.')
    .map(encodeURIComponent)
    .join('/');

function ruleFor(id: string): SarifRule {
  const known = rules[id];
  return {
    id,
    shortDescription: { text: known?.description ?? id },
    defaultConfiguration: { level: known?.severity ?? 'warning' },
    properties: { tags: [known?.category ?? 'quality'] },
  };
}

/** A SARIF 2.1.0 log with one run: the rules the findings use, and one result per finding. Snippets are the masked ones. */
export function toSarif(findings: Finding[], tool: ToolInfo): SarifLog {
  const ruleIds = [...new Set(findings.map((f) => f.rule))].sort();
  const index = new Map(ruleIds.map((id, i) => [id, i]));
  const results = findings.map(
    (f): SarifResult => ({
      ruleId: f.rule,
      ruleIndex: index.get(f.rule)!,
      level: f.severity,
      message: { text: f.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: { uri: toUriReference(f.file) },
            region: { startLine: Math.max(1, f.line), startColumn: Math.max(1, f.column), ...(f.snippet ? { snippet: { text: f.snippet } } : {}) },
          },
        },
      ],
      ...(f.source === 'static' ? {} : { properties: { source: f.source } }),
    }),
  );
  return {
    $schema: sarifSchemaUri,
    version: '2.1.0',
    runs: [{ tool: { driver: { name: 'twl', ...(tool.informationUri ? { informationUri: tool.informationUri } : {}), version: tool.version, rules: ruleIds.map(ruleFor) } }, results, columnKind: 'utf16CodeUnits' }],
  };
}
