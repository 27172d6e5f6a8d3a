// The package's root and `neon-promote/client`: what a service needs to start and follow runs. It loads no
// @temporalio/worker (its native core and the workflow bundler): a worker imports `neon-promote/worker`.
export { NeonPromoteClient, InvalidInputError, ProjectBusyError, type NeonPromoteClientOptions } from './client';
export type { ListRunsOptions, RunSummary } from './client/runs';
export { scheduleId, type ScheduleInfo, type ScheduleKind, type ScheduleSettings } from './client/schedules';
export { DEFAULT_TASK_QUEUE } from './temporal/task-queue';
export { temporalSettingsFromEnv, type TemporalSettings } from './temporal/connection';
export { tracingClientInterceptors, tracingRequested } from './observability/tracing';
export { NeonProjectId, NeonPhase, NeonOutcome } from './temporal/search-attributes';
export {
  verifyWebhookSignature,
  signWebhook,
  SIGNATURE_HEADER,
  type VerifyWebhookOptions,
} from './activities/notify/signature';
export type { RunFinishedPayload, NotifyOptions } from './workflows/contract/notify';
