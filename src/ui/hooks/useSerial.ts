import React from 'react';

/**
 * Wraps an async job so that calls never overlap: a call while it runs is remembered and
 * runs once after it (latest state wins), so a burst of changes costs two queries, not N.
 */
export function useSerial(job: () => Promise<void>): () => void {
  const saved = React.useRef(job);
  const state = React.useRef({ running: false, again: false, alive: true });
  React.useEffect(() => {
    saved.current = job;
  });
  React.useEffect(() => {
    const s = state.current;
    s.alive = true;
    return () => {
      s.alive = false;
    };
  }, []);
  return React.useCallback(() => {
    const s = state.current;
    if (s.running) {
      s.again = true;
      return;
    }
    s.running = true;
    void (async () => {
      do {
        s.again = false;
        if (!s.alive) break;
        await saved.current().catch(() => undefined);
      } while (s.again);
      s.running = false;
    })();
  }, []);
}
