/**
 * Where the embedded nats-server of `npm start` is: the port it tries first, and the file in
 * the working directory's `data/` where it writes its URL for the CLI, workers and clients.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The port the embedded server tries first (a free one is picked when it is taken). */
export const EMBEDDED_PORT = 4322;
/** The embedded server's URL when nothing says otherwise. */
export const EMBEDDED_URL = `nats://127.0.0.1:${EMBEDDED_PORT}`;

/** The file the embedded server's URL is written to, under `cwd`. */
export const embeddedUrlFile = (cwd: string) => join(cwd, 'data', 'nats.url');

/** The URL the embedded server of `npm start` wrote under `cwd`, if any. */
export function readEmbeddedUrl(cwd: string): string | undefined {
  const file = embeddedUrlFile(cwd);
  const url = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return url || undefined;
}

/** Record the embedded server's URL under `cwd` (its `data/` must exist). */
export function writeEmbeddedUrl(cwd: string, url: string): void {
  writeFileSync(embeddedUrlFile(cwd), `${url}\n`);
}

/** The port the embedded server's WebSocket listener (browsers: the dashboard) tries first. */
export const EMBEDDED_WS_PORT = 4323;

/** The file the embedded server's WebSocket URL is written to, under `cwd`. */
export const embeddedWsUrlFile = (cwd: string) => join(cwd, 'data', 'nats-ws.url');

/** The WebSocket URL the embedded server of `npm start` wrote under `cwd`, if any. */
export function readEmbeddedWsUrl(cwd: string): string | undefined {
  const file = embeddedWsUrlFile(cwd);
  const url = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
  return url || undefined;
}

/** Record the embedded server's WebSocket URL under `cwd` (its `data/` must exist). */
export function writeEmbeddedWsUrl(cwd: string, url: string): void {
  writeFileSync(embeddedWsUrlFile(cwd), `${url}\n`);
}
