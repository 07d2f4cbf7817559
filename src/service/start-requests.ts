/**
 * job-start requests (alone, or the actions of a transaction) checked against the job's
 * type, the limits and the service's pipes, and turned into what a launch needs: the job's
 * input and its pipe plan, which travel together.
 */
import type { JobInput } from '../../machines/index.js';
import { BadInputError, JobIdInUseError } from '../protocol/errors.js';
import { checkRoom, checkStart } from '../protocol/limits.js';
import type { Limits } from '../protocol/limits.js';
import type { JobStartArgs } from '../protocol/schemas.js';
import type { PipeHub } from '../pipes/hub.js';
import { planPipes } from '../pipes/plan.js';
import type { PipePlan } from '../pipes/plan.js';
import type { JobRuntime } from '../runtime/runtime.js';
import { generateId } from './ids.js';
import type { JobTable } from './job-table.js';

/** A checked job-start: the job's input, and its pipes when it was started with some. */
export interface StartRequest {
  readonly input: JobInput;
  readonly pipes?: PipePlan | undefined;
}

export class StartChecks {
  constructor(
    private readonly runtime: JobRuntime,
    private readonly table: JobTable,
    private readonly limits: Limits,
    private readonly hub: PipeHub | undefined,
  ) {}

  /**
   * Check one job-start request of `caller` and turn it into a {@link StartRequest}. `taken`:
   * the ids of the same transaction's earlier actions; `where`: the action, for the error
   * texts; `room`: check the owner's limit of live jobs here.
   */
  check(caller: string, args: JobStartArgs, taken: ReadonlySet<string>, where?: string, room = true): StartRequest {
    const types = this.runtime.types;
    const params = types.parseParams(args.type, args.params, where ? `${where}.params` : 'params');
    const id = args.id ?? generateId('job');
    if (this.table.get(caller, id) || taken.has(id)) throw new JobIdInUseError(id);
    checkStart(this.limits, { description: args.description, params: args.params, where });
    if (room) this.room(caller, taken.size);
    const description = args.description ?? types.get(args.type)?.description?.(params);
    const pipes = this.#planPipes(args, params, where);
    const input: JobInput = {
      id,
      owner: caller,
      type: args.type,
      params,
      ...(args['auto-finalize'] !== undefined && { autoFinalize: args['auto-finalize'] }),
      ...(args['auto-dismiss'] !== undefined && { autoDismiss: args['auto-dismiss'] }),
      ...(args.speed !== undefined && { speed: args.speed }),
      ...(args['on-error'] !== undefined && { onError: args['on-error'] }),
      ...(description !== undefined && { description }),
    };
    return pipes ? { input, pipes } : { input };
  }

  /** Refuse one more live job of `owner` past the limit (`pending`: jobs of the same request). */
  room(owner: string, pending: number): void {
    checkRoom(this.limits, owner, this.table.live(owner) + pending);
  }

  /** The caller's last job queued for the same lock, when the type's lockQueueSize is reached. */
  queuedInstead(input: JobInput): string | undefined {
    const size = this.runtime.types.get(input.type)?.lockQueueSize;
    const lock = this.runtime.lockName(input.type, input.params ?? {});
    if (size === undefined || lock === undefined) return undefined;
    const waiting = this.runtime.locks.waiting(lock, input.owner);
    return waiting.length >= size ? waiting.at(-1) : undefined;
  }

  /** The job's pipes: its `pipes` argument checked against its type. */
  #planPipes(args: JobStartArgs, params: Record<string, unknown>, where?: string): PipePlan | undefined {
    const declared = this.runtime.types.get(args.type)?.pipes;
    const hub = this.hub;
    const plan = planPipes(args.type, declared, params, args.pipes, hub?.settings.maxInputs ?? Number.MAX_SAFE_INTEGER, where);
    if (plan && !hub) throw new BadInputError(`Parameter '${where ? `${where}.` : ''}pipes' is unexpected: this service has no pipes`);
    return plan;
  }
}
