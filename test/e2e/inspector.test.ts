// The MCP Inspector's CLI mode (the devDependency @modelcontextprotocol/inspector-cli, the same code as
// `npx @modelcontextprotocol/inspector --cli`) lists and calls twl's tools over both transports.
// Each case runs the real inspector binary as a child process and reads the JSON it prints on stdout.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bin, envelope, inheritedEnv, root, startHttpServe, tempHome, twl } from '../helpers.js';

const TIMEOUT = 60_000;

// The inspector's own bin, as its package declares it.
const inspectorPkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/inspector-cli/package.json');
const inspectorBin = path.resolve(
  path.dirname(inspectorPkg),
  (JSON.parse(readFileSync(inspectorPkg, 'utf8')) as { bin: Record<string, string> }).bin['mcp-inspector-cli']!,
);

// Every twl command that carries an op is an MCP tool: the expected tool names come from the shipped command manifest.
const manifest = JSON.parse(readFileSync(path.join(root, 'oclif.manifest.json'), 'utf8')) as { commands: Record<string, { op?: { mcpName?: string } }> };
const expectedTools = [...new Set(Object.values(manifest.commands).flatMap((c) => (c.op?.mcpName ? [c.op.mcpName] : [])))].sort();

interface Tool { name: string; inputSchema: { type: string } }
interface ToolResult { content: Array<{ type: string; text?: string }>; structuredContent?: Record<string, unknown>; isError?: boolean }

/**
 * Runs `mcp-inspector-cli --cli <target...> <method args...>`.
 *
 * The inspector CLI (1.0.3) picks the file for its client identity with a cwd-relative
 * `fs.existsSync("../package.json")` and, when that is false, imports a path that does not exist in the
 * standalone package (modelcontextprotocol/inspector#834, #839, #1503): it fails before connecting unless the
 * parent of its working directory holds a package.json. So it runs in `<home>/inspector`, next to an empty
 * `<home>/package.json` (no `twl` key, so twl's config search ignores it). A stdio server inherits that cwd,
 * which keeps twl's config search inside the temporary home.
 */
async function inspect(home: string, target: string[], method: string[]) {
  const cwd = path.join(home, 'inspector');
  mkdirSync(cwd, { recursive: true });
  writeFileSync(path.join(home, 'package.json'), '{}\n');
  const inherited = inheritedEnv();
  // cli.js starts its build/index.js with the `node` on PATH: make that this Node.
  const PATH = [path.dirname(process.execPath), inherited.PATH].filter(Boolean).join(path.delimiter);
  const r = await execa(process.execPath, [inspectorBin, '--cli', ...target, ...method], {
    cwd,
    env: { ...inherited, PATH, NO_COLOR: '1' },
    extendEnv: false,
    reject: false,
    timeout: TIMEOUT - 5_000,
  });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const json = <T>(r: { exitCode?: number; stdout: string; stderr: string }): T => {
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};
const textOf = (result: ToolResult) => result.content.filter((c) => c.type === 'text').map((c) => c.text ?? '').join('\n');
const call = (tool: string, args: string[] = []) => ['--method', 'tools/call', '--tool-name', tool, ...(args.length > 0 ? ['--tool-arg', ...args] : [])];

interface Target { home: string; target: string[] }

/** The same cases against each transport. */
function inspectorCases(label: string, get: () => Target) {
  it('tools/list returns every tool twl exposes, each with an object input schema', async () => {
    const { home, target } = get();
    const { tools } = json<{ tools: Tool[] }>(await inspect(home, target, ['--method', 'tools/list']));
    const names = tools.map((t) => t.name).sort();
    expect(names.length).toBeGreaterThan(20);
    expect(names).toEqual(expect.arrayContaining(['cache_cache_set', 'cache_cache_get', 'sentiment-analyzer_analyze_sentiment', 'real-resolver_resolve_ticket']));
    expect(names).toEqual(expectedTools);
    for (const tool of tools) expect(tool.inputSchema.type, tool.name).toBe('object');
  }, TIMEOUT);

  it('tools/call analyses sentiment and returns structured content', async () => {
    const { home, target } = get();
    const result = json<ToolResult>(await inspect(home, target, call('sentiment-analyzer_analyze_sentiment', ['text=This is great!'])));
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ sentiment: 'positive', confidence: expect.any(Number) });
    // The text block carries the same result, for clients that ignore structuredContent.
    expect(JSON.parse(textOf(result))).toEqual(result.structuredContent);
  }, TIMEOUT);

  it('round-trips cache_cache_set then cache_cache_get across two inspector runs', async () => {
    const { home, target } = get();
    const key = `inspector:${label}`;
    const set = json<ToolResult>(await inspect(home, target, call('cache_cache_set', [`key=${key}`, 'value=set by the inspector', 'ttl=600'])));
    expect(set.isError).toBeFalsy();
    expect(set.structuredContent).toMatchObject({ key, stored: true, ttl: 600 });
    const got = json<ToolResult>(await inspect(home, target, call('cache_cache_get', [`key=${key}`])));
    expect(got.isError).toBeFalsy();
    expect(got.structuredContent).toMatchObject({ key, found: true, value: 'set by the inspector' });
  }, TIMEOUT * 2);

  it('reports an unknown tool as an error', async () => {
    const { home, target } = get();
    const r = await inspect(home, target, call('no_such_tool'));
    // Today the server answers with a tool result flagged isError and the inspector exits 0 printing it;
    // a JSON-RPC error instead would make it exit 1 with "Failed to call tool ..." on stderr. Either reports it.
    const report = r.exitCode === 0 ? (JSON.parse(r.stdout) as ToolResult) : { content: [{ type: 'text', text: r.stderr }], isError: true };
    expect(report.isError).toBe(true);
    expect(report.structuredContent).toBeUndefined();
    expect(textOf(report)).toMatch(/no_such_tool/);
    expect(textOf(report)).toMatch(/not found|unknown|-32602/i);
  }, TIMEOUT);

  it('reports invalid arguments as a tool error, not a crash', async () => {
    const { home, target } = get();
    // The inspector JSON-parses each value: '""' is the empty string, which cache_cache_set refuses.
    const result = json<ToolResult>(await inspect(home, target, call('cache_cache_set', ['key=""', 'value=x'])));
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/\bkey\b/);
  }, TIMEOUT);
}

describe('the MCP Inspector CLI against twl serve --stdio', () => {
  let home: string;
  let cleanup: () => void;
  beforeAll(() => {
    ({ home, cleanup } = tempHome('twl-inspector-stdio-'));
  });
  afterAll(() => cleanup?.());

  // The inspector spawns the server itself; -e sets the server's environment.
  inspectorCases('stdio', () => ({ home, target: ['-e', `TWL_HOME=${home}`, '-e', `HOME=${home}`, process.execPath, bin, 'serve', '--stdio'] }));
});

describe('the MCP Inspector CLI against twl serve --http', () => {
  let home: string;
  let cleanup: () => void;
  let child: Awaited<ReturnType<typeof startHttpServe>>['child'] | undefined;
  let url: string;
  let key: string;

  beforeAll(async () => {
    ({ home, cleanup } = tempHome('twl-inspector-http-'));
    const created = await twl(['keys', 'create', '--role', 'admin', '--name', 'inspector test', '--json'], { home });
    expect(created.exitCode, created.stderr).toBe(0);
    key = (envelope(created.stdout).result as { key: string }).key;
    ({ child, url } = await startHttpServe(home));
  });
  afterAll(async () => {
    if (child) {
      child.kill('SIGTERM');
      await child;
    }
    cleanup?.();
  });

  inspectorCases('http', () => ({ home, target: [`${url}/mcp`, '--transport', 'http', '--header', `Authorization: Bearer ${key}`] }));

  it('cannot connect without the key header', async () => {
    const r = await inspect(home, [`${url}/mcp`, '--transport', 'http'], ['--method', 'tools/list']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout.trim()).toBe('');
    expect(r.stderr).toMatch(/Failed to connect to MCP server/);
  }, TIMEOUT);
});
