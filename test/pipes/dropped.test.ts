/**
 * A job whose partition moved to another instance: its pipes are forgotten here without a word
 * to the stream (PipeHub.dropped) — a later conclusion here writes no end into the output and
 * purges nothing; the data and the end are the next instance's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { pino } from 'pino';
import { PipeHub } from '../../src/pipes/hub.js';
import { pipeStream } from '../../src/pipes/names.js';
import { natsForSuite } from '../support/stack.js';

describe('pipes of a dropped job', () => {
  const nats = natsForSuite();
  const prefix = `pd${process.pid}`;

  it('are forgotten: the stream keeps what the job wrote, and no end is written here', async () => {
    const hub = new PipeHub({ nc: nats.nc, prefix, logger: pino({ level: 'silent' }) });
    const set = hub.open('alice', 'j', { inputs: [], output: 'stream' });
    await set.ready();
    await set.forJob(new AbortController().signal).output!.write(new TextEncoder().encode('half of it'));
    await set.outputStored();
    const jsm = await jetstreamManager(nats.nc);
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
