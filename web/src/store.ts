/**
 * The jobs the page knows: loaded once with query-jobs, then kept up to date by the events
 * alone (no polling). Views register a listener and are told which jobs changed; they redraw
 * on the next animation frame.
 */
import type { Api, JobEvent } from './api.js';

/** A job as query-jobs reports it (JobInfo, docs/protocol.md). */
export interface JobInfo {
  id: string;
  owner: string;
  type?: string;
  status: string;
  'current-progress'?: number;
  'total-progress'?: number;
  description?: string;
  error?: string;
  txn?: string;
  'time-started'?: string;
  'time-finished'?: string;
  result?: unknown;
  [field: string]: unknown;
}

export interface JobRow {
  key: string;
  info: JobInfo;
  /** When the page first knew the job (for ordering jobs without time-started). */
  seen: number;
  /** The events seen since the page connected, oldest first (at most {@link TIMELINE}). */
  events: JobEvent[];
  /** The newest event's timestamp, in ms since the epoch (for the benchmark). */
  lastEventMs?: number;
  /** `time-started` and its value in ms, as the table last parsed it. */
  startedIso?: unknown;
  startedMs?: number;
}

const TIMELINE = 200;
const PAGE = 500;

export const keyOf = (owner: string, id: string) => `${owner}\u0000${id}`;

export class JobStore {
  readonly rows = new Map<string, JobRow>();
  /** Bumped when jobs come or go (a redraw must re-sort); not for progress. */
  membership = 0;
  #listeners = new Set<(changed: Set<string>) => void>();
  #changed = new Set<string>();
  #frame = 0;
  #missing = new Set<string>();
  #fetching: Promise<void> | undefined;

  constructor(private readonly api: Api) {}

  /**
   * Every job the user may see, page by page (or in one list, from a service without paging).
   * `first` resolves once the first page is in (the table can be drawn), `all` at the end.
   */
  load(): { first: Promise<void>; all: Promise<void> } {
    let firstDone!: () => void;
    const first = new Promise<void>((resolve) => (firstDone = resolve));
    const all = (async () => {
      let offset: number | undefined = 0;
      while (offset !== undefined) {
        let page: unknown;
        try {
          page = await this.api.command('query-jobs', { limit: PAGE, offset });
        } catch (err) {
          if (offset === 0 && err instanceof Error && /unexpected/.test(err.message)) page = await this.api.command<JobInfo[]>('query-jobs', {});
          else throw err;
        }
        if (Array.isArray(page)) {
          this.#merge(page as JobInfo[]);
          offset = undefined;
        } else {
          const p = page as { jobs: JobInfo[]; 'next-offset'?: number };
          this.#merge(p.jobs);
          offset = p['next-offset'];
        }
        // One redraw per frame however many pages came in it (each re-sorts the jobs).
        this.#schedule();
        firstDone();
      }
    })();
    return { first: Promise.race([first, all]), all };
  }

  /** Apply one event: the job's row changes as the event says. */
  apply(e: JobEvent): void {
    const { id, owner } = e.data;
    const key = keyOf(owner, id);
    let row = this.rows.get(key);
    if (!row) {
      row = { key, info: { id, owner, status: 'created' }, seen: Date.now(), events: [] };
      this.rows.set(key, row);
      this.membership++;
      this.#missing.add(key);
      this.#fetchMissing();
    }
    const info = row.info;
    const d = e.data;
    if (typeof d.type === 'string') info.type = d.type;
    if (typeof d['current-progress'] === 'number') info['current-progress'] = d['current-progress'];
    if (typeof d['total-progress'] === 'number') info['total-progress'] = d['total-progress'];
    if (typeof d.description === 'string') info.description = d.description;
    if (typeof d.error === 'string') info.error = d.error;
    if (e.event === 'JOB_CANCELLED') info.error ??= 'Operation canceled';
    if (e.event === 'JOB_STATUS_CHANGE' && typeof d.status === 'string') {
      info.status = d.status;
      if (d.status === 'concluded') info['time-finished'] ??= new Date(e.timestamp.seconds * 1000).toISOString();
      if (d.status === 'null') {
        this.rows.delete(key);
        this.membership++;
      }
    }
    row.events.push(e);
    if (row.events.length > TIMELINE) row.events.splice(0, row.events.length - TIMELINE);
    row.lastEventMs = e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000;
    this.#changed.add(key);
    this.#schedule();
  }

  /** Listen for changes (called at most once per animation frame); returns the unsubscribe. */
  listen(fn: (changed: Set<string>) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #merge(jobs: JobInfo[]): void {
    for (const info of jobs) {
      const key = keyOf(info.owner, info.id);
      const row = this.rows.get(key);
      if (row) {
        // Events already applied are newer than a listing: keep their status.
        row.info = { ...info, status: row.events.length > 0 ? row.info.status : info.status };
      } else {
        this.rows.set(key, { key, info, seen: Date.now(), events: [] });
        this.membership++;
      }
      this.#changed.add(key);
    }
  }

  /** Jobs first seen by an event: their JobInfo from the newest jobs (one request for many). */
  #fetchMissing(): void {
    if (this.#fetching) return;
    this.#fetching = (async () => {
      await new Promise((r) => setTimeout(r, 100));
      while (this.#missing.size > 0) {
        const want = this.#missing.size;
        this.#missing.clear();
        const page = await this.api.command<unknown>('query-jobs', { limit: Math.min(want + 50, PAGE), offset: 0 }).catch(() => this.api.command<unknown>('query-jobs', {}));
        const jobs = Array.isArray(page) ? (page as JobInfo[]) : (page as { jobs: JobInfo[] }).jobs;
        for (const info of jobs) {
          const row = this.rows.get(keyOf(info.owner, info.id));
          if (!row) continue;
          row.info = { ...info, status: row.info.status, ...pick(row.info) };
          this.#changed.add(row.key);
        }
        this.#schedule();
      }
    })()
      .catch(() => undefined)
      .finally(() => (this.#fetching = undefined));
  }

  #schedule(): void {
    if (this.#frame !== 0) return;
    this.#frame = requestAnimationFrame(() => this.#notify());
  }

  #notify(): void {
    this.#frame = 0;
    const changed = this.#changed;
    this.#changed = new Set();
    for (const fn of this.#listeners) fn(changed);
  }
}

/** The fields events keep more current than a listing fetched after them. */
function pick(info: JobInfo): Partial<JobInfo> {
  const out: Partial<JobInfo> = {};
  for (const k of ['current-progress', 'total-progress', 'description', 'error'] as const) if (info[k] !== undefined) out[k] = info[k] as never;
  return out;
}
