/**
 * The service's requests and messages to a worker about one job. A request that fails is
 * told apart: nobody got it (the worker is gone), or no answer came in time (it may have it).
 */
import { RequestError } from '@nats-io/transport-node';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import { send, workerSubjects } from '../../protocol/worker.js';
import type { JobMessage, RunRequest } from '../../protocol/worker.js';

/** The service's side of the link to its workers. */
export interface WorkerLink {
  readonly nc: NatsConnection;
  readonly prefix: string;
  readonly svc: string;
  readonly dispatchTimeoutMs: number;
  readonly prepareTimeoutMs: number;
}

/** Send a message about job `owner`/`id` to `worker` (fire and forget). */
export function tell(link: WorkerLink, worker: string, owner: string, id: string, message: JobMessage): void {
  send(link.nc, workerSubjects.job(link.prefix, worker, link.svc, owner, id), JSON.stringify(message));
}

/** Dispatch: the worker's reply, `unreachable` when nobody got the request, `no-answer` when none came in time. */
export async function askRun(link: WorkerLink, worker: string, request: RunRequest): Promise<Msg | 'unreachable' | 'no-answer'> {
  try {
    return await link.nc.request(workerSubjects.run(link.prefix, worker), JSON.stringify(request), { timeout: link.dispatchTimeoutMs });
  } catch (err) {
    return noResponders(err) ? 'unreachable' : 'no-answer';
  }
}

/** The worker's reply to `prepare`; rejects when it is gone or did not answer in time. */
export function askPrepare(link: WorkerLink, worker: string, owner: string, id: string): Promise<Msg> {
  const { nc, prepareTimeoutMs } = link;
  const subject = workerSubjects.job(link.prefix, worker, link.svc, owner, id);
  return nc.request(subject, JSON.stringify({ type: 'prepare' } satisfies JobMessage), { timeout: prepareTimeoutMs }).catch((err: unknown) => {
    throw new Error(
      noResponders(err)
        ? `Worker '${worker}' stopped responding`
        : `Worker '${worker}' did not finish prepare of job '${id}' within ${prepareTimeoutMs} ms`,
    );
  });
}

/**
 * Ask `worker` whether it still has the job (a restarted service re-attaching it): its reply,
 * or the problem. Without an answer in time it is told to stop the job, in case it has it.
 */
export async function askAttach(link: WorkerLink, worker: string, owner: string, id: string): Promise<{ reply?: Msg; problem?: string }> {
  const { nc, dispatchTimeoutMs } = link;
  const subject = workerSubjects.job(link.prefix, worker, link.svc, owner, id);
  try {
    return { reply: await nc.request(subject, JSON.stringify({ type: 'attach' } satisfies JobMessage), { timeout: dispatchTimeoutMs }) };
  } catch (err) {
    if (noResponders(err)) return { problem: 'the worker is gone' };
    // It may have the job after all: it must not go on with a job that failed here.
    tell(link, worker, owner, id, { type: 'stop' });
    return { problem: `the worker did not answer within ${dispatchTimeoutMs} ms` };
  }
}

function noResponders(err: unknown): boolean {
  return err instanceof RequestError && err.isNoResponders();
}
