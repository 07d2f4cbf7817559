/**
 * The pipes as a job's handler sees them (TrueNAS's `job.pipes`): the input files the caller
 * uploaded, read in order, and the output the caller downloads. And how a job type declares
 * which pipes it takes.
 */

/** One input file of a job: an async iterable of its bytes, read once. Its end is checked (size, SHA-256). */
export interface PipeInput extends AsyncIterable<Uint8Array> {
  /** Its position, from 0, in the order the caller gave the inputs. */
  readonly index: number;
  /** The name the caller gave it, if any. */
  readonly name?: string;
  /** The size the caller announced, if any (checked at the end). */
  readonly size?: number;
}

/** A job's output. What the job writes reaches the caller in order; the pipe ends when the job concludes. */
export interface PipeOutput {
  /**
   * Write bytes. Resolves once they are on their way; in stream mode, also waits while the
   * reader is a window behind, and throws once it has read nothing for the stall timeout.
   */
  write(data: Uint8Array): Promise<void>;
  /** Bytes written so far. */
  readonly written: number;
}

export interface JobPipes {
  /** Every input, in the caller's order. */
  readonly inputs: readonly PipeInput[];
  /** The first input (TrueNAS's `pipes.input`). */
  readonly input: PipeInput | undefined;
  /** The output, if the job has one. */
  readonly output: PipeOutput | undefined;
}

/** A count of inputs, or the range [min, max]. */
export type InputCount = number | readonly [min: number, max: number];

/**
 * The pipes a job type takes (TrueNAS's `pipes`), fixed or as a function of the job's params.
 * job-start refuses a `pipes` argument that does not match.
 * @example
 * // a backup reads one input when its source is 'pipe:input', and writes an output when its target is 'pipe:output'
 * pipes: { inputs: (p) => (p.source === 'pipe:input' ? 1 : 0), output: (p) => p.target === 'pipe:output' }
 */
export interface PipeOptions<P> {
  /** How many input files the job reads. @defaultValue none: the type has no input pipe */
  inputs?: InputCount | ((params: P) => InputCount);
  /** Whether the job writes an output. @defaultValue false: the type has no output pipe */
  output?: boolean | ((params: P) => boolean);
}

/** No pipes: what a job started without any sees. */
export const NO_PIPES: JobPipes = Object.freeze({ inputs: Object.freeze([]), input: undefined, output: undefined });

/** A job's pipes once the runtime binds them to the job's cancellation. */
export interface PipeSource {
  forJob(signal: AbortSignal): JobPipes;
  /**
   * Resolves once everything the job wrote to its output is stored (at once without an
   * output); throws the pipe's error if some of it could not be — the job then fails with it.
   */
  outputStored(): Promise<void>;
}
