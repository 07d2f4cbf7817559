/**
 * The job types the service knows, by name, and the validation of their params.
 */
import { z } from 'zod';
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

  /** Every type with its params' JSON Schema (`query-job-types`). */
  describe(): JobTypeInfo[] {
    return this.names().map((name) => ({ type: name, runs: 'local', params: paramsSchema(this.get(name)!) }));
  }

  /** Check that `type` exists and its `params` are valid; return them with defaults filled in. */
  parseParams(type: string, params: unknown, where = 'params'): Record<string, unknown> {
    const jobType = this.get(type);
    if (!jobType) {
      const known = this.names();
      throw new BadInputError(`Invalid parameter 'type': unknown job type '${type}' (known: ${known.length > 0 ? known.join(', ') : 'none'})`);
    }
    return validate(jobType.params, params ?? {}, where) as Record<string, unknown>;
  }
}

/** What `query-job-types` says of one type. */
export interface JobTypeInfo {
  type: string;
  /** In the service's process, or on remote workers only. */
  runs: 'local' | 'remote';
  /** The JSON Schema of its params (as a job-start's `params` is written). */
  params: Record<string, unknown>;
}

/** The JSON Schema of a type's params, as they are written (defaults optional). */
export function paramsSchema(type: JobType<unknown>): Record<string, unknown> {
  const { $schema: _, ...schema } = z.toJSONSchema(type.params, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return schema;
}
