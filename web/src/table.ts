/**
 * The live table of jobs: filters by status, type and owner; the members of a grouped
 * transaction together under their transaction; only the rows in view exist in the DOM, so
 * 10,000 jobs cost what 40 do, and each frame rewrites just those.
 */
import type { MachineModel } from './api.js';
import { h, mount, ratio, time } from './dom.js';
import type { JobRow, JobStore } from './store.js';

const ROW_PX = 28;
const OVERSCAN = 8;

type Line = { kind: 'job'; row: JobRow; member: boolean } | { kind: 'txn'; txn: string; count: number };

export interface Filters {
  status: string;
  type: string;
  owner: string;
}

/** Hooks for the benchmark (bench/dashboard.ts): told after each frame the table drew. */
declare global {
  interface Window {
    __dashboardFrame?: (changed: Set<string>, rows: Map<string, JobRow>) => void;
  }
}

export function tableView(root: HTMLElement, store: JobStore, model: MachineModel, admin: boolean, filters: Filters): () => void {
  const pick = (name: keyof Filters, options: string[]) =>
    h(
      'select',
      { name, onchange: (e: Event) => ((filters[name] = (e.target as HTMLSelectElement).value), rebuild(), draw()) },
      h('option', { value: '' }, `any ${name}`),
      ...options.map((o) => h('option', { value: o, selected: filters[name] === o }, o)),
    );
  const typeSel = pick('type', []);
  const ownerSel = pick('owner', []);
  const count = h('span', { class: 'muted' });
  const spacer = h('div', { style: 'position:relative' });
  const body = h('div', { style: 'position:absolute;left:0;right:0;top:0' });
  spacer.append(body);
  const scroller = h('div', { class: 'scroller', onscroll: () => draw() }, spacer);
  mount(
    root,
    h('div', { class: 'filters' }, pick('status', model.statuses.filter((s) => s !== 'undefined' && s !== 'null')), typeSel, admin ? ownerSel : null, count),
    h(
      'div',
      { class: 'table', id: 'jobs' },
      h('div', { class: 'thead' }, ...['id', 'type', 'owner', 'status', 'progress', 'description', 'started', 'finished'].map((t) => h('span', {}, t))),
      scroller,
    ),
  );

  let lines: Line[] = [];
  let membership = -1;
  const known = { types: new Set<string>(), owners: new Set<string>() };
  const pool: HTMLElement[] = [];

  function rebuild(): void {
    membership = store.membership;
    const groups = new Map<string, JobRow[]>();
    for (const row of store.rows.values()) {
      const i = row.info;
      if (i.type && !known.types.has(i.type)) (known.types.add(i.type), typeSel.append(h('option', { value: i.type }, i.type)));
      if (!known.owners.has(i.owner)) (known.owners.add(i.owner), ownerSel.append(h('option', { value: i.owner }, i.owner)));
      if (filters.status && i.status !== filters.status) continue;
      if (filters.type && i.type !== filters.type) continue;
      if (filters.owner && i.owner !== filters.owner) continue;
      const g = i.txn ? `t\u0000${i.owner}\u0000${i.txn}` : `j\u0000${row.key}`;
      const list = groups.get(g);
      if (list) list.push(row);
      else groups.set(g, [row]);
    }
    const started = (r: JobRow) => {
      // Parsed once per job and start time: a rebuild sorts 10,000 jobs.
      const iso = r.info['time-started'];
      if (r.startedIso !== iso) (r.startedIso = iso), (r.startedMs = Date.parse(String(iso ?? '')) || r.seen);
      return r.startedMs ?? r.seen;
    };
    const sorted = [...groups.entries()].map(([g, rows]) => ({ g, rows, t: rows.length === 1 ? started(rows[0]!) : Math.max(...rows.map(started)) }));
    sorted.sort((a, b) => b.t - a.t || (a.g < b.g ? -1 : 1));
    lines = [];
    for (const { g, rows } of sorted) {
      if (g.startsWith('t\u0000')) {
        lines.push({ kind: 'txn', txn: rows[0]!.info.txn!, count: rows.length });
        rows.sort((a, b) => (a.info.id < b.info.id ? -1 : 1));
        for (const row of rows) lines.push({ kind: 'job', row, member: true });
      } else lines.push({ kind: 'job', row: rows[0]!, member: false });
    }
    spacer.style.height = `${lines.length * ROW_PX}px`;
    count.textContent = `${store.rows.size} jobs${lines.length < store.rows.size ? `, ${sorted.length} shown` : ''}`;
  }

  /** What each pooled row element shows now: a row is rewritten only when that changes. */
  const shown = new WeakMap<HTMLElement, Line | undefined>();

  /** Draw the rows in view; with `changed`, rewrite only those jobs' rows and rows showing another line. */
  function draw(changed?: Set<string>): void {
    const first = Math.max(0, Math.floor(scroller.scrollTop / ROW_PX) - OVERSCAN);
    const last = Math.min(lines.length, Math.ceil((scroller.scrollTop + scroller.clientHeight) / ROW_PX) + OVERSCAN);
    const top = `${first * ROW_PX}px`;
    if (body.style.top !== top) body.style.top = top;
    while (pool.length < last - first) pool.push(body.appendChild(rowElement()));
    for (let i = 0; i < pool.length; i++) {
      const el = pool[i]!;
      const line = lines[first + i];
      const same = shown.has(el) && shown.get(el) === line;
      if (same && (line === undefined || line.kind === 'txn' || (changed !== undefined && !changed.has(line.row.key)))) continue;
      shown.set(el, line);
      if (el.hidden !== (line === undefined)) el.hidden = line === undefined;
      if (line) fill(el, line);
    }
  }

  const off = store.listen((changed) => {
    if (store.membership !== membership || ((filters.status !== '' || filters.type !== '') && changed.size > 0)) rebuild();
    draw(changed);
    window.__dashboardFrame?.(changed, store.rows);
  });
  rebuild();
  draw();
  return off;
}

function rowElement(): HTMLElement {
  const el = h('div', { class: 'row' });
  for (let i = 0; i < 8; i++) el.append(h('span'));
  el.children[4]!.replaceChildren(h('div', { class: 'bar' }, h('i')));
  el.addEventListener('click', () => {
    const key = el.dataset.key;
    if (key) {
      const [owner, id] = key.split('\u0000');
      location.hash = `#/job/${encodeURIComponent(owner!)}/${encodeURIComponent(id!)}`;
    }
  });
  return el;
}

function fill(el: HTMLElement, line: Line): void {
  const cells = el.children as HTMLCollectionOf<HTMLElement>;
  if (line.kind === 'txn') {
    el.className = 'row txnhead';
    el.dataset.key = '';
    el.dataset.id = '';
    cells[0]!.textContent = `transaction ${line.txn} (grouped, ${line.count} jobs)`;
    for (let i = 1; i < 8; i++) if (i !== 4) cells[i]!.textContent = '';
    (cells[4]!.firstChild as HTMLElement).style.visibility = 'hidden';
    return;
  }
  const i = line.row.info;
  el.className = line.member ? 'row member' : 'row';
  el.dataset.key = line.row.key;
  el.dataset.id = i.id;
  el.dataset.owner = i.owner;
  cells[0]!.textContent = i.id;
  cells[1]!.textContent = i.type ?? '';
  cells[2]!.textContent = i.owner;
  cells[3]!.textContent = i.error && i.status === 'concluded' ? `${i.status} (failed)` : i.status;
  cells[3]!.className = `st st-${i.error && i.status === 'concluded' ? 'failed' : i.status}`;
  const r = ratio(i['current-progress'], i['total-progress']);
  const bar = cells[4]!.firstChild as HTMLElement;
  bar.style.visibility = '';
  bar.title = `${Math.round(r * 100)} %`;
  const fillEl = bar.firstChild as HTMLElement;
  fillEl.style.width = `${r * 100}%`;
  fillEl.dataset.progress = String(i['current-progress'] ?? 0);
  cells[5]!.textContent = i.error ?? i.description ?? '';
  cells[6]!.textContent = time(i['time-started']);
  cells[7]!.textContent = time(i['time-finished']);
}
