/**
 * What jobctl prints: JSON (pretty on a terminal, one line in a pipe), the job table, and
 * one readable line per event. stdout carries only results; messages go to stderr.
 */
import type { EventEnvelope, JobInfo } from '../protocol/schemas.js';

export interface Stream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface Io {
  out: Stream;
  err: Stream;
}

export const processIo: Io = { out: process.stdout, err: process.stderr };

/** A value as JSON on stdout: indented on a terminal, one line otherwise. */
export function printJson(io: Io, value: unknown): void {
  io.out.write(`${JSON.stringify(value ?? null, null, io.out.isTTY ? 2 : undefined)}\n`);
}

/** A message on stderr, prefixed `jobctl: `. */
export function say(io: Io, message: string): void {
  io.err.write(`jobctl: ${message}\n`);
}

/** The progress of a job as a percentage text, or `-` when it has no total. */
export function percent(current: number, total: number): string {
  if (!(total > 0)) return '-';
  return `${Math.min(100, (100 * current) / total).toFixed(0)}%`;
}

const COLUMNS = ['ID', 'TYPE', 'STATUS', 'PROGRESS', 'OWNER', 'DESCRIPTION'] as const;

/** The jobs as an aligned table; on a terminal, rows are cut to its width. */
export function jobTable(jobs: readonly JobInfo[], width?: number): string {
  const rows = jobs.map((j) => [
    j.id,
    j.type,
    j.error !== undefined && j.status === 'concluded' ? 'failed' : j.status,
    percent(j['current-progress'], j['total-progress']),
    j.owner,
    (j.description ?? '').replace(/\s+/g, ' '),
  ]);
  return table([[...COLUMNS], ...rows], width);
}

/** Rows of cells, left-aligned; the last column is not padded. */
export function table(rows: readonly string[][], width?: number): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => {
      const line = row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
      return width && line.length > width ? `${line.slice(0, width - 1)}…` : line.trimEnd();
    })
    .map((line) => `${line}\n`)
    .join('');
}

/** `HH:MM:SS.mmm` (local time) of an event's timestamp. */
export function clock(ts: { seconds: number; microseconds: number }): string {
  const d = new Date(ts.seconds * 1000 + Math.floor(ts.microseconds / 1000));
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** One event as one line: `12:00:01.123 alice/j1 JOB_STATUS_CHANGE running`. */
export function eventLine(e: EventEnvelope): string {
  const d = e.data as Record<string, unknown>;
  const progress = () => `${String(d['current-progress'])}/${String(d['total-progress'])} ${percent(Number(d['current-progress']), Number(d['total-progress']))}`;
  let detail: string;
  switch (e.event) {
    case 'JOB_STATUS_CHANGE':
      detail = String(d.status);
      break;
    case 'JOB_PROGRESS':
      detail = progress() + (typeof d.description === 'string' ? ` ${d.description}` : '');
      break;
    case 'JOB_COMPLETED':
      detail = typeof d.error === 'string' ? `error: ${d.error}` : `ok ${progress()}`;
      break;
    case 'JOB_READY':
    case 'JOB_CANCELLED':
      detail = progress();
      break;
    case 'JOB_PENDING':
      detail = String(d.type);
      break;
    case 'JOB_ERROR':
      detail = `${String(d.operation)} error, action ${String(d.action)}`;
      break;
    default:
      detail = JSON.stringify(d);
  }
  return `${clock(e.timestamp)} ${d.owner as string}/${d.id as string} ${e.event} ${detail}`;
}

/**
 * A pipe digest (`SHA-256=<base64url>`, as the wire has it) the way `sha256sum` prints it:
 * `sha256 <hex>`. Anything else as it is.
 */
export function hexDigest(digest: string): string {
  const m = /^SHA-256=([A-Za-z0-9_-]+=*)$/.exec(digest);
  return m ? `sha256 ${Buffer.from(m[1]!, 'base64url').toString('hex')}` : digest;
}
