/**
 * Mermaid state diagrams drawn from xstate v5 machines, so that the diagrams in `docs/` are
 * read off the statecharts and cannot drift from them.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

/** How a state node is named in the diagram: its Mermaid id, and the label shown when they differ. */
interface DiagramName {
  id: string;
  label: string;
}

/** One arrow of the diagram, written in the block of the composite state that holds both ends. */
interface Edge {
  from: string;
  to: string;
  label: string;
  block: AnyStateNode;
}

/**
 * Words the stateDiagram-v2 lexer (case-insensitive) or its renderer treat specially, plus
 * the JavaScript values `undefined` and `null`: a state with one of these names gets an alias.
 */
const RESERVED = new Set(['state', 'note', 'class', 'classdef', 'direction', 'scale', 'end', 'root', 'undefined', 'null']);

/**
 * The Mermaid `stateDiagram-v2` of a machine: one state per state node (compound ones as
 * composite states, entered by `[*]`; final ones leading to `[*]`), and one arrow per
 * transition that changes state, labelled with its event (`always` for an eventless one) and,
 * when guarded, the guard in brackets. Transitions without a target (actions only, such as
 * refusals) are not state changes and are left out. A transition of the machine itself is
 * drawn from every top-level state.
 *
 * @example
 * ```ts
 * import { jobMachine } from '../../machines/index.js';
 * toMermaid(jobMachine);
 * // stateDiagram-v2
 * //   state "undefined" as undefined_
 * //   ...
 * //   undefined_ --> created : create
 * //   running --> aborting : always [cancelForced]
 * ```
 */
export function toMermaid(machine: AnyStateMachine): string {
  const names = diagramNames(machine.root);
  const edges = edgesOf(machine.root, names);
  return ['stateDiagram-v2', ...block(machine.root, names, edges, 1)].join('\n') + '\n';
}

/** The lines inside a composite state (or the whole diagram, for the root). */
function block(node: AnyStateNode, names: Map<string, DiagramName>, edges: Edge[], depth: number): string[] {
  const pad = '  '.repeat(depth);
  const children = childrenOf(node);
  const lines: string[] = [];
  for (const child of children) {
    const { id, label } = nameOf(names, child);
    if (isComposite(child)) continue;
    if (id !== label) lines.push(`${pad}state "${label}" as ${id}`);
    // Inside a composite, declare every state, so that one no arrow inside reaches stays in its block.
    else if (depth > 1) lines.push(`${pad}${id}`);
  }
  for (const target of children.length > 0 ? node.initial.target : []) {
    lines.push(`${pad}[*] --> ${nameOf(names, target).id}`);
  }
  for (const child of children.filter(isComposite)) {
    const { id, label } = nameOf(names, child);
    lines.push(id === label ? `${pad}state ${id} {` : `${pad}state "${label}" as ${id} {`);
    lines.push(...block(child, names, edges, depth + 1), `${pad}}`);
  }
  for (const edge of edges.filter((e) => e.block === node)) {
    lines.push(`${pad}${edge.from} --> ${edge.to} : ${edge.label}`);
  }
  for (const child of children.filter((c) => c.type === 'final')) {
    lines.push(`${pad}${nameOf(names, child).id} --> [*]`);
  }
  return lines;
}

/** Every transition with a target, as arrows, in document order (the machine's own last). */
function edgesOf(root: AnyStateNode, names: Map<string, DiagramName>): Edge[] {
  const edges: Edge[] = [];
  for (const source of [...descendantsOf(root), root]) {
    const transitions = [...[...source.transitions.values()].flat(), ...(source.always ?? [])];
    for (const t of transitions) {
      const event = t.eventType === '' ? 'always' : t.eventType;
      const label = clean(t.guard === undefined ? event : `${event} [${guardLabel(t.guard)}]`);
      for (const target of t.target ?? []) {
        // The machine's own transitions apply in every state: draw them from each top-level one.
        const froms = source === root ? childrenOf(root).filter((c) => c.type !== 'final' && !isAncestorOrSelf(c, target)) : [source];
        for (const from of froms) {
          edges.push({ from: nameOf(names, from).id, to: nameOf(names, target).id, label, block: commonBlock(root, from, target) });
        }
      }
    }
  }
  return edges;
}

/**
 * The composite state both ends of an arrow lie strictly inside. Writing the arrow there
 * keeps Mermaid from placing a state in a block it does not belong to.
 */
function commonBlock(root: AnyStateNode, a: AnyStateNode, b: AnyStateNode): AnyStateNode {
  let block = root;
  const depth = Math.min(a.path.length, b.path.length) - 1;
  for (let i = 0; i < depth && a.path[i] === b.path[i]; i++) {
    const next = block.states[a.path[i] ?? ''];
    if (next === undefined) break;
    block = next;
  }
  return block;
}

/**
 * A Mermaid id for every state node: its key when that is a plain word, unique in the machine
 * and not reserved; otherwise its path joined with `_` (and a trailing `_` if still reserved),
 * shown with its key as label.
 */
function diagramNames(root: AnyStateNode): Map<string, DiagramName> {
  const nodes = descendantsOf(root);
  const keyCount = new Map<string, number>();
  for (const n of nodes) keyCount.set(n.key, (keyCount.get(n.key) ?? 0) + 1);
  const used = new Set<string>();
  const names = new Map<string, DiagramName>();
  for (const n of nodes) {
    let id = (keyCount.get(n.key) === 1 ? n.key : n.path.join('_')).replace(/[^A-Za-z0-9_]/g, '_');
    if (!/^[A-Za-z]/.test(id) || isReserved(id)) id = `${id}_`;
    while (used.has(id)) id = `${id}_`;
    used.add(id);
    names.set(n.id, { id, label: n.key.replace(/"/g, "'") });
  }
  return names;
}

function isReserved(id: string): boolean {
  const lower = id.toLowerCase();
  // The lexer reads any word starting with `default` as the keyword; `X_start`/`X_end` name the [*] of X.
  return RESERVED.has(lower) || lower.startsWith('default') || /_(start|end)$/.test(lower);
}

function nameOf(names: Map<string, DiagramName>, node: AnyStateNode): DiagramName {
  const name = names.get(node.id);
  if (name === undefined) throw new Error(`state node ${node.id} is not in the machine`);
  return name;
}

function childrenOf(node: AnyStateNode): AnyStateNode[] {
  const children = Object.values(node.states);
  for (const child of children) {
    if (child.type === 'parallel' || child.type === 'history') {
      throw new Error(`${child.type} state ${child.id}: not supported by toMermaid yet`);
    }
  }
  return children;
}

function descendantsOf(node: AnyStateNode): AnyStateNode[] {
  return childrenOf(node).flatMap((child) => [child, ...descendantsOf(child)]);
}

function isComposite(node: AnyStateNode): boolean {
  return Object.keys(node.states).length > 0;
}

function isAncestorOrSelf(node: AnyStateNode, of: AnyStateNode): boolean {
  return node.path.every((key, i) => of.path[i] === key);
}

/**
 * A guard's name: a named guard as written (`soft`), a parameterized one with its parameters
 * (`all(dismissed)`), `and`/`or`/`not` with their operands, an inline function as `inline`.
 */
function guardLabel(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') {
    if ('guards' in guard && Array.isArray(guard.guards)) return `${guard.name}(${guard.guards.map(guardLabel).join(', ')})`;
    return guard.name === '' || guard.name === 'guard' ? 'inline' : guard.name;
  }
  if (typeof guard === 'object' && guard !== null && 'type' in guard && typeof guard.type === 'string') {
    const params = 'params' in guard ? guard.params : undefined;
    return params === undefined ? guard.type : `${guard.type}(${paramsText(params)})`;
  }
  return 'guard';
}

function paramsText(params: unknown): string {
  if (typeof params !== 'object' || params === null) return String(params);
  return Object.entries(params)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(', ');
}

/** An arrow's label may not hold `:` or `;` (they end it) nor a line break. */
function clean(label: string): string {
  return label.replace(/[:;\n\r]/g, ' ').replace(/\s+/g, ' ').trim();
}
