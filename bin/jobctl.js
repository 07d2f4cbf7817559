#!/usr/bin/env node
// jobctl's entry point (package.json "bin"): runs the compiled CLI, or, in a clone that has not
// been built yet, says what to run instead of failing with "not found". Plain JavaScript, so it
// works before anything is compiled.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const cli = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(cli))) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.stderr.write(`jobctl: jobstate is not built yet: run \`npm run build\` in ${root} first\n`);
  process.exit(5);
}
await import(cli.href);
