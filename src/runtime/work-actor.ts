/**
 * The `work` actor the job statechart spawns when a job starts: it runs the job's handler in
 * a {@link WorkControl} and relays the statechart's commands and the handler's reports.
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
    const control = new WorkControl(input, run, runtime, sendBack);
    run.control = control;
    receive((command) => control.command(command));
    void control.run();
    return () => control.stop();
  });
}
