/**
 * The activities that deliver a run's outcome to a webhook, and the health check's ping. The webhook's secret and the
 * worker's own URL stay in the worker's environment. Implementations: src/activities/notify/, src/activities/health.ts.
 */
import type { NotifyTarget, RunFinishedPayload } from '../../workflows/contract/notify';

/** `projectId` (the payload's, when known) puts the project on the activity's log lines like every Neon activity's. */
export type NotifyInput = { projectId?: string; target: NotifyTarget; payload: RunFinishedPayload };

export type NotifyResult = { status: number };

export type NotifyActivities = {
  /** Whether the worker has a webhook of its own (the URL itself stays out of history). */
  workerWebhook: (input: { projectId?: string }) => Promise<{ configured: boolean }>;
  notify: (input: NotifyInput) => Promise<NotifyResult>;
};

export type PingResult = { reply: string; worker: string; attempt: number };

/** Behind the health-check workflow: proves a worker is polling and can run activities. */
export type HealthActivities = {
  ping: (message: string) => Promise<PingResult>;
};
