/**
 * Which partitions this instance serves: the one thing the endpoints and the forwarding layer
 * ask. 'serving' is announced after a partition's jobs are restored, 'unserving' before they
 * are dropped.
 */
import { partitionOf } from './partition.js';

export interface Ownership {
  readonly partitions: number;
  partitionOf(owner: string): number;
  /** p is served here now: lease held AND its jobs restored. */
  serves(p: number): boolean;
  /** Listeners: 'serving' after p's jobs are restored; 'unserving' before p's jobs are dropped. */
  on(event: 'serving' | 'unserving', listener: (p: number) => void): () => void;
}

/** Every partition, always (memory-only services and tests): nothing is ever announced. */
export function ownsEverything(partitions: number): Ownership {
  return {
    partitions,
    partitionOf: (owner) => partitionOf(owner, partitions),
    serves: (p) => Number.isInteger(p) && p >= 0 && p < partitions,
    on: () => () => undefined,
  };
}
