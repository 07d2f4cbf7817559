/**
 * `npm run worker`: the built-in job types in a worker process of their own (see run.ts).
 * `jobctl worker` imports this module and calls {@link runWorker}.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { runWorker } from './run.js';

export { runWorker };

const entry = process.argv[1];
if (entry !== undefined && import.meta.url === pathToFileURL(realpathSync(entry)).href) void runWorker();
