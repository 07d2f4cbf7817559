/**
 * JOBS_HTTP: host:port, a free port when that one is taken, `off`; bad values named.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { pino } from 'pino';
import { listenHttp } from '../../src/http/listen.js';
import { httpSettingsFromEnv, parseHttpSetting } from '../../src/http/settings.js';

describe('JOBS_HTTP', () => {
  it('parses host:port, :port, port and off; the default is 127.0.0.1:4380', () => {
    assert.deepEqual(parseHttpSetting(undefined), { host: '127.0.0.1', port: 4380 });
    assert.deepEqual(parseHttpSetting(''), { host: '127.0.0.1', port: 4380 });
    assert.deepEqual(parseHttpSetting('0.0.0.0:8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseHttpSetting(':9000'), { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseHttpSetting('9000'), { host: '127.0.0.1', port: 9000 });
    assert.deepEqual(parseHttpSetting('[::1]:9000'), { host: '::1', port: 9000 });
    assert.equal(parseHttpSetting('off'), 'off');
    for (const bad of ['on', 'localhost:', 'x:99999', 'a b:1']) {
      assert.throws(() => parseHttpSetting(bad), { message: `Invalid setting JOBS_HTTP: '${bad}' is not 'off' or host:port (e.g. 127.0.0.1:4380)` });
    }
    assert.throws(() => httpSettingsFromEnv({ JOBS_HTTP_MAX_FILE_BYTES: '1k' }), { message: 'Invalid setting JOBS_HTTP_MAX_FILE_BYTES: a positive whole number' });
    assert.deepEqual(httpSettingsFromEnv({ JOBS_HTTP_MAX_FILE_BYTES: '1024', JOBS_HTTP_IDLE_TIMEOUT_MS: '5000' }).limits, { maxFileBytes: 1024, idleTimeoutMs: 5000 });
  });

  it('listens on a free port when the one asked for is taken', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const taken = (squatter.address() as AddressInfo).port;
    const app = Fastify();
    try {
      const url = await listenHttp(app, { host: '127.0.0.1', port: taken }, pino({ level: 'silent' }));
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(url, `http://127.0.0.1:${taken}`);
    } finally {
      await app.close();
      squatter.close();
    }
  });
});
