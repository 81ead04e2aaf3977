import { describe, expect, it } from 'vitest';
import { stdioSession, tempHome } from '../helpers.js';

describe('twl serve --stdio when the client closes stdin', () => {
  it('answers the calls in flight before it exits', async () => {
    const { home, cleanup } = tempHome('twl-eof-');
    try {
      // A call that takes a second, then a write: both are in flight when stdin closes (right after writing them).
      const r = await stdioSession(home, [
        { name: 'database_execute_query', arguments: { sql: 'select pg_sleep(1) as slept' } },
        { name: 'tickets_create_ticket', arguments: { text: 'Printer on floor 2 is jammed again' } },
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.byId.get(2)?.result?.isError, r.stdout).toBeFalsy();
      expect(r.byId.get(2)?.result?.structuredContent).toMatchObject({ rowCount: 1 });
      expect(r.byId.get(3)?.result?.isError, r.stdout).toBeFalsy();
      expect(r.byId.get(3)?.result?.structuredContent).toMatchObject({ text: 'Printer on floor 2 is jammed again' });
    } finally {
      cleanup();
    }
  });
});
