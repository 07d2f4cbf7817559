/** A small helper to build DOM nodes: `h('button', { onclick }, 'Pause')`. */
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'class') el.className = String(value);
    else if (name in el && name !== 'list' && name !== 'form') (el as unknown as Record<string, unknown>)[name] = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
}

/** Replace an element's content. */
export function mount(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A time as the page shows it: local, to the second. */
export function time(iso: unknown): string {
  if (typeof iso !== 'string') return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleString(undefined, { hour12: false });
}

/** A progress ratio 0..1 (QEMU's current/total). */
export function ratio(current: unknown, total: unknown): number {
  const c = typeof current === 'number' ? current : 0;
  const t = typeof total === 'number' ? total : 0;
  return t > 0 ? Math.min(1, c / t) : 0;
}
