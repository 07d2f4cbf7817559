/**
 * The `work` actor the job statechart invokes, made from the registered handlers: it runs
 * the job's handler in a {@link WorkControl} and relays commands and reports.
 */
import { fromCallback } from 'xstate';
import type { WorkCommand, WorkInput } from '../../machines/index.js';
import type { JobTypes } from './registry.js';
import { WorkControl } from './work-control.js';

export function workActor(types: JobTypes) {
  return fromCallback<WorkCommand, WorkInput>(({ input, sendBack, receive }) => {
    const control = new WorkControl(input, sendBack);
    receive((command) => control.command(command));
    const jobType = types.get(input.type);
    if (jobType) void control.run(jobType.handler, input.params);
    else sendBack({ type: 'work.failed', error: `No handler for job type '${input.type}'` });
    return () => control.stop();
  });
}
