/**
 * nats.js's micro-services count an endpoint's errors only when its handler throws
 * synchronously; ours answer errors asynchronously, so the count is made here, through the
 * library's own per-endpoint stats, which it does not export (`ServiceImpl.handlers[i].stats`).
 * This module is the one place that reaches in; test/nats/service-stats.test.ts checks the
 * installed library still has that shape.
 */
import type { Service } from '@nats-io/services';

interface EndpointStats {
  countError(err: Error): void;
  countLatency(start: number): void;
}

/** The library's own list of endpoint handlers (`ServiceImpl.handlers`, not exported). */
function handlersOf(service: Service): unknown {
  return (service as unknown as { handlers?: unknown }).handlers;
}

/** The library's stats of `endpoint`, undefined if it has no such endpoint or no longer that shape. */
function endpointStats(service: Service, endpoint: string): EndpointStats | undefined {
  const handlers = handlersOf(service);
  if (!Array.isArray(handlers)) return undefined;
  const handler: unknown = handlers.find((h: { name?: unknown } | null) => h?.name === endpoint);
  const stats = (handler as { stats?: Partial<EndpointStats> } | undefined)?.stats;
  return typeof stats?.countError === 'function' && typeof stats.countLatency === 'function' ? (stats as EndpointStats) : undefined;
}

/** Count an error reply in `endpoint`'s `$SRV.STATS` (`num_errors`, `last_error`); nothing if the library changed shape. */
export function countEndpointError(service: Service, endpoint: string, desc: string): void {
  endpointStats(service, endpoint)?.countError(new Error(desc));
}

/**
 * Count a request `endpoint` took on another subscription than its own (a command sent straight
 * to this instance) in its `$SRV.STATS` (`num_requests`, processing time from `startMs`,
 * `Date.now()` as the library measures it); nothing if the library changed shape.
 */
export function countEndpointRequest(service: Service, endpoint: string, startMs: number): void {
  endpointStats(service, endpoint)?.countLatency(startMs);
}

/** What the library lacks of what {@link countEndpointError} relies on, for `endpoint`; undefined if nothing. */
export function serviceStatsShapeProblem(service: Service, endpoint: string): string | undefined {
  const handlers = handlersOf(service);
  if (!Array.isArray(handlers)) return 'the service has no `handlers` array any more';
  if (!handlers.some((h: { name?: unknown } | null) => h?.name === endpoint)) return `no entry of \`handlers\` is named '${endpoint}'`;
  if (!endpointStats(service, endpoint)) return `the \`handlers\` entry of '${endpoint}' has no \`stats.countError(err)\` and \`stats.countLatency(start)\``;
  return undefined;
}
