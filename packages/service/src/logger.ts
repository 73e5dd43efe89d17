import { type Logger, type LoggerOptions, pino } from 'pino';

export type { Logger };

/** One JSON logger per service, created in main and passed down. */
export function createLogger(opts: {
  service: string;
  level?: string;
  destination?: NodeJS.WritableStream;
}): Logger {
  const options: LoggerOptions = {
    name: opts.service,
    level: opts.level ?? 'info',
    // Credentials must never reach logs, whatever a caller passes in.
    redact: {
      paths: ['*.password', '*.token', '*.auth', '*.authorization', 'headers.authorization'],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
