/**
 * `npm start`: the jobstate service. With NATS_URL unset it runs its own nats-server with
 * the repo's nats.conf (the embedded default) and stops it on exit.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { connectNats } from './nats/connect.js';
import { NatsServer, NatsServerMissingError } from './nats/server.js';
import { builtinTypes } from './service/builtin-types.js';
import { JobService } from './service/service.js';
import { loadSettings } from './settings.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EMBEDDED_PORT = 4322;

async function main(): Promise<void> {
  const settings = loadSettings();
  const logger = pino({ level: settings.logLevel, base: { service: 'jobstate' } });

  let embedded: NatsServer | undefined;
  let url = settings.natsUrl;
  if (url === undefined) {
    // nats.conf and data/ are those of the directory the service runs in (the repo, for
    // `npm start`); without a nats.conf there, the one shipped with the package.
    const cwd = process.cwd();
    const config = existsSync(join(cwd, 'nats.conf')) ? join(cwd, 'nats.conf') : join(PACKAGE_ROOT, 'nats.conf');
    mkdirSync(join(cwd, 'data'), { recursive: true });
    embedded = await NatsServer.start({ config, port: EMBEDDED_PORT, cwd });
    url = embedded.url;
    writeFileSync(join(cwd, 'data', 'nats.url'), `${url}\n`);
    logger.warn(
      { url, config },
      'embedded nats-server started WITHOUT authentication (development default): any local client may act as any user; see docs/protocol.md (Identity, owners and admins)',
    );
  }

  const nc = await connectNats(url, logger);
  const service = await JobService.start({ nc, types: builtinTypes(), logger, prefix: settings.prefix, admins: settings.admins });
  logger.info({ url, prefix: settings.prefix, admins: settings.admins }, 'ready');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await service.close();
    await nc.drain();
    await embedded?.stop();
    logger.info('bye');
    logger.flush();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof NatsServerMissingError || (err instanceof Error && err.message.startsWith('Invalid setting'))) {
    process.stderr.write(`jobstate: ${err.message}\n`);
  } else {
    process.stderr.write(`jobstate: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
