/**
 * A job whose partition moved to another instance: its pipes are forgotten here without a word
 * to the stream (PipeHub.dropped) — a later conclusion here writes no end into the output and
 * purges nothing; the data and the end are the next instance's.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { PipeHub } from '../../src/pipes/hub.js';
import { pipeStream } from '../../src/pipes/names.js';
import { startNatsServer } from '../support/stack.js';

describe('pipes of a dropped job', () => {
  let server: Awaited<ReturnType<typeof startNatsServer>>;
  let nc: NatsConnection;
  const prefix = `pd${process.pid}`;

  before(async () => {
    server = await startNatsServer();
    nc = await connect({ servers: server.url });
  });
  after(async () => {
    await nc?.close();
    await server?.stop();
  });

  it('are forgotten: the stream keeps what the job wrote, and no end is written here', async () => {
    const hub = new PipeHub({ nc, prefix, logger: pino({ level: 'silent' }) });
    const set = hub.open('alice', 'j', { inputs: [], output: 'stream' });
    await set.ready();
    await set.forJob(new AbortController().signal).output!.write(new TextEncoder().encode('half of it'));
    await set.outputStored();
    const jsm = await jetstreamManager(nc);
    const messages = async () => (await jsm.streams.info(pipeStream(prefix, 'alice'))).state.messages;
    const written = await messages();
    assert.ok(written > 0, 'the output has data');
    hub.dropped('alice', 'j');
    hub.concluded('alice', 'j', undefined);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(await messages(), written, 'nothing written or purged after the drop');
    hub.close();
  });
});
