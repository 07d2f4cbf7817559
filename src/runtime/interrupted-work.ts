/**
 * The work of a job restored after a service restart whose type cannot resume it: the work
 * is gone. A job that was running fails at once; a paused, ready or standby job comes back as
 * it was and fails the first time it needs its work to go on (resume, complete, cancel).
 */
import type { WorkCommand, WorkReport } from '../../machines/index.js';
import type { Work } from './run.js';

/** The error of a job whose work a service restart interrupted. */
export const INTERRUPTED = 'Interrupted by service restart';

export class InterruptedWork implements Work {
  #failed = false;

  constructor(
    private readonly report: (event: WorkReport) => void,
    /** The job was running: it fails at once. */
    private readonly running: boolean,
  ) {}

  async run(): Promise<void> {
    if (this.running) this.#fail();
  }

  command(command: WorkCommand): void {
    if (command.type === 'pause' || command.type === 'set-speed') return;
    this.#fail();
  }

  stop(): void {
    this.#failed = true;
  }

  #fail(): void {
    if (this.#failed) return;
    this.#failed = true;
    this.report({ type: 'work.failed', error: INTERRUPTED });
  }
}
