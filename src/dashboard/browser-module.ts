/**
 * npm packages published as CommonJS (nats.js's `@nats-io/nats-core` and what it requires) as
 * one ES module a browser can import: their files, read from node_modules when the server
 * first serves them, each wrapped in a function with its own `module`, `exports` and
 * `require`, behind the entry's named exports. No bundler and no build step: the package's own
 * files, as npm installed them.
 */
import { readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';

const REQUIRE_RE = /\brequire\(\s*["']([^"']+)["']\s*\)/g;
const BUILTIN = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

/**
 * The ES module text of a CommonJS package: `import { wsconnect } from '<served path>'` then
 * works in a browser. A `require()` of a Node built-in (taken only on Node's code paths, as
 * tweetnacl's `require('crypto')` when there is no `self.crypto`) throws when it runs.
 *
 * @example
 * ```ts
 * const text = esmOfCommonJs('@nats-io/nats-core');
 * // "const defs = {…};\n…\nexport const { wsconnect, … } = main;\nexport default main;\n"
 * ```
 */
export function esmOfCommonJs(pkg: string, from: string = import.meta.url): string {
  const entry = createRequire(from).resolve(pkg);
  const ids = new Map<string, number>();
  const defs: string[] = [];
  const links: Record<string, string | number>[] = [];
  const visit = (file: string): number => {
    const known = ids.get(file);
    if (known !== undefined) return known;
    const id = ids.size;
    ids.set(file, id);
    const source = readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/m, '');
    const req = createRequire(file);
    const map: Record<string, string | number> = {};
    links[id] = map;
    for (const m of source.matchAll(REQUIRE_RE)) {
      const name = m[1]!;
      if (name in map) continue;
      map[name] = BUILTIN.has(name) ? `the Node module '${name}' is not available in a browser` : -1;
    }
    defs[id] = `function (module, exports, require) {\n${source}\n}`;
    for (const name of Object.keys(map)) {
      if (map[name] === -1) map[name] = visit(req.resolve(name));
    }
    return id;
  };
  visit(entry);
  const names = Object.keys(createRequire(from)(pkg) as object).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
  return [
    `const defs = [\n${defs.join(',\n')}\n];`,
    `const links = ${JSON.stringify(links)};`,
    'const cache = [];',
    'function load(id) {',
    '  if (cache[id]) return cache[id].exports;',
    '  const module = { exports: {} };',
    '  cache[id] = module;',
    '  defs[id].call(module.exports, module, module.exports, (name) => {',
    '    const to = links[id][name];',
    "    if (typeof to === 'number') return load(to);",
    '    throw new Error(typeof to === "string" ? to : `cannot require ${name}`);',
    '  });',
    '  return module.exports;',
    '}',
    'const main = load(0);',
    `export const { ${names.join(', ')} } = main;`,
    'export default main;',
    '',
  ].join('\n');
}
