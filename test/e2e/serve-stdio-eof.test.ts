import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { bin, inheritedEnv, tempHome } from '../helpers.js';

const rpc = (id: number | undefined, method: string, params: Record<string, unknown> = {}) => `${JSON.stringify({ jsonrpc: '2.0', ...(id === undefined ? {} : { id }), method, params })}\n`;

describe('twl serve --stdio when the client closes stdin', () => {
  it('answers the calls in flight before it exits', async () => {
    const { home, cleanup } = tempHome('twl-eof-');
    try {
      const child = execa(process.execPath, [bin, 'serve', '--stdio'], { env: { ...inheritedEnv(), TWL_HOME: home, HOME: home }, cwd: home, extendEnv: false, reject: false, timeout: 90_000 });
      let stdout = '';
      const answered = new Promise<void>((resolve) => {
        child.stdout!.on('data', (d: Buffer) => {
          stdout += d.toString();
          if (stdout.includes('"id":1')) resolve();
        });
      });
      child.stdin!.write(rpc(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'eof-test', version: '1' } }));
      await answered;
      child.stdin!.write(rpc(undefined, 'notifications/initialized'));
      // A call that takes a second, then a write: both are in flight when stdin closes.
      child.stdin!.write(rpc(2, 'tools/call', { name: 'database_execute_query', arguments: { sql: 'select pg_sleep(1) as slept' } }));
      child.stdin!.write(rpc(3, 'tools/call', { name: 'tickets_create_ticket', arguments: { text: 'Printer on floor 2 is jammed again' } }));
      child.stdin!.end();
      const r = await child;
      expect(r.exitCode, r.stderr).toBe(0);
      const responses = stdout.trim().split('\n').map((l) => JSON.parse(l) as { id?: number; result?: { isError?: boolean; structuredContent?: Record<string, unknown> } });
      const byId = new Map(responses.filter((m) => m.id !== undefined).map((m) => [m.id, m]));
      expect(byId.get(2)?.result?.isError, stdout).toBeFalsy();
      expect(byId.get(2)?.result?.structuredContent).toMatchObject({ rowCount: 1 });
      expect(byId.get(3)?.result?.isError, stdout).toBeFalsy();
      expect(byId.get(3)?.result?.structuredContent).toMatchObject({ text: 'Printer on floor 2 is jammed again' });
    } finally {
      cleanup();
    }
  });
});
