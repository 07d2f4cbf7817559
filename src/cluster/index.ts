/** Sharing one prefix among N instances: partitions, their assignment, membership and leases. */
export { DEFAULT_PARTITIONS, partitionOf, partitionOfTokens } from './partition.js';
export { assign, ownerOf, partitionsOf } from './assignment.js';
export { InstanceIdInUseError, Membership } from './membership.js';
export type { MembershipOptions } from './membership.js';
export { Leases } from './lease.js';
export type { LeaseOptions, LeaseValue, LostReason } from './lease.js';
export { Coordinator } from './coordinator.js';
export type { CoordinatorOptions } from './coordinator.js';
export { LeasedOwnership, ownsEverything } from './ownership.js';
export type { Ownership, ServingHooks } from './ownership.js';
