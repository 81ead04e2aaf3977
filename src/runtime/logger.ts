import pino, { type Logger } from 'pino';
import { redactDeep, redactText } from './redact.js';

export type { Logger };

/** Logs go to stderr only: stdout belongs to results (and to the protocol under `serve --stdio`). */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, ...bindings },
      redact: { paths: ['*.password', '*.url', 'url', 'password', '*.authorization'], censor: '[redacted]' },
      // Every logged value and message through the one redaction routine (drivers quote URLs in errors).
      formatters: { log: (object) => redactDeep(object) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redactText(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
