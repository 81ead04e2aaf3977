import React from 'react';
import { messageOf } from '../../runtime/errors.js';
import type { DashSource, TicketDetail } from '../source.js';
import { useSerial } from './useSerial.js';

/** The selected ticket and its timeline, reloaded when the selection changes or the store does (version). */
export function useTicketDetail(source: DashSource, id: number | undefined, version: number): { detail: TicketDetail | null; error: string | null } {
  const [state, setState] = React.useState<{ detail: TicketDetail | null; error: string | null }>({ detail: null, error: null });
  const idRef = React.useRef(id);
  idRef.current = id;
  const load = useSerial(async () => {
    const wanted = idRef.current;
    if (wanted === undefined) return setState({ detail: null, error: null });
    try {
      const detail = await source.ticket(wanted);
      // The selection moved on while this loaded: the serial runner loads the new one next.
      if (idRef.current === wanted) setState({ detail, error: null });
    } catch (err) {
      if (idRef.current === wanted) setState({ detail: null, error: messageOf(err) });
    }
  });
  React.useEffect(() => load(), [load, id, version]);
  return state;
}
