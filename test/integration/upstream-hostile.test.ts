import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { TwlError } from '../../src/runtime/errors.js';
import { SecretBox, openUpstreams, upstreamConfigSchema, type UpstreamConfigInput, type UpstreamSet } from '../../src/upstream/index.js';
import { groupExitsWithin, quietLogger, root, tempHome } from '../helpers.js';

/**
 * The attack corpus of the upstream client: a hand-written server (test/fixtures/hostile-protocol-server.mjs)
 * breaks the protocol in every way we could think of; twl caps, drops or refuses each cleanly,
 * with an error naming the upstream, and stays usable.
 */
const hostile = path.join(root, 'test', 'fixtures', 'hostile-protocol-server.mjs');
const { home, cleanup } = tempHome();
const opened: UpstreamSet[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  cleanup();
});
const open = (mode: string, extra: Partial<UpstreamConfigInput> = {}) => {
  const set = openUpstreams([upstreamConfigSchema.parse({ name: 'evil', transport: 'stdio', command: process.execPath, args: [hostile], env: { HOSTILE: mode }, retries: 0, timeout: '2s', restart: { backoff: '10ms' }, ...extra })], {
    logger: quietLogger(),
    secrets: new SecretBox({ home }),
  });
  opened.push(set);
  return set.get('evil')!;
};
const failure = (p: Promise<unknown>) => p.then(() => undefined, (err: unknown) => err as TwlError);
const ok = [{ type: 'text', text: 'ok' }];

describe('hostile upstream responses', () => {
  it.each([
    ['huge-response', 'one 20 MB line'],
    ['endless-line', 'bytes without end and no newline'],
  ])('%s (%s): the call fails at the size cap naming it, the child is replaced', async (mode) => {
    const evil = open(mode, { maxMessageBytes: 1024 * 1024 });
    await evil.listTools();
    const pid = evil.status().children[0]!.pid!;
    const err = await failure(evil.callTool('ok', {}));
    expect(err?.code).toBe('TWL_UPSTREAM_UNAVAILABLE');
    expect(err?.message).toBe(`upstream evil: tools/call ok failed: the upstream (pid ${pid}) sent a message larger than maxMessageBytes (1048576 bytes).`);
    expect(await groupExitsWithin(pid)).toBe(true); // killed, group and all (a zombie left to PID 1 counts as gone)
    expect((await evil.listTools()).map((t) => t.name)).toEqual(['ok']); // a fresh child answers
  });

  it('malformed lines (not JSON, JSON that is not JSON-RPC, blank) are skipped; the real answer gets through', async () => {
    const evil = open('malformed');
    expect((await evil.callTool('ok', {})).content).toEqual(ok);
    expect(evil.status().restarts).toBe(0);
  });

  it('garbage instead of an answer: the call times out, nothing crashes', async () => {
    const evil = open('garbage-only', { timeout: '500ms' });
    await evil.listTools(); // started first: the call's 500 ms are for the garbage, not for spawning the child
    expect((await failure(evil.callTool('ok', {})))?.message).toBe('upstream evil: tools/call ok timed out after 500 ms.');
    expect(evil.status().state).toBe('ready');
  });

  it('answers with wrong ids are ignored; the right one is taken', async () => {
    const evil = open('wrong-ids');
    expect((await evil.callTool('ok', {})).content).toEqual(ok);
    const only = open('wrong-ids-only', { timeout: '500ms' });
    expect((await failure(only.callTool('ok', {})))?.code).toBe('TWL_UPSTREAM_TIMEOUT');
  });

  it('a notification flood does not stop the answer', async () => {
    const evil = open('flood', { timeout: '20s' }); // 5,000 notifications per answer take a while on a loaded machine
    expect((await evil.callTool('ok', {})).content).toEqual(ok);
  });

  it('hostile tools are dropped one by one (names, schemas), texts cut, annotations sanitised; the good tool stays', async () => {
    const evil = open('hostile-tools');
    const tools = await evil.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(['ok', 'long_texts', 'odd_annotations', 'polluting']);
    const long = tools.find((t) => t.name === 'long_texts')!;
    expect(long.description!.length).toBeLessThanOrEqual(8193);
    expect(long.title!.length).toBeLessThanOrEqual(201);
    expect(tools.find((t) => t.name === 'odd_annotations')!.annotations).toEqual({});
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(tools.find((t) => t.name === 'ok')!.description).toBe('fine'); // the first of the duplicates
    expect(evil.isReadOnly('odd_annotations')).toBe(false); // "yes" is not true
  });

  it('a listing of 10,000 tools is refused, naming the cap and the setting', async () => {
    const evil = open('many-tools');
    const err = await failure(evil.listTools());
    expect(err?.code).toBe('TWL_UPSTREAM_INVALID');
    expect(err?.message).toBe('upstream evil lists 10000 tools, more than maxTools (1000): refusing the listing.');
    expect(err?.actions[0]).toMatch(/Raise maxTools for upstream evil, or narrow it with tools.include/);
    // A raised cap takes it.
    expect(await open('many-tools', { maxTools: 10_000 }).listTools()).toHaveLength(10_000);
  });

  it('endless paging of tools/list stops at the page cap with an error', async () => {
    const evil = open('endless-pages');
    const err = await failure(evil.listTools());
    expect(err?.message).toMatch(/^upstream evil: tools\/list failed: .*32/);
  });
});
