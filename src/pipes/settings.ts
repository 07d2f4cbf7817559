/** The limits and time settings of pipes (README, Settings; docs/protocol.md, Pipes). */

export interface PipeSettings {
  /** Input files one job may take. @defaultValue 16 */
  maxInputs: number;
  /** Bytes of pipe data one owner may keep at once, inputs and outputs together. @defaultValue 1 GiB */
  maxBytes: number;
  /** How far a writer may run ahead of its reader, in stream mode (outputs) and uploads. @defaultValue 16 MiB */
  windowBytes: number;
  /** A job fails once an input got nothing, or a stream-mode output's reader read nothing, for this long. @defaultValue 60000 */
  stallTimeoutMs: number;
  /** How long a job's output (and log) is kept after the job concludes. @defaultValue 3600000 */
  retentionMs: number;
  /** The stream's backstop: no pipe data older than this is kept, whatever happens. @defaultValue 86400000 */
  maxAgeMs: number;
  /** The largest message a pipe writer publishes. @defaultValue 512 KiB */
  chunkBytes: number;
  /** Copies of each owner's pipe stream (JOBS_REPLICAS). @defaultValue 1 */
  replicas?: number;
}

export const DEFAULT_PIPE_SETTINGS: PipeSettings = {
  maxInputs: 16,
  maxBytes: 1024 ** 3,
  windowBytes: 16 * 1024 ** 2,
  stallTimeoutMs: 60_000,
  retentionMs: 3_600_000,
  maxAgeMs: 86_400_000,
  chunkBytes: 512 * 1024,
};

/** The settings given, the defaults for the rest. */
export function resolvePipeSettings(given: Partial<PipeSettings> = {}): PipeSettings {
  const settings = { ...DEFAULT_PIPE_SETTINGS, ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) };
  settings.windowBytes = Math.max(settings.windowBytes, settings.chunkBytes);
  return settings;
}
