import { isConfigError } from './env.ts';
import { createLogger, type Logger } from './logger.ts';
import { onShutdownSignal } from './shutdown.ts';

/**
 * The whole of a service's main.ts: `--help`, config parsed once, one
 * logger, start, wait for SIGTERM/SIGINT, graceful stop, and the single
 * top-level catch that turns a failure into a message and exit code 1.
 */
export function runMain<C extends { logLevel: string }>(opts: {
  service: string;
  /** The `--help` text; a function is only called for `--help`. */
  help: string | (() => string);
  loadConfig: () => C;
  start: (config: C, logger: Logger) => Promise<{ stop(): Promise<void> }>;
  argv?: readonly string[];
}): void {
  const argv = opts.argv ?? process.argv.slice(2);
  const main = async (): Promise<number> => {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(typeof opts.help === 'string' ? opts.help : opts.help());
      return 0;
    }
    const config = opts.loadConfig();
    const logger = createLogger({ service: opts.service, level: config.logLevel });
    const shutdown = onShutdownSignal();
    const running = await opts.start(config, logger);
    const sig = await shutdown.signal;
    logger.info({ signal: sig }, 'shutting down');
    await running.stop();
    return 0;
  };
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      const msg = isConfigError(err)
        ? err.message
        : err instanceof Error
          ? (err.stack ?? err.message)
          : String(err);
      process.stderr.write(`fleetscan-${opts.service}: ${msg}\n`);
      process.exit(1);
    },
  );
}
