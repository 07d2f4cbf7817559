/**
 * The `work` actor the job statechart spawns when a job starts: it runs the job's handler in
 * a {@link WorkControl} — or, for a type only a remote worker has, the runtime's remote work —
 * and relays the statechart's commands and the work's reports.
 */
import { fromCallback } from 'xstate';
import type { WorkCommand, WorkInput } from '../../machines/index.js';
import type { JobRuntime } from './runtime.js';
import { WorkControl } from './work-control.js';

export function workActor(runtime: JobRuntime) {
  return fromCallback<WorkCommand, WorkInput>(({ input, sendBack, receive }) => {
    const run = runtime.run(input.owner, input.id);
    if (!run) {
      sendBack({ type: 'work.failed', error: `No handler for job type '${input.type}'` });
      return;
    }
    const work = runtime.remote?.(input, run, sendBack) ?? (run.control = new WorkControl(input, run, runtime, sendBack));
    receive((command) => work.command(command));
    void work.run();
    return () => work.stop();
  });
}
