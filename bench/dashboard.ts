/**
 * bench:dashboard — the web dashboard with 10,000 live jobs, measured in headless Chromium.
 *
 * - First render: from navigation start to the first drawn view (`performance.mark`), signed
 *   in already, with 10,000 jobs against the same page with none (the baseline, same run).
 * - Events: 200 JOB_PROGRESS events per second for 10 s, published as the service publishes
 *   them (`P.evt.<owner>.<id>.JOB_PROGRESS`, timestamped at publish). For each, the delay
 *   from its timestamp to the animation frame that drew it (DOM written), against the delay
 *   to its arrival in the page (the WebSocket alone: the baseline). Half go to rows in view,
 *   half to any of the 10,000 jobs.
 *
 * Usage: npm run bench:dashboard [-- --jobs 10000 --rate 200 --seconds 10]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NatsServer } from '../src/nats/server.js';
import { launchBrowser } from '../test/dashboard/browser.js';
import { startDashboardHttp } from '../test/dashboard/stack.js';
import { startStack } from '../test/support/stack.js';
import { fmt, median, quantile, table } from './measure.js';

const { values } = parseArgs({ options: { jobs: { type: 'string', default: '10000' }, rate: { type: 'string', default: '200' }, seconds: { type: 'string', default: '10' }, loads: { type: 'string', default: '5' } } });
const JOBS = Number(values.jobs);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const LOADS = Number(values.loads);
const OWNER = 'bench';

const dir = mkdtempSync(join(tmpdir(), 'jobstate-bench-dash-'));
// The broker's default max_payload (1 MB): the page pages through query-jobs (500 a page).
const server = await NatsServer.start({ cwd: dir, websocket: {} });
const stack = await startStack({ server, persistence: false, limits: { maxJobsPerOwner: JOBS + 1000 } });
const http = await startDashboardHttp({ server, prefix: stack.prefix });
const chrome = await launchBrowser();
const context = await chrome.browser.newContext({ viewport: { width: 1400, height: 900 } });
// Signed in already: the page connects at once.
await context.addInitScript(`sessionStorage.setItem('jobstate-user', JSON.stringify({ user: '${OWNER}', pass: '' }))`);

/** When the page had connected, loaded the jobs and drawn them, ms from navigation start. */
interface Render {
  connected: number;
  loaded: number;
  ready: number;
}
async function firstRender(): Promise<Render> {
  const page = await context.newPage();
  await page.goto(http.url);
  await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
  const at = (await page.evaluate(`['connected', 'loaded', 'ready'].map((m) => performance.getEntriesByName('dashboard-' + m)[0].startTime)`)) as number[];
  await page.close();
  return { connected: at[0]!, loaded: at[1]!, ready: at[2]! };
}

try {
  await firstRender(); // warm the server's module cache and the browser's
  const empty: Render[] = [];
  for (let i = 0; i < LOADS; i++) empty.push(await firstRender());

  const client = await stack.client(OWNER);
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < JOBS) {
        const n = next++;
        await client.start('test', { id: `j${n}`, params: { steps: 1, 'step-ms': 1, ready: true }, description: `bench job ${n}` });
      }
    }),
  );
  console.error(`${JOBS} jobs started in ${fmt((performance.now() - started) / 1000)} s`);
  // The page's first query-jobs (one page of 500), asked from Node: the service's and the wire's share.
  const fromNode: number[] = [];
  for (let i = 0; i < LOADS; i++) {
    const t = performance.now();
    await client.request('query-jobs', { limit: 500, offset: 0 });
    fromNode.push(performance.now() - t);
  }
  const full: Render[] = [];
  for (let i = 0; i < LOADS; i++) full.push(await firstRender());

  // Events at RATE per second while the table shows.
  const page = await context.newPage();
  await page.goto(http.url);
  // Live jobs: the events start once every page of the list is in (the steady state).
  await page.waitForSelector('body[data-loaded=all]', { timeout: 60_000 });
  await page.evaluate(`(() => {
    window.__lat = { arrive: [], drawn: [], drawnVisible: [] };
    const counted = new Map();
    window.__dashboardEvent = (e) => window.__lat.arrive.push(Date.now() - (e.timestamp.seconds * 1000 + e.timestamp.microseconds / 1000));
    window.__dashboardFrame = (changed, rows) => {
      const now = Date.now();
      const visible = new Set([...document.querySelectorAll('#jobs .row[data-key]:not([hidden])')].map((r) => r.dataset.key));
      for (const k of changed) {
        const r = rows.get(k);
        // Each event once: a row redrawn for another reason keeps its last event's time.
        if (!r || r.lastEventMs === undefined || counted.get(k) === r.lastEventMs) continue;
        counted.set(k, r.lastEventMs);
        window.__lat.drawn.push(now - r.lastEventMs);
        if (visible.has(k)) window.__lat.drawnVisible.push(now - r.lastEventMs);
      }
    };
  })()`);
  const inView = (await page.locator('#jobs .row[data-id]:not([hidden])').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')!))).filter((id) => id !== '');
  const total = RATE * SECONDS;
  const t0 = performance.now();
  const progress = new Map<string, number>();
  for (let i = 0; i < total; i++) {
    const due = t0 + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = i % 2 === 0 ? inView[(i / 2) % inView.length]! : `j${Math.floor(Math.random() * JOBS)}`;
    const current = (progress.get(id) ?? 1) + 1;
    progress.set(id, current);
    const now = Date.now();
    const event = { event: 'JOB_PROGRESS', data: { id, owner: OWNER, 'current-progress': current, 'total-progress': current + 10 }, timestamp: { seconds: Math.floor(now / 1000), microseconds: (now % 1000) * 1000 } };
    stack.nc.publish(`${stack.prefix}.evt.${OWNER}.${id}.JOB_PROGRESS`, JSON.stringify(event));
  }
  await stack.nc.flush();
  await page.waitForFunction(`window.__lat.arrive.length >= ${total}`, undefined, { timeout: 30_000 });
  await page.waitForTimeout(200);
  const lat = (await page.evaluate('window.__lat')) as { arrive: number[]; drawn: number[]; drawnVisible: number[] };
  const row = (name: string, v: number[]) => [name, String(v.length), fmt(median(v)), fmt(quantile(v, 0.99)), fmt(Math.max(...v))];

  console.log(`bench:dashboard — ${JOBS} live jobs, ${RATE} events/s for ${SECONDS} s, headless Chromium (${cpus().length} cores, load ${loadavg()[0]!.toFixed(2)})\n`);
  console.log('first render: ms from navigation start (medians), and the whole, median and max');
  const renders = (name: string, r: Render[]) => [
    name,
    String(r.length),
    fmt(median(r.map((x) => x.connected))),
    fmt(median(r.map((x) => x.loaded))),
    fmt(median(r.map((x) => x.ready))),
    fmt(Math.max(...r.map((x) => x.ready))),
  ];
  console.log(table([['page', 'loads', 'connected', 'jobs loaded', 'drawn', 'drawn, max'], renders('no jobs (baseline)', empty), renders(`${JOBS} jobs`, full)]));
  console.log(`query-jobs, first page of 500 of ${JOBS} jobs, from Node (the service's part): median ${fmt(median(fromNode))} ms, max ${fmt(Math.max(...fromNode))} ms`);
  console.log('\nevent → shown, ms (from the event\'s timestamp)');
  console.log(
    table([
      ['', 'events', 'p50', 'p99', 'max'],
      row('arrived in the page (baseline: WebSocket)', lat.arrive),
      row('drawn, rows in view', lat.drawnVisible),
      row('drawn, any job', lat.drawn),
    ]),
  );
} finally {
  await chrome.close();
  await http.close();
  await stack.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
