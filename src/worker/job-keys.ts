/** A worker's jobs are kept by the service instance that dispatched them, their owner and their id. */

/** The start of the keys of the jobs service `svc` dispatched here. */
export const ofService = (svc: string): string => `${svc}\u0000`;

/** A job's key among this worker's: the service that dispatched it, its owner and its id. */
export const serviceJobKey = (svc: string, owner: string, id: string): string => `${ofService(svc)}${owner}\u0000${id}`;
