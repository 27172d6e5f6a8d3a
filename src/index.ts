// Public API of the neon-promote package.
export { NeonPromoteClient, InvalidInputError, ProjectBusyError, type NeonPromoteClientOptions } from './client';
export type { ListRunsOptions, RunSummary } from './client/runs';
export { scheduleId, type ScheduleInfo, type ScheduleKind, type ScheduleSettings } from './client/schedules';
export { createWorker, runWorker, DEFAULT_TASK_QUEUE, type CreateWorkerOptions } from './worker';
export { temporalSettingsFromEnv, type TemporalSettings } from './temporal/connection';
export { NeonProjectId, NeonPhase, NeonOutcome } from './temporal/search-attributes';
export {
  verifyWebhookSignature,
  signWebhook,
  SIGNATURE_HEADER,
  type VerifyWebhookOptions,
} from './activities/notify/signature';
export type { RunFinishedPayload, NotifyOptions } from './workflows/contract/notify';
