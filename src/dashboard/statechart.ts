/**
 * The job statechart as the dashboard draws it: an SVG read off the machine when the server
 * starts (as `npm run docs` reads docs/machines off it), one box per top-level status and one
 * arrow per pair of statuses some transition joins. The page highlights the current status
 * by its `data-status` attribute; nothing here is drawn by hand.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** One arrow: between two top-level states, with the events that take it. */
export interface ChartEdge {
  from: string;
  to: string;
  events: string[];
}

/** The top-level states and the arrows between them, in the machine's order. */
export function chartOf(machine: AnyStateMachine): { states: string[]; edges: ChartEdge[] } {
  const root = machine.root;
  const states = Object.keys(root.states);
  const edges = new Map<string, ChartEdge>();
  for (const top of Object.values(root.states)) {
    for (const node of [top, ...descendantsOf(top)]) {
      const transitions = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
      for (const t of transitions) {
        for (const target of t.target ?? []) {
          const to = target.path[0];
          if (to === undefined || to === top.key) continue;
          const key = `${top.key}\0${to}`;
          const edge = edges.get(key) ?? { from: top.key, to, events: [] };
          const event = t.eventType === '' ? 'always' : t.eventType;
          if (!edge.events.includes(event)) edge.events.push(event);
          edges.set(key, edge);
        }
      }
    }
  }
  return { states, edges: [...edges.values()] };
}

const BOX_W = 92;
const BOX_H = 28;
const COL = 124;
const ROW = 50;
const PAD = 16;

/**
 * The SVG of a machine's top-level states: columns by the longest path from the initial state
 * (arrows back, e.g. `paused` → `running`, do not count), arrows as curves with a `<title>`
 * naming their events.
 *
 * @example
 * ```ts
 * statechartSvg(jobMachine); // '<svg … class="statechart"><g class="state" data-status="created">…'
 * ```
 */
export function statechartSvg(machine: AnyStateMachine): string {
  const { states, edges } = chartOf(machine);
  const layer = layersOf(states, edges, machine.root.initial.target[0]?.key ?? states[0] ?? '');
  const columns = new Map<number, string[]>();
  for (const s of states) columns.set(layer.get(s) ?? 0, [...(columns.get(layer.get(s) ?? 0) ?? []), s]);
  const tallest = Math.max(...[...columns.values()].map((c) => c.length));
  const height = PAD * 2 + (tallest + 2) * ROW;
  const width = PAD * 2 + (columns.size - 1) * COL + BOX_W;
  const pos = new Map<string, { x: number; y: number }>();
  for (const [col, members] of columns) {
    const top = PAD + ROW + ((tallest - members.length) * ROW) / 2;
    members.forEach((s, i) => pos.set(s, { x: PAD + col * COL, y: top + i * ROW + (ROW - BOX_H) / 2 }));
  }
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="the job statechart">`,
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z"/></marker></defs>',
  ];
  for (const e of edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const span = (layer.get(e.to) ?? 0) - (layer.get(e.from) ?? 0);
    let d: string;
    if (span === 1) {
      const [x1, y1, x2, y2] = [a.x + BOX_W, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2];
      const mid = (x1 + x2) / 2;
      d = `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`;
    } else if (span > 1) {
      // Over several columns: leave and enter through the bottom, bowing below the boxes between.
      const [x1, y1, x2, y2] = [a.x + BOX_W / 2, a.y + BOX_H, b.x + BOX_W / 2 - 8, b.y + BOX_H];
      const low = Math.max(y1, y2) + ROW * (0.5 + span * 0.12);
      d = `M${x1},${y1} C${x1},${low} ${x2},${low} ${x2},${y2}`;
    } else {
      // Back (or same column): leave and enter through the top, bowing upwards.
      const [x1, y1, x2, y2] = [a.x + BOX_W / 2, a.y, b.x + BOX_W / 2 + 8, b.y];
      const lift = Math.min(y1, y2) - ROW * 0.6;
      d = `M${x1},${y1} C${x1},${lift} ${x2},${lift} ${x2},${y2}`;
    }
    parts.push(
      `<path class="edge" data-from="${e.from}" data-to="${e.to}" d="${d}" marker-end="url(#arrow)"><title>${esc(`${e.from} → ${e.to}: ${e.events.join(', ')}`)}</title></path>`,
    );
  }
  for (const s of states) {
    const p = pos.get(s)!;
    parts.push(
      `<g class="state" data-status="${esc(s)}"><rect x="${p.x}" y="${p.y}" width="${BOX_W}" height="${BOX_H}" rx="6"/>` +
        `<text x="${p.x + BOX_W / 2}" y="${p.y + BOX_H / 2}" text-anchor="middle" dominant-baseline="central">${esc(s)}</text></g>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Each state's column: the longest path to it from `initial` over arrows that are not back arrows. */
function layersOf(states: string[], edges: ChartEdge[], initial: string): Map<string, number> {
  const out = new Map<string, string[]>(states.map((s) => [s, []]));
  for (const e of edges) out.get(e.from)?.push(e.to);
  // Back arrows: those closing a cycle in a depth-first walk from the initial state.
  const back = new Set<string>();
  const onPath = new Set<string>();
  const seen = new Set<string>();
  const walk = (s: string) => {
    seen.add(s);
    onPath.add(s);
    for (const t of out.get(s) ?? []) {
      if (onPath.has(t)) back.add(`${s}\0${t}`);
      else if (!seen.has(t)) walk(t);
    }
    onPath.delete(s);
  };
  walk(initial);
  for (const s of states) if (!seen.has(s)) walk(s);
  const layer = new Map<string, number>(states.map((s) => [s, 0]));
  // Longest path on the acyclic rest: relax as many times as there are states.
  for (let i = 0; i < states.length; i++) {
    for (const e of edges) {
      if (back.has(`${e.from}\0${e.to}`)) continue;
      const next = (layer.get(e.from) ?? 0) + 1;
      if (next > (layer.get(e.to) ?? 0)) layer.set(e.to, next);
    }
  }
  return layer;
}

function descendantsOf(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...descendantsOf(child)]);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
