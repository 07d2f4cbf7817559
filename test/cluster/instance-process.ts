/**
 * One jobstate instance as a child process, for the cluster tests (so that it can be SIGKILLed,
 * SIGSTOPped and continued). Settings from the environment: SERVERS (comma-separated URLs),
 * PREFIX, ID, REPLICAS, DATA_DIR, FAST (short lease and heartbeat timings). Logs JSON lines to
 * stdout, `ready` once started; SIGTERM: a graceful stop (JobService.close()).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobService } from '../../src/service/service.js';
import { FAST_TIMINGS, TEST_PERSISTENCE } from './instances.js';

const env = process.env;
// `node --test dist/test/` runs every file under test/, this one too: started so, without the
// SERVERS that instances.ts gives it, it is not an instance and does nothing.
if (!env.SERVERS) process.exit(0);
const logger = pino({ level: env.LOG_LEVEL ?? 'info' });
const nc = await connect({ servers: (env.SERVERS ?? '').split(','), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
const service = await JobService.start({
  nc,
  types: builtinTypes(env.DATA_DIR ?? mkdtempSync(join(tmpdir(), 'jobstate-inst-'))),
  logger,
  prefix: env.PREFIX ?? 'jobs',
  ...(env.ID && { instanceId: env.ID }),
  replicas: Number(env.REPLICAS ?? 1),
  ...(env.FAST === '1' && { cluster: FAST_TIMINGS }),
  persistence: TEST_PERSISTENCE,
});
logger.info('ready');
process.once('SIGTERM', () => {
  void (async () => {
    await service.close();
    await nc.drain().catch(() => undefined);
    logger.info('stopped');
    process.exit(0);
  })();
});
