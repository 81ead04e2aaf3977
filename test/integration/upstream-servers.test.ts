import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SecretBox, openUpstreams, upstreamConfigSchema, type UpstreamSet } from '../../src/upstream/index.js';
import { quietLogger, root, tempHome } from '../helpers.js';

/** The other reference servers from npm (devDependencies), through twl's upstream client on the pinned Node. */
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);
const { home, cleanup } = tempHome();
const opened: UpstreamSet[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  cleanup();
});
const textOf = (r: { content: unknown[] }) => (r.content[0] as { text: string }).text;

describe('reference MCP servers as upstreams', () => {
  it('@modelcontextprotocol/server-filesystem: read-only tools are cached, writes are not', async () => {
    const dir = fs.mkdtempSync(path.join(home, 'fs-'));
    fs.writeFileSync(path.join(dir, 'note.txt'), 'first');
    const set = openUpstreams([upstreamConfigSchema.parse({ name: 'files', transport: 'stdio', command: bin('mcp-server-filesystem'), args: [dir], cache: { 'read_*': { ttl: '1m' } } })], {
      logger: quietLogger(),
      secrets: new SecretBox({ home }),
    });
    opened.push(set);
    const files = set.get('files')!;
    const tools = await files.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['read_text_file', 'write_file', 'list_directory']));
    expect(files.isReadOnly('read_text_file')).toBe(true);
    expect(files.isReadOnly('write_file')).toBe(false);
    const file = path.join(dir, 'note.txt');
    expect(textOf(await files.callTool('read_text_file', { path: file }))).toBe('first');
    // A write goes through; the cached read still answers the old text until its TTL.
    await files.callTool('write_file', { path: file, content: 'second' });
    expect(fs.readFileSync(file, 'utf8')).toBe('second');
    expect(textOf(await files.callTool('read_text_file', { path: file }))).toBe('first');
    expect(textOf(await files.callTool('read_text_file', { path: file }, { noCache: true }))).toBe('second');
    expect(files.status().cache.l1Hits).toBe(1);
    // Outside the allowed directory: the server's own error, as a tool result.
    const outside = await files.callTool('read_text_file', { path: '/etc/hostname' });
    expect(outside.isError).toBe(true);
  });

  it('@modelcontextprotocol/server-memory: a stateful server keeps its state across calls on one shared child', async () => {
    const set = openUpstreams(
      [upstreamConfigSchema.parse({ name: 'mem', transport: 'stdio', command: bin('mcp-server-memory'), env: { MEMORY_FILE_PATH: path.join(home, 'memory.jsonl') } })],
      { logger: quietLogger(), secrets: new SecretBox({ home }) },
    );
    opened.push(set);
    const mem = set.get('mem')!;
    await mem.callTool('create_entities', { entities: [{ name: 'nginx', entityType: 'service', observations: ['restarted at 07:00'] }] });
    const graph = await mem.callTool('read_graph', {});
    expect(textOf(graph)).toContain('restarted at 07:00');
  });
});
