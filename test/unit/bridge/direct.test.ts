// The bridge's answer to a call of a tool it does not serve: a tool error (as the stdio server
// itself answers), worded as the catalog words a tool that exists nowhere.
import { describe, expect, it } from 'vitest';
import { directCalls, unknownToolResult } from '../../../src/bridge/direct.js';
import type { BridgeCatalog } from '../../../src/bridge/tools.js';
import { unknownTool, unseenTool } from '../../../src/runtime/errors.js';
import type { Logger } from '../../../src/runtime/logger.js';

describe('the bridge and a tool it does not serve', () => {
  it('says what the catalog says of a tool that exists nowhere, and of one outside a key\'s namespaces', () => {
    expect(unknownToolResult('no-such-tool')).toEqual({ isError: true, content: [{ type: 'text', text: 'No tool named "no-such-tool".' }] });
    expect(unknownToolResult('no-such-tool').content[0]!.text).toBe(unknownTool('no-such-tool').message);
    expect(unknownToolResult('fx_read').content[0]!.text).toBe(unseenTool('fx_read').message);
    expect(unknownToolResult('x'.repeat(500)).content[0]!.text).toBe(unknownTool('x'.repeat(500)).message);
  });

  it('answers a direct call of it with that tool error, not a protocol error', async () => {
    const catalog = {
      get: async () => undefined,
      call: async (name: string) => {
        throw unknownTool(name);
      },
    } as unknown as BridgeCatalog;
    const call = directCalls(catalog, false, { warn: () => undefined } as unknown as Logger);
    const answer = await call({ name: 'no-such-tool', arguments: {}, caller: { principal: 'key:t', role: 'admin' } as never, signal: new AbortController().signal });
    expect(answer).toEqual({ isError: true, content: [{ type: 'text', text: 'No tool named "no-such-tool".' }] });
  });
});
