/**
 * The REST face's sessions: an X-Session-ID names one, scoped to the caller that sent it (two
 * callers using the same id get two sessions). In isolated sharing a session owns one upstream
 * child (its key is the session key of the upstream's calls); a session with no call for the idle
 * time is closed, and its child with it, so callers that never say goodbye leave nothing behind.
 */
import { createHash } from 'node:crypto';

interface Session {
  lastSeen: number;
  inFlight: number;
}

export class RestSessions {
  private readonly sessions = new Map<string, Session>();
  private opened = 0;
  private readonly sweep: NodeJS.Timeout;

  constructor(
    private readonly idleMs: number,
    /** A session ended (idle, or the server stops): its upstream child, if any, is closed. */
    private readonly onClose: (key: string) => void,
  ) {
    this.sweep = setInterval(() => this.reap(), Math.min(60_000, Math.max(250, idleMs / 4)));
    this.sweep.unref();
  }

  /** The session key of a caller's X-Session-ID: a hash, so no id can be crafted to reach another caller's session. */
  static keyOf(principal: string, id: string): string {
    return `rest:${createHash('sha256').update(principal).update('\0').update(id).digest('base64url').slice(0, 32)}`;
  }

  /** Marks a call of the session as started; the returned function marks it done. */
  begin(key: string): () => void {
    let session = this.sessions.get(key);
    if (!session) {
      this.sessions.set(key, (session = { lastSeen: Date.now(), inFlight: 0 }));
      this.opened++;
    }
    session.inFlight++;
    const s = session;
    return () => {
      s.inFlight--;
      s.lastSeen = Date.now();
    };
  }

  /** Closes the sessions idle for longer than the idle time (none with a call in flight). */
  reap(now = Date.now()): void {
    for (const [key, s] of this.sessions) {
      if (s.inFlight === 0 && now - s.lastSeen > this.idleMs) {
        this.sessions.delete(key);
        this.onClose(key);
      }
    }
  }

  /** Open sessions, those idle for `idleAfterMs`, and how many were opened since the start. */
  figures(idleAfterMs: number, now = Date.now()): { active: number; idle: number; total: number } {
    let idle = 0;
    for (const s of this.sessions.values()) if (s.inFlight === 0 && now - s.lastSeen > idleAfterMs) idle++;
    return { active: this.sessions.size, idle, total: this.opened };
  }

  close(): void {
    clearInterval(this.sweep);
    for (const key of this.sessions.keys()) this.onClose(key);
    this.sessions.clear();
  }
}
