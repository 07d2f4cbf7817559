/**
 * The parent of every job started alone. An XState root actor brings an actor system of its
 * own (about 1.6 KB: a registry, a scheduler, a dozen closures); a job whose parent is the hub
 * shares the hub's. Nothing else changes for the job: it is still a whole transaction of one
 * (the hub never sends it anything), its events and snapshots go to its own listeners, and its
 * errors to its own observer.
 *
 * The hub's logic only stops the jobs it is told to (a child actor cannot be stopped by
 * anyone but its parent) and ignores the rest — the `xstate.done.actor.*` and
 * `xstate.error.actor.*` notices XState relays to a parent.
 */
import { createActor } from 'xstate';
import type { ActorLogic, ActorRefFrom, AnyActorRef, EventObject, Snapshot } from 'xstate';

type HubEvent = { type: 'hub.stop'; jobs: readonly AnyActorRef[] } | EventObject;

const ACTIVE: Snapshot<undefined> = { status: 'active', output: undefined, error: undefined };

const hubLogic: ActorLogic<Snapshot<undefined>, HubEvent> = {
  transition: (snapshot, event, scope) => {
    if (event.type === 'hub.stop') for (const job of (event as Extract<HubEvent, { jobs: unknown }>).jobs) scope.stopChild(job);
    return snapshot;
  },
  getInitialSnapshot: () => ACTIVE,
  getPersistedSnapshot: (snapshot) => snapshot,
};

export type ActorHub = ActorRefFrom<typeof hubLogic>;

/** A started hub: give it as `parent` to the jobs' createActor. */
export function createActorHub(): ActorHub {
  return createActor(hubLogic).start();
}

/** Stop jobs whose parent is `hub` (a child actor refuses `stop()`). */
export function stopJobs(hub: ActorHub, jobs: readonly AnyActorRef[]): void {
  if (jobs.length > 0) hub.send({ type: 'hub.stop', jobs });
}
