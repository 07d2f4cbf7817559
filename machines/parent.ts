/**
 * The one place that reads XState's private `_parent`: a member job tells its transaction
 * (the parent that spawned it) without being given a reference to it. If XState stops
 * providing `_parent`, `test/machines/parent.test.ts` fails.
 */
import type { AnyActorRef } from 'xstate';

/** The actor that spawned (or was given as parent to) `actor`, if any. */
export function parentOf(actor: AnyActorRef): AnyActorRef | undefined {
  return actor._parent;
}

/**
 * Where a member's notices go: its transaction (the parent that spawned it). A job alone is its
 * own transaction and ignores them: they go to itself, or to the parent it was given only to
 * share an actor system (the service's actor parent, which ignores them too).
 */
export const transaction = ({ self }: { self: AnyActorRef }): AnyActorRef => parentOf(self) ?? self;
