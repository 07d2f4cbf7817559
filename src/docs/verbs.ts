/**
 * Which verbs each status accepts, read off the job machine by probing its transitions, and
 * the Markdown table that shows it.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** The action a job runs to refuse a verb (see `refusing()` in `machines/job.ts`). */
export const REFUSE_ACTION = 'refuse';

/**
 * Whether a state node acts on an event: some transition for it (on the node or inside it, or
 * else on the nearest ancestor that has one) changes state or runs an action other than
 * {@link REFUSE_ACTION}. A verb answered only by refusals, whatever their reason, is refused:
 * `resume` answers "not paused" before QEMU's verb table is consulted.
 *
 * @example
 * ```ts
 * accepts(jobMachine.root.states.concluded!, 'dismiss'); // true
 * accepts(jobMachine.root.states.running!, 'dismiss'); // false
 * ```
 */
export function accepts(node: AnyStateNode, event: string): boolean {
  return transitionsFor(node, event).some((t) => t.target !== undefined || t.actions.some((a) => !isRefusal(a)));
}

/**
 * A Markdown table with a row per top-level state and a column per verb: ✓ where the state
 * accepts the verb, — where it refuses it.
 *
 * @example
 * ```ts
 * verbTable(jobMachine, JOB_VERBS);
 * // | status | cancel | pause | … |
 * // | `created` | ✓ | ✓ | … |
 * ```
 */
export function verbTable(machine: AnyStateMachine, verbs: readonly string[]): string {
  const lines = [`| status | ${verbs.join(' | ')} |`, `| --- |${verbs.map(() => ' :-: |').join('')}`];
  for (const state of Object.values(machine.root.states)) {
    lines.push(`| \`${state.key}\` | ${verbs.map((verb) => (accepts(state, verb) ? '✓' : '—')).join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

function transitionsFor(node: AnyStateNode, event: string): AnyTransitionDefinition[] {
  const within = [node, ...descendantsOf(node)].flatMap((n) => n.transitions.get(event) ?? []);
  if (within.length > 0 || node.parent === undefined) return within;
  for (let up: AnyStateNode | undefined = node.parent; up !== undefined; up = up.parent) {
    const own = up.transitions.get(event);
    if (own !== undefined) return own;
  }
  return [];
}

function descendantsOf(node: AnyStateNode): AnyStateNode[] {
  return Object.values(node.states).flatMap((child) => [child, ...descendantsOf(child)]);
}

function isRefusal(action: unknown): boolean {
  if (typeof action === 'string') return action === REFUSE_ACTION;
  return typeof action === 'object' && action !== null && 'type' in action && action.type === REFUSE_ACTION;
}
