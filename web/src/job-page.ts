/**
 * One job's page: its JobInfo, the statechart with its status highlighted, a button for each
 * verb its status accepts (the machine's verb table, from the server), the service's text
 * when a verb is refused, its events since the page connected, and its log, live.
 */
import { CommandError } from './api.js';
import type { Api, JobEvent, MachineModel } from './api.js';
import { h, mount, ratio, time } from './dom.js';
import { keyOf } from './store.js';
import type { JobStore } from './store.js';

export function jobView(root: HTMLElement, api: Api, store: JobStore, model: MachineModel, owner: string, id: string): () => void {
  const key = keyOf(owner, id);
  const address = owner === api.user ? { id } : { id, owner };
  const title = h('h2', {}, `${id} `, h('span', { class: 'muted' }, `(${owner})`));
  const info = h('dl', { class: 'info', id: 'info' });
  const verbs = h('div', { class: 'verbs', id: 'verbs' });
  const message = h('p', { class: 'error', id: 'refusal', role: 'alert' });
  const chart = h('div', { id: 'chart' });
  chart.innerHTML = model.svg;
  const timeline = h('div', { class: 'timeline', id: 'timeline' });
  const log = h('div', { class: 'log', id: 'log' });
  const links = h('p');
  const speed = h('input', { type: 'number', value: '0', style: 'width:7em', 'aria-label': 'speed' });
  const force = h('input', { type: 'checkbox', checked: true });
  mount(
    root,
    h('p', {}, h('a', { href: '#/' }, '← all jobs')),
    title,
    h('div', { class: 'card' }, chart, verbs, message),
    h('div', { class: 'cols' }, h('div', { class: 'card' }, h('h3', {}, 'JobInfo'), info), h('div', { class: 'card' }, h('h3', {}, 'Events ', h('span', { class: 'muted' }, 'since this page connected')), timeline)),
    h('div', { class: 'card' }, h('h3', {}, 'Log'), log, links),
  );

  let shownStatus = '';
  let shownEvents = 0;
  const act = async (verb: string) => {
    message.textContent = '';
    const args: Record<string, unknown> = { ...address };
    if (verb === 'set-speed') args.speed = Number(speed.value);
    if (verb === 'cancel') args.force = force.checked;
    try {
      await api.command(`job-${verb}`, args);
    } catch (err) {
      message.textContent = err instanceof CommandError ? err.message : String(err);
    }
  };

  function draw(): void {
    const row = store.rows.get(key);
    if (!row) {
      if (shownStatus !== 'gone') mount(info, h('dd', {}, 'Job not found (dismissed, or not yours)'));
      shownStatus = 'gone';
      mount(verbs);
      return;
    }
    const i = row.info;
    const fields: [string, unknown][] = [
      ['status', i.status],
      ['type', i.type],
      ['progress', `${i['current-progress'] ?? 0} / ${i['total-progress'] ?? 0} (${Math.round(ratio(i['current-progress'], i['total-progress']) * 100)} %)`],
      ['description', i.description],
      ['error', i.error],
      ['transaction', i.txn],
      ['auto-finalize', i['auto-finalize']],
      ['auto-dismiss', i['auto-dismiss']],
      ['speed', i.speed],
      ['started', time(i['time-started'])],
      ['finished', time(i['time-finished'])],
      ['result', i.result === undefined ? undefined : JSON.stringify(i.result)],
    ];
    mount(info, ...fields.filter(([, v]) => v !== undefined && v !== '').flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-field': k }, String(v))]));
    if (i.status !== shownStatus) {
      shownStatus = i.status;
      for (const g of chart.querySelectorAll('.state')) g.classList.toggle('current', (g as SVGElement).dataset.status === i.status);
      const accepted = model.accepts[i.status] ?? [];
      mount(
        verbs,
        ...accepted.flatMap((verb) => [
          verb === 'set-speed' ? speed : null,
          h('button', { 'data-verb': verb, onclick: () => void act(verb) }, verb),
          verb === 'cancel' ? h('label', { style: 'display:inline' }, force, ' force ') : null,
        ]),
        accepted.length === 0 ? h('span', { class: 'muted' }, `no verb is accepted in status ${i.status}`) : null,
      );
    }
    for (const e of row.events.slice(shownEvents)) timeline.append(eventLine(e));
    shownEvents = row.events.length;
    timeline.scrollTop = timeline.scrollHeight;
  }

  // The log: what job-log keeps, then every line as the job writes it.
  void api
    .command<{ lines: string[] }>('job-log', address)
    .then((l) => log.prepend(l.lines.map((line) => `${line}\n`).join('')))
    .catch((err: unknown) => log.prepend(h('span', { class: 'muted' }, `${err instanceof Error ? err.message : String(err)}\n`)));
  const sub = api.logLines(owner, id, (text) => {
    log.append(text);
    log.scrollTop = log.scrollHeight;
  });
  links.append(
    h(
      'button',
      {
        onclick: async () => {
          try {
            const { url } = await api.command<{ url: string }>('job-download-log', { ...address, filename: `${id}.log` });
            location.assign(url);
          } catch (err) {
            message.textContent = err instanceof Error ? err.message : String(err);
          }
        },
      },
      'Download the whole log',
    ),
  );

  const off = store.listen((changed) => changed.has(key) && draw());
  draw();
  return () => {
    off();
    sub.unsubscribe();
  };
}

function eventLine(e: JobEvent): HTMLElement {
  const when = new Date(e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000);
  const { id: _id, owner: _owner, ...rest } = e.data;
  return h('div', {}, `${when.toLocaleTimeString(undefined, { hour12: false })}.${String(when.getMilliseconds()).padStart(3, '0')} ${e.event} ${JSON.stringify(rest)}`);
}
