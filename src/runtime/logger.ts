import pino, { type Logger } from 'pino';

export type { Logger };

/** Logs go to stderr only: stdout belongs to results (and to the protocol under `serve --stdio`). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      redact: { paths: ['*.password', '*.url', 'url', 'password', '*.authorization'], censor: '[redacted]' },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
