/**
 * A custom job type, end to end: `archive` writes files into a staging file and puts it in
 * place only when the whole job succeeded (finalize hooks), reports progress, honours the
 * speed limit and pause points, masks its secret param, and handles a full disk with the
 * caller's on-error policy. Explained in docs/jobs.md.
 *
 * Run it (nats-server must be installed; it starts a private one on a free port, with JetStream
 * in a scratch directory; JOBS_PERSIST=false keeps the jobs in memory only):
 *
 *     npm run build && node dist/src/examples/custom-job.js
 */
import { appendFileSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { z } from 'zod';
import { NatsServer } from '../nats/server.js';
import { defineJob } from '../runtime/handler.js';
import { JobTypes } from '../runtime/registry.js';
import { JobsClient } from '../sdk/index.js';
import type { EventEnvelope } from '../sdk/index.js';
import { JobService } from '../service/service.js';
import { loadSettings } from '../settings.js';

const ArchiveParams = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/),
  files: z.number().int().min(1).max(1000).default(5),
  password: z.string(),
  /** For the demonstration: the write of this file fails once with ENOSPC. */
  'disk-full-at': z.number().int().optional(),
});

/** The `archive` job type, writing below `dir`. */
export function archiveJob(dir: string) {
  return defineJob(
    'archive',
    {
      params: ArchiveParams,
      description: (p) => `Archive ${p.files} files as ${p.name}.tar`,
      // One archive of a name at a time; a second start while one waits gets that one back.
      lock: (p) => `archive:${p.name}`,
      lockQueueSize: 1,
      secrets: ['password'],
      hooks: {
        // Fallible and async: check the staged file before anything is put in place.
        async prepare(job) {
          const lines = (await readFile(String(job.scratch.staged), 'utf8')).split('\n').length - 1;
          if (lines !== job.params.files) throw new Error(`Archive is incomplete: ${lines} of ${job.params.files} files`);
        },
        // Synchronous and must not fail: only renames and removals.
        commit(job) {
          renameSync(String(job.scratch.staged), join(dir, `${job.params.name}.tar`));
        },
        // Also runs for a job cancelled before its handler ran: scratch may be empty.
        abort(job) {
          if (typeof job.scratch.staged === 'string') rmSync(job.scratch.staged, { force: true });
        },
        clean(job) {
          job.log.info('staging area cleaned');
        },
      },
    },
    async (job) => {
      const { name, files, password } = job.params;
      let diskFullAt = job.params['disk-full-at'];
      const staged = join(dir, `.${name}.${job.id}.part`);
      job.scratch.staged = staged; // what the hooks need
      job.log.info(`encrypting with password ${password}`); // the log shows ********
      job.progress(0, files);
      for (let i = 1; i <= files; i++) {
        await job.throttle(1); // `speed` is files per second; also a pause point
        for (;;) {
          try {
            if (i === diskFullAt) {
              diskFullAt = undefined;
              throw new Error('No space left on device');
            }
            appendFileSync(staged, `file ${i}\n`);
            break;
          } catch (err) {
            // report: throws (the job fails); stop: returns after job-resume; ignore: returns.
            await job.ioError('write', err);
          }
        }
        job.progress(i, files);
      }
      return { archive: `${name}.tar`, files };
    },
  );
}

const say = (text: string) => process.stdout.write(`${text}\n`);

/** The first event of `stream` that `pred` accepts. */
async function first(stream: AsyncIterable<EventEnvelope>, pred: (e: EventEnvelope) => boolean): Promise<EventEnvelope> {
  for await (const event of stream) if (pred(event)) return event;
  throw new Error('the event stream ended');
}

async function main(): Promise<void> {
  // 1. A private nats-server, and the service in this process with our one job type.
  const dir = mkdtempSync(join(tmpdir(), 'jobstate-archive-'));
  const server = await NatsServer.start({ jetstreamDir: join(dir, '.nats') });
  const nc = await connect({ servers: server.url });
  const service = await JobService.start({
    nc,
    types: new JobTypes().register(archiveJob(dir)),
    logger: pino({ level: 'silent' }),
    persistence: loadSettings().persistence, // JOBS_PERSIST
  });
  const alice = await JobsClient.connect({ servers: server.url, user: 'alice' });
  try {
    // 2. Every event of alice's jobs, printed as it comes.
    const events = alice.events();
    await events.ready;
    const watch = alice.events({ id: 'photos' });
    await watch.ready;
    void (async () => {
      for await (const e of events) {
        const { id, owner: _owner, ...data } = e.data;
        say(`  ${id} ${e.event} ${JSON.stringify(data)}`);
      }
    })();

    // 3. An archive whose third write hits a full disk. With on-error `stop` the job pauses
    //    (JOB_ERROR, then `paused`) until someone frees space and resumes it.
    say('start photos (on-error: stop)');
    await alice.start('archive', {
      id: 'photos',
      params: { name: 'photos', files: 4, password: 'hunter2', 'disk-full-at': 3 },
      'on-error': 'stop',
      'auto-dismiss': false,
      speed: 20,
    });
    await first(watch, (e) => e.event === 'JOB_STATUS_CHANGE' && e.data.status === 'paused');
    watch.close();
    say('disk full: photos is paused; resume it');
    await alice.resume('photos');
    const done = await alice.wait('photos');
    say(`photos: ${done.status}, result ${JSON.stringify(done.result)}`);
    say(`params as anyone sees them: ${JSON.stringify(done.params)}`);
    say(`its log:\n${done['logs-excerpt']}`);
    await alice.dismiss('photos');

    // 4. With the default on-error `report`, the same error fails the job; `abort` removes
    //    the staged file, so nothing half-written is left behind.
    say('start notes (on-error: report)');
    const notes = await alice.start('archive', { params: { name: 'notes', files: 3, password: 'x', 'disk-full-at': 2 } });
    const failed = await alice.wait(notes);
    say(`notes: error ${JSON.stringify(failed.error)}`);
    say(`files in the archive directory: ${readdirSync(dir).filter((f) => f !== '.nats').join(', ')}`);
    events.close();
  } finally {
    await alice.close();
    await service.close();
    await nc.drain();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run when executed (not when imported for its job type); dist may be a symlink (scripts/build.mjs).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) await main();
