// The upstream's own requests through `twl bridge --sharing isolated`: server-everything's
// trigger-elicitation-request asks its client mid-call; a 1.x SDK client (2025 session) answers
// through the bridge, and its answer reaches the upstream and comes back in the tool result.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempHome } from '../helpers.js';
import { everything, startBridge } from './bridge-helpers.js';

describe('twl bridge --sharing isolated forwards the upstream\'s elicitation to the downstream client', () => {
  const { home, cleanup } = tempHome('twl-bridge-elicit-');
  let bridge: Awaited<ReturnType<typeof startBridge>>;

  beforeAll(async () => {
    writeFileSync(path.join(home, '.twlrc.json'), JSON.stringify({ http: { auth: 'none' } }));
    bridge = await startBridge(home, ['--sharing', 'isolated', '--', process.execPath, everything, 'stdio']);
  });
  afterAll(async () => {
    bridge.child.kill('SIGTERM');
    await bridge.child;
    cleanup();
  });

  it('a client with elicitation answers the upstream\'s question, and its answer is in the tool result', async () => {
    const asked: Array<{ message: string }> = [];
    const client = new Client({ name: 'elicit-client', version: '1' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, async (request) => {
      asked.push({ message: String(request.params.message) });
      return { action: 'accept', content: { name: 'Ada Forwarded-7c21', check: true, integer: 7 } };
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${bridge.url}/mcp`)));
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toContain('trigger-elicitation-request');
      const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      expect(asked).toEqual([{ message: 'Please provide inputs for the following fields:' }]);
      const text = (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
      expect(result.isError).toBeFalsy();
      expect(text).toContain('User provided the requested information');
      expect(text).toContain('Ada Forwarded-7c21');
    } finally {
      await client.close();
    }
  });

  it('a client without elicitation: the upstream is told it is not available, and the call ends with that error', async () => {
    const client = new Client({ name: 'plain-client', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${bridge.url}/mcp`)));
    try {
      const result = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
      const text = (result.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('\n');
      expect(result.isError).toBe(true);
      expect(text).toContain('elicitation/create is not available');
    } finally {
      await client.close();
    }
  });
});
