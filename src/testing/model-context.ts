/**
 * The test model keeps in the job machine's context what its work has been told (`work`): a key
 * the machine's `JobMachineContext` does not declare. xstate types `assign` against the machine's own
 * context, so an action that adds a key cannot be typed; this is the one place that widens it
 * (test/testing/model-context.test.ts checks the key lands in the snapshot).
 */
import { assign } from 'xstate';

/**
 * An action for `machine.provide({ actions })` that sets the context's `key` to what `next`
 * returns from its value so far and the action's params; `undefined` leaves it as it is.
 */
export function assignExtra<K extends string, V, P>(key: K, next: (value: V | undefined, params: P) => V | undefined): never {
  const action = assign(({ context }: { context: Partial<Record<K, V>> }, params: P) => {
    const value = next(context[key], params);
    const update: Partial<Record<K, V>> = {};
    if (value !== undefined) update[key] = value;
    return update;
  });
  // The machine's context type has no `key`: the action fits its slot only untyped.
  return action as never;
}
