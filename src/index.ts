// Public API of the neon-promote package.
export { NeonPromoteClient, type NeonPromoteClientOptions } from './client';
export { createWorker, runWorker, DEFAULT_TASK_QUEUE, type CreateWorkerOptions } from './worker';
export { temporalSettingsFromEnv, type TemporalSettings } from './temporal/connection';
export { NeonProjectId, NeonPhase, NeonOutcome } from './temporal/search-attributes';
