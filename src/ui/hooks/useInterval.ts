import React from 'react';

/** Calls fn every ms (not at all when ms is null), with the latest fn; the interval is cleared on unmount. */
export function useInterval(fn: () => void, ms: number | null): void {
  const saved = React.useRef(fn);
  React.useEffect(() => {
    saved.current = fn;
  });
  React.useEffect(() => {
    if (ms === null) return;
    const timer = setInterval(() => saved.current(), ms);
    return () => clearInterval(timer);
  }, [ms]);
}
