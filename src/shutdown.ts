/** How a long-running process of jobstate ends: on SIGINT or SIGTERM, once, in order. */
import type { Logger } from 'pino';

/**
 * Resolve after the first SIGINT or SIGTERM has run `close` (logged as shutting down … bye).
 * Later signals while it closes are ignored (a terminal's Ctrl-C under `npm start` arrives
 * twice: from the terminal and forwarded by npm). A `close` that fails is logged and sets
 * the exit code to 1; it never becomes an unhandled rejection.
 * @example await untilSignalled(logger, async () => { await service.close(); await nc.drain(); });
 */
export function untilSignalled(logger: Logger, close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      try {
        await close();
        logger.info('bye');
      } catch (err) {
        logger.error({ err }, 'the shutdown failed');
        process.exitCode = 1;
      }
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGTERM', onTerm);
      logger.flush();
      resolve();
    };
    const onInt = () => void stop('SIGINT');
    const onTerm = () => void stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
