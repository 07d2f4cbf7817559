/**
 * partitionOf agrees with nats-server's `{{partition(n, 1)}}` mapping: a real server maps
 * `probe.<owner>` to `probe.<partition>.<owner>` and the test compares 500 owners, ASCII,
 * `-`/`_`, digits and non-ASCII (multi-byte UTF-8) ones.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { NatsServer } from '../../src/nats/server.js';
import { DEFAULT_PARTITIONS, partitionOf, partitionOfTokens } from '../../src/cluster/partition.js';

/** 500 owners of many shapes, deterministic. */
function owners(): string[] {
  const fixed = ['alice', 'bob', 'a', 'A', '0', 'user-1', 'user_1', 'ü', 'zoë', 'Ωmega', '日本語', 'emoji😀', 'x-y_z', '--', '__', 'Δ-δ_d'];
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_éüßçøΩжщ中文字😀';
  const chars = [...alphabet];
  let seed = 12345;
  const rand = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const out = new Set(fixed);
  while (out.size < 500) {
    const len = 1 + Math.floor(rand() * 16);
    let s = '';
    for (let i = 0; i < len; i++) s += chars[Math.floor(rand() * chars.length)];
    out.add(s);
  }
  return [...out];
}

describe('partitionOf: the same function as nats-server', () => {
  let dir: string;
  let server: NatsServer;
  let nc: NatsConnection;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jobstate-partition-'));
    const config = join(dir, 'n.conf');
    writeFileSync(config, `mappings { "probe.*": "probe.{{partition(${DEFAULT_PARTITIONS},1)}}.{{wildcard(1)}}", "pair.*.*": "pair.{{partition(7,1,2)}}.{{wildcard(1)}}.{{wildcard(2)}}" }\n`);
    server = await NatsServer.start({ config });
    nc = await connect({ servers: server.url });
  });

  after(async () => {
    await nc.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('500 owners land in the partition the server maps them to', async () => {
    const all = owners();
    const seen = new Map<string, number>();
    const sub = nc.subscribe('probe.>', {
      callback: (_err, msg) => {
        const [, p, ...rest] = msg.subject.split('.');
        seen.set(rest.join('.'), Number(p));
      },
    });
    for (const owner of all) nc.publish(`probe.${owner}`);
    await nc.flush();
    const deadline = Date.now() + 5000;
    while (seen.size < all.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sub.unsubscribe();
    assert.equal(seen.size, all.length);
    const wrong = all.filter((o) => seen.get(o) !== partitionOf(o, DEFAULT_PARTITIONS));
    assert.deepEqual(wrong, []);
    // Every partition is used: the function spreads.
    assert.equal(new Set(seen.values()).size, DEFAULT_PARTITIONS);
  });

  test('several tokens are hashed concatenated, as partition(n, 1, 2)', async () => {
    const pairs = owners().slice(0, 100).map((o, i) => [o, `t${i}`] as const);
    const seen = new Map<string, number>();
    const sub = nc.subscribe('pair.>', {
      callback: (_err, msg) => {
        const [, p, a, b] = msg.subject.split('.');
        seen.set(`${a}.${b}`, Number(p));
      },
    });
    for (const [a, b] of pairs) nc.publish(`pair.${a}.${b}`);
    await nc.flush();
    const deadline = Date.now() + 5000;
    while (seen.size < pairs.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    sub.unsubscribe();
    assert.deepEqual(
      pairs.filter(([a, b]) => seen.get(`${a}.${b}`) !== partitionOfTokens([a, b], 7)),
      [],
    );
  });
});
