/**
 * `jobstate/testing`: model-based tests of a jobstate deployment. Paths generated from the
 * exported statecharts with `xstate/graph` ({@link generatePaths}), each a list of wire steps
 * (command, reply, events), replayed over NATS with the SDK ({@link replayPaths}), and what
 * they covered ({@link coverageOf}). Tutorial: docs/model-testing.md.
 */
export { generatePaths, startCommands, TEST_TYPE_PROFILE } from './paths.js';
export type { JobTypeProfile, PathOptions, WirePath } from './paths.js';
export { ANY_ERROR, Twin } from './twin.js';
export type { TwinSetup, WireCommand, WireEvent, WireReply, WireStep } from './twin.js';
export { WorkBehaviour, WORK_BEHAVIOURS, dueReport, wireJobMachine } from './work.js';
export { cleanUp, eventMatches, replayPath, replayPaths } from './replay.js';
export type { Mismatch, PathResult, ReplayOptions } from './replay.js';
export { coverageOf, formatCoverage } from './coverage.js';
export type { Coverage } from './coverage.js';
export { TRANSITIONS, VERBS_ACCEPTED } from './qemu-tables.js';
export { jobModel, modelState, describeEvent, VERB_EVENTS } from './job-model.js';
export type { JobModel, JobModelOptions, ModelEvent, ModelPath } from './job-model.js';
