/**
 * Lanes: a few loops of the same work running at once that stop together. The first lane to
 * fail — or a cancel — stops the others: a lane that is waiting (at a pause point, in the rate
 * limit, on the on-error policy) stops waiting at once; a lane in the middle of an I/O call
 * finishes that call and starts no other. The failure is thrown only once every lane has
 * ended, so that nothing a lane started is still running when it propagates (the callers
 * remove their output then).
 */
import { JobCancelledError } from '../handler.js';
import type { JobContext } from '../handler.js';

/** What a lane's body is given. */
export interface Lane {
  /** The lane's number, from 0. */
  readonly index: number;
  /**
   * The job, whose waits — pausePoint, sleep, throttle, ioError — end at once (throwing) when
   * the lanes stop. Give this one, not the job itself, to whatever waits inside a lane.
   */
  readonly job: JobContext<unknown>;
  /** Start `wait` and wait for it, unless the lanes stop first (then it throws; `wait` is not started if they already have). */
  wait<T>(wait: () => Promise<T>): Promise<T>;
  /** Throws if the lanes have stopped: call it before starting each I/O call. */
  check(): void;
}

/** Thrown in a lane that the lanes' stop ended; never the error {@link inLanes} throws. */
class LanesStopped extends Error {
  constructor() {
    super('stopped: another lane failed');
  }
}

/**
 * Run `count` lanes of `body` at once; resolves when every one has returned. If one throws
 * (or the job is cancelled), the others are stopped, every one is awaited, and then the first
 * error is thrown.
 */
export async function inLanes(job: JobContext<unknown>, count: number, body: (lane: Lane) => Promise<void>): Promise<void> {
  let failure: { error: unknown } | undefined;
  let stop!: (error: unknown) => void;
  const stopped = new Promise<never>((_, reject) => (stop = reject));
  stopped.catch(() => undefined); // raced in `wait`; rejected even if no lane waits then
  const fail = (error: unknown) => {
    if (failure) return;
    failure = { error };
    stop(error);
  };
  const cancelled = () => fail(new JobCancelledError());

  const check = () => {
    if (failure) throw new LanesStopped();
  };
  const wait = <T>(start: () => Promise<T>): Promise<T> => {
    check();
    // A wait left behind ends on its own later (a pause point at resume or at the job's end);
    // Promise.race has handled its outcome.
    return Promise.race([start(), stopped]);
  };
  // The job seen from a lane: the same object underneath (its `speed` getter stays live),
  // with its waits cut short by the stop.
  const laneJob: JobContext<unknown> = Object.create(job, {
    pausePoint: { value: () => wait(() => job.pausePoint()) },
    sleep: { value: (ms: number) => wait(() => job.sleep(ms)) },
    throttle: { value: (units: number) => wait(() => job.throttle(units)) },
    ioError: { value: (operation: 'read' | 'write', error: unknown) => wait(() => job.ioError(operation, error)) },
  });

  if (job.signal.aborted) cancelled();
  else job.signal.addEventListener('abort', cancelled, { once: true });
  try {
    await Promise.all(Array.from({ length: count }, (_, index) => body({ index, job: laneJob, wait, check }).catch(fail)));
  } finally {
    job.signal.removeEventListener('abort', cancelled);
  }
  if (failure) throw failure.error;
}
