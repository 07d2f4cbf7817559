/**
 * How a job type is run for each work behaviour in the wire paths (paths.ts), and the built-in
 * `test` type's profile. Kept apart from the paths, which need xstate: jobctl reads the profile
 * of `selftest --type` before it loads them.
 */

/** How to run a job type for each work behaviour (see docs/model-testing.md). */
export interface JobTypeProfile {
  type: string;
  /** Params of a run that ends successfully by itself, soon. */
  done: Record<string, unknown>;
  /** Params of a run that keeps running until it is cancelled (and then stops soon). */
  hold: Record<string, unknown>;
  /** If the type can reach `ready`: params of a run that reaches it soon, then waits for job-complete. */
  ready?: Record<string, unknown>;
  /** If the type can fail: params of a run that fails by itself, soon. */
  fail?: Record<string, unknown>;
  /** The error a `fail` run fails with; any text if not given. */
  failError?: string;
}

/** The built-in `test` type. */
export const TEST_TYPE_PROFILE: JobTypeProfile = {
  type: 'test',
  done: { steps: 1, 'step-ms': 0 },
  hold: { steps: 1_000_000, 'step-ms': 3_600_000 },
  ready: { steps: 0, ready: true },
  fail: { steps: 0, fail: 'model test failure' },
  failError: 'model test failure',
};

