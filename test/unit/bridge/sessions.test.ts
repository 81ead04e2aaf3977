// The REST face's sessions: scoped to their caller, reaped when idle (never with a call in
// flight), and every reaped or remaining session is reported closed so its child ends too.
import { afterEach, describe, expect, it } from 'vitest';
import { RestSessions } from '../../../src/bridge/sessions.js';

let open: RestSessions[] = [];
afterEach(() => {
  for (const s of open) s.close();
  open = [];
});
const sessions = (idleMs: number, closed: string[]) => {
  const s = new RestSessions(idleMs, (key) => closed.push(key));
  open.push(s);
  return s;
};

describe('REST sessions', () => {
  it('gives the same X-Session-ID of two callers two keys, and one caller the same key each time', () => {
    expect(RestSessions.keyOf('key:a', 's1')).toBe(RestSessions.keyOf('key:a', 's1'));
    expect(RestSessions.keyOf('key:a', 's1')).not.toBe(RestSessions.keyOf('key:b', 's1'));
    // No id can be crafted to land on another caller's key by moving the separator.
    expect(RestSessions.keyOf('key:a', ':b')).not.toBe(RestSessions.keyOf('key:a:', 'b'));
  });

  it('closes a session idle for longer than the idle time, not one with a call in flight', () => {
    const closed: string[] = [];
    const s = sessions(1000, closed);
    const doneA = s.begin('a');
    doneA();
    const doneB = s.begin('b');
    const later = Date.now() + 5000;
    s.reap(later);
    expect(closed).toEqual(['a']);
    expect(s.figures(1000, later)).toEqual({ active: 1, idle: 0, total: 2 });
    doneB();
    s.reap(Date.now() + 5000);
    expect(closed).toEqual(['a', 'b']);
    expect(s.figures(1000)).toEqual({ active: 0, idle: 0, total: 2 });
  });

  it('reports every open session closed when it closes', () => {
    const closed: string[] = [];
    const s = sessions(60_000, closed);
    s.begin('x')();
    s.begin('y')();
    s.close();
    expect(closed.sort()).toEqual(['x', 'y']);
  });
});
