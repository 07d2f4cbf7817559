import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { schemaDocs } from '../../src/docs/schemas.js';
import { COMMANDS } from '../../src/protocol/subjects.js';
import { JOB_EVENT_NAMES } from '../../machines/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('the published JSON Schemas and AsyncAPI document', () => {
  const docs = schemaDocs();

  test('there is a request and a reply schema for every command, and a schema for every event', () => {
    for (const command of COMMANDS) {
      assert.ok(docs[`docs/schema/commands/${command}.request.json`], command);
      assert.ok(docs[`docs/schema/commands/${command}.reply.json`], command);
    }
    for (const name of JOB_EVENT_NAMES) assert.ok(docs[`docs/schema/events/${name}.json`], name);
    assert.ok(docs['docs/schema/job-info.json']);
    assert.ok(docs['docs/asyncapi.json']);
  });

  for (const [path, content] of Object.entries(docs)) {
    test(`${path} is up to date`, () => {
      let committed: string;
      try {
        committed = readFileSync(join(ROOT, path), 'utf8');
      } catch {
        assert.fail(`${path} is missing: run npm run docs`);
      }
      assert.equal(committed, content, `${path} is stale: run npm run docs`);
    });
  }
});
