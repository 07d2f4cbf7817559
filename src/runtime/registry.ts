/**
 * The job types the service knows, by name, and the validation of their params.
 */
import { BadInputError } from '../protocol/errors.js';
import { validate } from '../protocol/validate.js';
import type { JobType } from './handler.js';

export class JobTypes {
  readonly #types = new Map<string, JobType<unknown>>();

  register<P>(type: JobType<P>): this {
    this.#types.set(type.type, type as JobType<unknown>);
    return this;
  }

  get(type: string): JobType<unknown> | undefined {
    return this.#types.get(type);
  }

  /** The names of the registered types, in registration order. */
  names(): string[] {
    return [...this.#types.keys()];
  }

  /** Check that `type` exists and its `params` are valid; return them with defaults filled in. */
  parseParams(type: string, params: unknown, where = 'params'): Record<string, unknown> {
    const jobType = this.get(type);
    if (!jobType) throw new BadInputError(`Invalid parameter 'type': unknown job type '${type}'`);
    return validate(jobType.params, params ?? {}, where) as Record<string, unknown>;
  }
}
