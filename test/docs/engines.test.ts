/**
 * The Node versions agree: the README names Node 20, package.json's engines say the same,
 * and every package npm installs (package-lock.json) accepts Node 20 — so `npm ci` on
 * Node 20 warns of no engine (EBADENGINE).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (name: string) => readFileSync(join(ROOT, name), 'utf8');

/** Whether Node `major`.x (every minor) satisfies an engines range of the forms npm packages use. */
export function admits(range: string, major: number): boolean {
  return range.split('||').some((alternative) => {
    const parts = alternative.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean);
    return parts.every((part) => {
      const m = /^(>=|>|<=|<|\^|~|=)?\s*v?(\*|x|\d+)(?:\.(\d+|x|\*))?(?:\.(\d+|x|\*))?$/.exec(part.trim());
      assert.ok(m, `an engines range this test can read: '${range}'`);
      const [, op = '=', first] = m;
      if (first === '*' || first === 'x') return true;
      const n = Number(first);
      switch (op) {
        case '>=':
          return major >= n; // some 20.x is late enough
        case '>':
          return major > n || (major === n && m[3] !== undefined && /^\d+$/.test(m[3]));
        case '<':
          return major < n;
        case '<=':
          return major <= n;
        default: // ^N, ~N, =N, N
          return major === n;
      }
    });
  });
}

describe('Node versions agree', () => {
  test('the README says Node 20, and package.json engines say >=20', () => {
    assert.match(read('README.md'), /Requirements: Node 20 or later/);
    const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
    assert.equal(pkg.engines.node, '>=20');
  });

  test('every package in package-lock.json accepts Node 20', () => {
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
    const refused = Object.entries(lock.packages)
      .filter(([path, p]) => path !== '' && p.engines && !Array.isArray(p.engines) && p.engines.node !== undefined && !admits(p.engines.node, 20))
      .map(([path, p]) => `${path}@${p.version}: node ${(p.engines as { node: string }).node}`);
    assert.deepEqual(refused, []);
  });

  test('the range reader itself', () => {
    assert.ok(admits('>= 18.x', 20));
    assert.ok(!admits('>= 22.x', 20));
    assert.ok(admits('>=14.0.0', 20));
    assert.ok(admits('*', 20));
    assert.ok(admits('^18 || ^20 || >=22', 20));
    assert.ok(!admits('^18 || >=22', 20));
    assert.ok(!admits('<20', 20));
  });
});
