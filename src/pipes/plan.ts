/**
 * What pipes a job gets: job-start's `pipes` argument checked against what its type declares
 * for its params. Every mismatch is a 400 that names the argument and says what is expected.
 */
import { BadInputError } from '../protocol/errors.js';
import type { PipesArg } from '../protocol/schemas.js';
import type { InputCount, PipeOptions } from './api.js';

/** One input as the caller announced it. */
export interface InputPlan {
  name?: string;
  size?: number;
}

/** The pipes of one job. */
export interface PipePlan {
  inputs: InputPlan[];
  /** Present when the job writes an output: how it is read. */
  output?: 'stream' | 'buffer';
}

/**
 * Check `arg` against the pipes `typeName` takes with `params`; the job's pipes, or undefined
 * when it has none. `where` prefixes names in a transaction (`actions[2]`).
 */
export function planPipes(
  typeName: string,
  declared: PipeOptions<unknown> | undefined,
  params: unknown,
  arg: PipesArg | undefined,
  maxInputs: number,
  where?: string,
): PipePlan | undefined {
  const name = (field: string) => `${where ? `${where}.` : ''}pipes.${field}`;
  const inputs = arg?.inputs ?? [];
  if (inputs.length > maxInputs) throw new BadInputError(`Parameter '${name('inputs')}' is too long (max ${maxInputs} inputs)`);

  const [min, max] = range(valueOf(declared?.inputs, params) ?? 0);
  const given = arg?.inputs !== undefined;
  if (given && max === 0) {
    const why = declared?.inputs === undefined ? `job type '${typeName}' has no input pipe` : `job type '${typeName}' reads no input with these params`;
    throw new BadInputError(`Parameter '${name('inputs')}' is unexpected: ${why}`);
  }
  if (inputs.length < min || inputs.length > max) {
    const expected = min === max ? `${min} input${min === 1 ? '' : 's'}` : `${min} to ${max} inputs`;
    if (!given) throw new BadInputError(`Parameter '${name('inputs')}' is missing: job type '${typeName}' reads ${expected} with these params`);
    throw new BadInputError(`Parameter '${name('inputs')}' has ${inputs.length} entries: job type '${typeName}' reads ${expected} with these params`);
  }

  const writes = valueOf(declared?.output, params) ?? false;
  if (arg?.output !== undefined && !writes) {
    const why = declared?.output === undefined ? `job type '${typeName}' has no output pipe` : `job type '${typeName}' writes no output with these params`;
    throw new BadInputError(`Parameter '${name('output')}' is unexpected: ${why}`);
  }
  if (inputs.length === 0 && !writes) return undefined;
  return { inputs: inputs.map((i) => ({ ...i })), ...(writes && { output: arg?.output ?? 'buffer' }) };
}

function valueOf<T>(value: T | ((params: unknown) => T) | undefined, params: unknown): T | undefined {
  return typeof value === 'function' ? (value as (params: unknown) => T)(params) : value;
}

function range(count: InputCount): readonly [number, number] {
  return typeof count === 'number' ? [count, count] : count;
}
