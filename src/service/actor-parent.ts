/**
 * The jobs' actor parent: the parent of every job started alone. An XState root actor brings
 * an actor system of its own (about 1.6 KB: a registry, a scheduler, a dozen closures); a job
 * whose parent is this one shares its. Nothing else changes for the job: it is still a whole transaction of one
 * (the parent never sends it anything), its events and snapshots go to its own listeners, and its
 * errors to its own observer.
 *
 * Its logic only stops the jobs it is told to (a child actor cannot be stopped by
 * anyone but its parent) and ignores the rest — the `xstate.done.actor.*` and
 * `xstate.error.actor.*` notices XState relays to a parent.
 */
import { createActor } from 'xstate';
import type { ActorLogic, ActorRefFrom, AnyActorRef, EventObject, Snapshot } from 'xstate';

type ParentEvent = { type: 'parent.stop'; jobs: readonly AnyActorRef[] } | EventObject;

const ACTIVE: Snapshot<undefined> = { status: 'active', output: undefined, error: undefined };

const parentLogic: ActorLogic<Snapshot<undefined>, ParentEvent> = {
  transition: (snapshot, event, scope) => {
    if (event.type === 'parent.stop') for (const job of (event as Extract<ParentEvent, { jobs: unknown }>).jobs) scope.stopChild(job);
    return snapshot;
  },
  getInitialSnapshot: () => ACTIVE,
  getPersistedSnapshot: (snapshot) => snapshot,
};

export type ActorParent = ActorRefFrom<typeof parentLogic>;

/** A started actor parent: give it as `parent` to the jobs' createActor. */
export function createActorParent(): ActorParent {
  return createActor(parentLogic).start();
}

/** Stop jobs whose parent is `parent` (a child actor refuses `stop()`). */
export function stopJobs(parent: ActorParent, jobs: readonly AnyActorRef[]): void {
  if (jobs.length > 0) parent.send({ type: 'parent.stop', jobs });
}
