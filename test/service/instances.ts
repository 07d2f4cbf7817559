/**
 * Service instances sharing one prefix for the forwarding tests: each on a connection of its
 * own, serving the partitions a hand-flipped {@link TestOwnership} says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { partitionOf } from '../../src/cluster/partition.js';
import { builtinTypes } from '../../src/runtime/builtin/builtin-types.js';
import { JobService } from '../../src/service/service.js';
import { TestOwnership } from './ownership-double.js';

export interface Instance {
  nc: NatsConnection;
  service: JobService;
  ownership: TestOwnership;
  close(): Promise<void>;
}

export interface InstanceOptions {
  url: string;
  prefix: string;
  partitions: number;
  served: number[];
  /** How long a forwarded command waits for its partition, ms. */
  waitMs: number;
  connection?: ConnectionOptions;
}

/** Who holds which partition, per prefix: what the instances of one test see of each other. */
const HOLDERS = new Map<string, Map<number, string>>();
let instances = 0;

/** A memory-only instance (no workers, no pipes) serving `served`. */
export async function startInstance(opts: InstanceOptions): Promise<Instance> {
  const nc = await connect({ servers: opts.url, ...opts.connection });
  const dataDir = mkdtempSync(join(tmpdir(), 'jobstate-fwd-'));
  let holders = HOLDERS.get(opts.prefix);
  if (!holders) HOLDERS.set(opts.prefix, (holders = new Map()));
  const ownership = new TestOwnership(opts.partitions, opts.served, `i${++instances}`, holders);
  const service = await JobService.start({
    nc,
    types: builtinTypes(dataDir),
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    prefix: opts.prefix,
    persistence: false,
    workers: false,
    pipes: false,
    ownership,
    forwardWaitMs: opts.waitMs,
  });
  return {
    nc,
    service,
    ownership,
    close: async () => {
      await service.close();
      await nc.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** `n` owners named `<stem><i>` whose partitions (of `partitions`) satisfy `pick`, each in a partition of its own. */
export function ownersIn(partitions: number, pick: (p: number) => boolean, n: number, stem = 'u'): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  for (let i = 0; out.length < n; i++) {
    const p = partitionOf(`${stem}${i}`, partitions);
    if (pick(p) && !seen.has(p)) {
      seen.add(p);
      out.push(`${stem}${i}`);
    }
  }
  return out;
}
