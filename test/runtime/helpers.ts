/**
 * Helpers of the runtime integration tests: gates that a test opens to let a handler go on
 * (and that a handler opens to tell the test it got somewhere), and a stack with job types of
 * the test's own plus alice, bob and admin clients and a recorder of every owner's events.
 */
import type { JobContext } from '../../src/runtime/handler.js';
import { testJob } from '../../src/runtime/builtin/test-job.js';
import { JobTypes } from '../../src/runtime/registry.js';
import type { JobsClient } from '../../src/sdk/index.js';
import { startStack } from '../support/stack.js';
import type { Stack } from '../support/stack.js';
import { Recorder } from '../service/helpers.js';

interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

/** Named one-shot gates, created on first use by either side. */
export class Gates {
  readonly #gates = new Map<string, Gate>();

  #get(name: string): Gate {
    let gate = this.#gates.get(name);
    if (!gate) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gate = { opened, open };
      this.#gates.set(name, gate);
    }
    return gate;
  }

  open(name: string): void {
    this.#get(name).open();
  }

  /** Resolves once `name` is opened. */
  opened(name: string, timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`gate '${name}' not opened within ${timeoutMs} ms`)), timeoutMs);
    });
    return Promise.race([this.#get(name).opened, timeout]).finally(() => clearTimeout(timer));
  }

  /** In a handler: wait until `name` is opened, or the job is cancelled (then this throws). */
  async wait(job: JobContext<unknown>, name: string): Promise<void> {
    let stop = () => {};
    const cancelled = new Promise<void>((resolve) => {
      stop = () => resolve();
      if (job.signal.aborted) resolve();
      job.signal.addEventListener('abort', stop, { once: true });
    });
    await Promise.race([this.#get(name).opened, cancelled]);
    job.signal.removeEventListener('abort', stop);
    await job.pausePoint();
  }
}

export interface TypesStack {
  stack: Stack;
  alice: JobsClient;
  bob: JobsClient;
  admin: JobsClient;
  /** Every owner's events, recorded on the service's own connection. */
  events: Recorder;
  close(): Promise<void>;
}

/**
 * A stack with the built-in `test` type and those `register` adds, three clients and a recorder of
 * every event.
 * @example const t = await startTypesStack((types) => types.register(myType));
 */
export async function startTypesStack(register: (types: JobTypes) => JobTypes): Promise<TypesStack> {
  const stack = await startStack({ types: register(new JobTypes().register(testJob)) });
  const [alice, bob, admin] = await Promise.all([stack.client('alice'), stack.client('bob'), stack.client('admin')]);
  const events = new Recorder(alice.nc, `${stack.prefix}.evt.>`);
  await events.ready;
  return {
    stack,
    alice,
    bob,
    admin,
    events,
    close: async () => {
      events.close();
      await stack.close();
    },
  };
}
