/** The one key of a job among all owners' jobs (ids are unique per owner only). */
export const ownedKey = (owner: string, id: string): string => `${owner}\u0000${id}`;
