/** How a long-running process of jobstate ends: on SIGINT or SIGTERM, once, in order. */
import type { Logger } from 'pino';

/**
 * Resolve after the first SIGINT or SIGTERM has run `close` (logged as shutting down … bye).
 * @example await untilSignalled(logger, async () => { await service.close(); await nc.drain(); });
 */
export function untilSignalled(logger: Logger, close: () => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down');
      await close();
      logger.info('bye');
      logger.flush();
      resolve();
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  });
}
