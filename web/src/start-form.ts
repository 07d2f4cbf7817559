/**
 * Start a job from a form: the job types and their params' JSON Schema (`job-types`) give the
 * fields; files chosen go into the job's inputs through the HTTP server's `POST /_upload`; a
 * job whose output is wanted is started with `job-download` and its output fetched from the
 * URL that returns.
 */
import type { Api } from './api.js';
import { h, mount } from './dom.js';

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  default?: unknown;
  description?: string;
  enum?: unknown[];
}

interface TypeEntry {
  type: string;
  params?: Schema;
  description?: string;
}

/** The types `job-types` lists, whatever shape of the list: entries with a name and a schema. */
export function typesOf(reply: unknown): TypeEntry[] {
  const list = Array.isArray(reply) ? reply : ((reply as { types?: unknown[] } | undefined)?.types ?? []);
  return list.flatMap((t): TypeEntry[] => {
    if (typeof t === 'string') return [{ type: t }];
    const o = t as Record<string, unknown>;
    const name = o.type ?? o.name;
    if (typeof name !== 'string') return [];
    const params = (o.params ?? o.schema ?? o['params-schema']) as Schema | undefined;
    return [{ type: name, ...(params && { params }), ...(typeof o.description === 'string' && { description: o.description }) }];
  });
}

export async function startView(root: HTMLElement, api: Api): Promise<void> {
  mount(root, h('p', { class: 'muted' }, 'Asking the service for its job types…'));
  const types = await api.command('job-types').then(typesOf, () => [] as TypeEntry[]);
  const message = h('p', { class: 'error', id: 'start-error', role: 'alert' });
  const typeField =
    types.length > 0
      ? h('select', { name: 'type', onchange: () => drawParams() }, ...types.map((t) => h('option', { value: t.type }, t.type)))
      : h('input', { name: 'type', value: 'test', required: true });
  const params = h('div', { id: 'params' });
  const id = h('input', { name: 'id', placeholder: 'generated' });
  const description = h('input', { name: 'description', style: 'width:30em' });
  const autoFinalize = h('input', { type: 'checkbox', name: 'auto-finalize', checked: true });
  const autoDismiss = h('input', { type: 'checkbox', name: 'auto-dismiss', checked: false });
  const files = h('input', { type: 'file', name: 'file', multiple: true });
  const output = h('input', { type: 'checkbox', name: 'output' });
  const row = (label: string, field: HTMLElement) => h('label', {}, h('span', {}, label), field);

  function drawParams(): void {
    const entry = types.find((t) => t.type === typeField.value);
    const props = entry?.params?.properties;
    if (!props) {
      mount(params, row('params (JSON)', h('textarea', { name: 'params-json', placeholder: '{"steps": 5}' })));
      return;
    }
    const required = new Set(entry.params?.required ?? []);
    mount(
      params,
      entry.description ? h('p', { class: 'muted' }, entry.description) : null,
      ...Object.entries(props).map(([name, s]) => row(`${name}${required.has(name) ? ' *' : ''}`, paramField(name, s))),
    );
  }
  drawParams();

  const form = h(
    'form',
    { class: 'card', id: 'start-form', onsubmit: (e: Event) => (e.preventDefault(), void submit()) },
    h('h2', {}, 'Start a job'),
    row('type', typeField),
    params,
    row('id', id),
    row('description', description),
    row('auto-finalize', autoFinalize),
    row('auto-dismiss', autoDismiss),
    row('input files', files),
    row('download its output', output),
    h('button', { type: 'submit' }, 'Start'),
    message,
  );
  mount(root, form);

  async function submit(): Promise<void> {
    message.textContent = '';
    try {
      const args: Record<string, unknown> = { type: typeField.value, params: readParams(params), 'auto-finalize': autoFinalize.checked, 'auto-dismiss': autoDismiss.checked };
      if (id.value) args.id = id.value;
      if (description.value) args.description = description.value;
      let jobId: string;
      if (output.checked) {
        const { id: got, url } = await api.command<{ id: string; url: string }>('job-download', { ...args, filename: `${args.id ?? args.type}.out` });
        jobId = got;
        // The output streams as the job writes it: the browser saves it as a download.
        const a = h('a', { href: url, download: `${args.id ?? got}.out`, style: 'display:none' });
        document.body.append(a);
        a.click();
        a.remove();
      } else if (files.files && files.files.length > 0) {
        const body = new FormData();
        body.append('data', JSON.stringify(args));
        for (const f of files.files) body.append('file', f, f.name);
        const res = await fetch('/_upload', { method: 'POST', body, headers: { authorization: api.basicAuth() } });
        const reply = (await res.json()) as { job_id?: string; error?: string };
        if (!res.ok || !reply.job_id) throw new Error(reply.error ?? `upload failed: HTTP ${res.status}`);
        jobId = reply.job_id;
      } else {
        jobId = (await api.command<{ id: string }>('job-start', args)).id;
      }
      location.hash = `#/job/${encodeURIComponent(api.user)}/${encodeURIComponent(jobId)}`;
    } catch (err) {
      message.textContent = err instanceof Error ? err.message : String(err);
    }
  }
}

function paramField(name: string, s: Schema): HTMLElement {
  const kind = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
  const value = s.default === undefined ? '' : String(s.default);
  const common = { name: `param-${name}`, 'data-kind': kind ?? 'json', title: s.description ?? '' };
  if (s.enum) return h('select', common, h('option', { value: '' }, ''), ...s.enum.map((v) => h('option', { value: String(v), selected: v === s.default }, String(v))));
  if (kind === 'boolean') return h('input', { ...common, type: 'checkbox', checked: s.default === true });
  if (kind === 'integer' || kind === 'number') return h('input', { ...common, type: 'number', value, step: kind === 'integer' ? '1' : 'any' });
  if (kind === 'string') return h('input', { ...common, value });
  return h('textarea', { ...common }, s.default === undefined ? '' : JSON.stringify(s.default));
}

/** The params the fields hold: only those filled in (the service applies the defaults). */
function readParams(root: HTMLElement): Record<string, unknown> {
  const raw = root.querySelector<HTMLTextAreaElement>('[name="params-json"]');
  if (raw) return raw.value.trim() === '' ? {} : (JSON.parse(raw.value) as Record<string, unknown>);
  const out: Record<string, unknown> = {};
  for (const el of root.querySelectorAll<HTMLInputElement>('[name^="param-"]')) {
    const name = el.name.slice('param-'.length);
    const kind = el.dataset.kind;
    if (kind === 'boolean') {
      out[name] = el.checked;
      continue;
    }
    if (el.value === '') continue;
    if (kind === 'integer' || kind === 'number') out[name] = Number(el.value);
    else if (kind === 'string') out[name] = el.value;
    else out[name] = JSON.parse(el.value);
  }
  return out;
}
