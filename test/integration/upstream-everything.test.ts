import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox, openUpstreams, upstreamConfigSchema, type UpstreamConfigInput, type UpstreamSet } from '../../src/upstream/index.js';
import { freePort, groupRunning, isRunning, quietLogger, root, tempHome } from '../helpers.js';

/** The real reference server from npm (a devDependency), over stdio and over Streamable HTTP. */
const everything = path.join(root, 'node_modules', '.bin', 'mcp-server-everything');

const open = (entries: UpstreamConfigInput[], home: string): UpstreamSet =>
  openUpstreams(
    entries.map((e) => upstreamConfigSchema.parse(e)),
    { logger: quietLogger(), secrets: new SecretBox({ home }) },
  );

describe('upstreams against @modelcontextprotocol/server-everything', () => {
  const { home, cleanup } = tempHome();
  let httpServer: ChildProcess;
  let url: string;

  beforeAll(async () => {
    const port = await freePort();
    httpServer = spawn(everything, ['streamableHttp'], { env: { PATH: process.env.PATH, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      httpServer.stderr!.on('data', (d: Buffer) => /listening on port/.test(d.toString()) && resolve());
      httpServer.once('exit', (code) => reject(new Error(`server-everything exited with ${code}`)));
    });
    url = `http://127.0.0.1:${port}/mcp`;
  });
  afterAll(() => {
    httpServer?.kill('SIGKILL');
    cleanup();
  });

  it('shared stdio: lists tools with annotations, calls echo, reports status, and stops the child on close', async () => {
    const set = open([{ name: 'ev', transport: 'stdio', command: everything }], home);
    const ev = set.get('ev')!;
    expect(ev.status().state).toBe('stopped'); // lazily started
    const tools = await ev.listTools();
    const echo = tools.find((t) => t.name === 'echo');
    expect(echo?.annotations?.readOnlyHint).toBe(true);
    expect(echo?.inputSchema.type).toBe('object');
    expect(ev.isReadOnly('echo')).toBe(true);
    expect(ev.isReadOnly('toggle-simulated-logging')).toBe(false);

    const result = await ev.callTool('echo', { message: 'hello upstream' });
    expect(result.content).toEqual([{ type: 'text', text: 'Echo: hello upstream' }]);
    const sum = await ev.callTool('get-sum', { a: 2, b: 40 });
    expect(JSON.stringify(sum.content)).toContain('42');

    const status = ev.status();
    expect(status).toMatchObject({ name: 'ev', transport: 'stdio', sharing: 'shared', state: 'ready', restarts: 0, breaker: 'closed' });
    const pid = status.children[0]!.pid!;
    expect(pid).toBeGreaterThan(1);
    expect(isRunning(pid)).toBe(true);

    await set.close();
    expect(ev.status().state).toBe('stopped');
    // A stop returns once no process of the group runs (signal 0 would also see a zombie PID 1 has not reaped).
    expect(groupRunning(pid)).toBe(false);
    await expect(ev.callTool('echo', { message: 'x' })).rejects.toThrow(/upstream ev is closed/);
  });

  it('request() forwards resources and prompts as is, and capabilities() says what the server declared', async () => {
    const set = open([{ name: 'ev', transport: 'stdio', command: everything }], home);
    const ev = set.get('ev')!;
    try {
      expect(await ev.capabilities()).toMatchObject({ tools: { listChanged: true }, resources: {}, prompts: {} });
      const resources = (await ev.request('resources/list', undefined)) as { resources: Array<{ uri: string }> };
      expect(resources.resources.length).toBeGreaterThan(0);
      const read = (await ev.request('resources/read', { uri: resources.resources[0]!.uri })) as { contents: unknown[] };
      expect(read.contents.length).toBe(1);
      const prompts = (await ev.request('prompts/list', undefined)) as { prompts: Array<{ name: string }> };
      expect(prompts.prompts.map((p) => p.name)).toContain('simple-prompt');
      await expect(ev.request('resources/read', { uri: 'demo://no/such/thing' })).rejects.toMatchObject({ message: expect.stringMatching(/^upstream ev: resources\/read failed/) });
    } finally {
      await set.close();
    }
  });

  it('a tool-level error is a result; an unknown tool is refused naming the upstream', async () => {
    const set = open([{ name: 'ev', transport: 'stdio', command: everything }], home);
    const ev = set.get('ev')!;
    try {
      const bad = await ev.callTool('get-sum', { a: 'not a number' });
      expect(bad.isError).toBe(true);
      await expect(ev.callTool('no-such-tool', {})).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID', message: expect.stringContaining('upstream ev has no tool "no-such-tool"') });
    } finally {
      await set.close();
    }
  });

  it('include/exclude globs narrow the listing and what can be called', async () => {
    const set = open([{ name: 'ev', transport: 'stdio', command: everything, tools: { include: ['get-*', 'echo'], exclude: ['get-env'] } }], home);
    const ev = set.get('ev')!;
    try {
      const names = (await ev.listTools()).map((t) => t.name);
      expect(names).toContain('echo');
      expect(names).toContain('get-sum');
      expect(names).not.toContain('get-env');
      expect(names).not.toContain('toggle-simulated-logging');
      await expect(ev.callTool('get-env', {})).rejects.toMatchObject({ code: 'TWL_INPUT_INVALID' });
    } finally {
      await set.close();
    }
  });

  it('shared http: lists and calls over Streamable HTTP', async () => {
    const set = open([{ name: 'web', transport: 'http', url }], home);
    const web = set.get('web')!;
    try {
      expect((await web.listTools()).some((t) => t.name === 'echo')).toBe(true);
      const result = await web.callTool('echo', { message: 'over http' });
      expect(result.content).toEqual([{ type: 'text', text: 'Echo: over http' }]);
      expect(web.status()).toMatchObject({ transport: 'http', state: 'ready', children: [{ state: 'ready', inFlight: 0 }] });
    } finally {
      await set.close();
    }
  });

  it('onToolsChanged fires on restart (and the listing is fetched again)', async () => {
    const set = open([{ name: 'ev', transport: 'stdio', command: everything, restart: { backoff: '10ms' } }], home);
    const ev = set.get('ev')!;
    try {
      await ev.listTools();
      const pid = ev.status().children[0]!.pid!;
      const changed = new Promise<void>((resolve) => ev.onToolsChanged(resolve));
      process.kill(-pid, 'SIGKILL');
      await changed;
      expect(ev.status().restarts).toBe(1);
      expect((await ev.callTool('echo', { message: 'again' })).content).toEqual([{ type: 'text', text: 'Echo: again' }]);
      expect(ev.status().children[0]!.pid).not.toBe(pid);
    } finally {
      await set.close();
    }
  });
});
