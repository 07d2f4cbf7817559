/**
 * Where pipe data lives: one JetStream stream per owner, one subject per pipe of a job, and a
 * core-NATS subject beside it on which the reader reports how far it has read (the writer's
 * flow control). Written once for the service, the SDK and the CLI.
 *
 * - stream:  `<P with dots as _>_pipes_<owner>`, subjects `P.pipe.<owner>.*.*`
 * - data:    `P.pipe.<owner>.<id>.<pipe>`, `<pipe>` one of `in-0` … `in-15`, `out`, `log`
 * - reads:   `P.pipe.<owner>.<id>.<pipe>.read` (not stored: one token more than the stream takes)
 */

/** The pipes of a job besides its inputs. */
export const PipeName = {
  /** What the job writes (TrueNAS's `pipes.output`). */
  output: 'out',
  /** The job's own log, every line. */
  log: 'log',
} as const;

/** The pipe name of input `index` (0-based): `in-0`, `in-1`, … */
export function inputPipe(index: number): string {
  return `in-${index}`;
}

/** The JetStream stream that holds `owner`'s pipe data. */
export function pipeStream(prefix: string, owner: string): string {
  return `${prefix.replaceAll('.', '_')}_pipes_${owner}`;
}

export const pipeSubjects = {
  /** The subjects `owner`'s stream takes: one pipe of one job each. */
  stream: (prefix: string, owner: string) => `${prefix}.pipe.${owner}.*.*`,
  /** The subject one pipe's data (and its end) is published on. */
  data: (prefix: string, owner: string, id: string, pipe: string) => `${prefix}.pipe.${owner}.${id}.${pipe}`,
  /** Every pipe of one job (to purge them). */
  job: (prefix: string, owner: string, id: string) => `${prefix}.pipe.${owner}.${id}.*`,
  /** Where the reader of one pipe reports how far it has read. */
  read: (prefix: string, owner: string, id: string, pipe: string) => `${prefix}.pipe.${owner}.${id}.${pipe}.read`,
  /** Every read report the service takes (of outputs and logs it writes). */
  allReads: (prefix: string) => `${prefix}.pipe.*.*.*.read`,
};
