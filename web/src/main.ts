/**
 * The dashboard's entry: sign in (NATS credentials), connect to the broker over WebSocket,
 * load the jobs, follow their events, and show the view the address names:
 * `#/` the table, `#/job/<owner>/<id>` a job, `#/start` the form.
 */
import { Api, loadJson } from './api.js';
import type { DashboardConfig, JobEvent, MachineModel } from './api.js';
import { h, mount } from './dom.js';
import { jobView } from './job-page.js';
import { startView } from './start-form.js';
import { JobStore } from './store.js';
import { tableView } from './table.js';
import type { Filters } from './table.js';

declare global {
  interface Window {
    /** The benchmark's hook: told of each event as it arrives, before it is applied. */
    __dashboardEvent?: (e: JobEvent) => void;
  }
}

const main = document.getElementById('main')!;
const statusEl = document.getElementById('status')!;
const who = document.getElementById('who')!;

function banner(text: string, down: boolean): void {
  statusEl.textContent = text;
  statusEl.className = down ? 'down' : '';
}

async function boot(): Promise<void> {
  const [config, model] = await Promise.all([loadJson<DashboardConfig>('/dashboard/config.json'), loadJson<MachineModel>('/dashboard/model.json')]);
  const saved = sessionStorage.getItem('jobstate-user');
  const api = await signIn(config, saved ? (JSON.parse(saved) as { user: string; pass: string }) : undefined);
  sessionStorage.setItem('jobstate-user', JSON.stringify({ user: api.user, pass: api.pass }));
  mount(who, `signed in as ${api.user}${api.admin ? ' (admin)' : ''} `, h('button', { onclick: () => (sessionStorage.removeItem('jobstate-user'), location.reload()) }, 'sign out'));
  void watchConnection(api);

  performance.mark('dashboard-connected');
  const store = new JobStore(api);
  api.events(
    (e) => {
      window.__dashboardEvent?.(e);
      store.apply(e);
    },
    (err) => banner(`Events: ${err.message}`, true),
  );
  const loading = store.load();
  const failed = (err: unknown) => banner(err instanceof Error ? err.message : String(err), true);
  loading.all.then(() => {
    banner('', false);
    // The benchmark (bench/dashboard.ts) sends its events once every page is in.
    performance.mark('dashboard-all-loaded');
    document.body.dataset.loaded = 'all';
  }, failed);
  // The table is drawn from the first page; later pages join it as they come.
  await loading.first.catch(() => undefined);
  performance.mark('dashboard-loaded');

  const filters: Filters = { status: '', type: '', owner: '' };
  let leave: () => void = () => undefined;
  const route = () => {
    leave();
    leave = () => undefined;
    const m = /^#\/job\/([^/]+)\/([^/]+)$/.exec(location.hash);
    if (m) leave = jobView(main, api, store, model, decodeURIComponent(m[1]!), decodeURIComponent(m[2]!));
    else if (location.hash === '#/start') void startView(main, api);
    else leave = tableView(main, store, model, api.admin, filters);
  };
  window.addEventListener('hashchange', route);
  route();
  document.body.dataset.ready = 'true';
  // The benchmark (bench/dashboard.ts) reads when the first view was drawn.
  performance.mark('dashboard-ready');
}

/** The sign-in form until the broker takes the credentials (or at once with saved ones). */
async function signIn(config: DashboardConfig, saved: { user: string; pass: string } | undefined): Promise<Api> {
  if (saved) {
    try {
      return await Api.connect(config, saved.user, saved.pass);
    } catch {
      sessionStorage.removeItem('jobstate-user');
    }
  }
  return new Promise((resolve) => {
    const user = h('input', { name: 'user', autocomplete: 'username', required: true, pattern: '[A-Za-z0-9_-]{1,64}' });
    const pass = h('input', { name: 'password', type: 'password', autocomplete: 'current-password' });
    const message = h('p', { class: 'error', id: 'signin-error', role: 'alert' });
    const form = h(
      'form',
      {
        class: 'card',
        id: 'signin',
        onsubmit: async (e: Event) => {
          e.preventDefault();
          message.textContent = 'Connecting…';
          try {
            resolve(await Api.connect(config, user.value, pass.value));
          } catch (err) {
            message.textContent = describeConnectError(err, config);
          }
        },
      },
      h('h2', {}, 'Sign in'),
      h('p', { class: 'muted' }, config.authenticated ? 'With your NATS user name and password.' : 'This broker checks no passwords (development default): your user name is who you act as.'),
      h('label', {}, h('span', {}, 'user'), user),
      h('label', {}, h('span', {}, 'password'), pass),
      h('button', { type: 'submit' }, 'Sign in'),
      message,
    );
    mount(main, form);
  });
}

function describeConnectError(err: unknown, config: DashboardConfig): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  if (/authoriz|authentic/i.test(text)) return 'The broker refused these credentials';
  return `The service is unreachable (broker at ${config.wsUrl ?? '?'}): ${err instanceof Error ? err.message : String(err)}`;
}

/** Say when the broker or the service is out of reach, and when it is back. */
async function watchConnection(api: Api): Promise<void> {
  void api.nc.closed().then(() => banner('Disconnected from the broker', true));
  for await (const s of api.nc.status()) {
    if (s.type === 'disconnect') banner('The service is unreachable: reconnecting to the broker…', true);
    else if (s.type === 'reconnect') banner('', false);
  }
}

boot().catch((err: unknown) => {
  banner(err instanceof Error ? err.message : String(err), true);
  mount(main, h('p', { class: 'error' }, `The dashboard could not start: ${err instanceof Error ? err.message : String(err)}`));
});
