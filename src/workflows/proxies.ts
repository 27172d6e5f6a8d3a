/**
 * The Neon activities as workflows call them: one option set per kind of call, declared once. Every set has a
 * heartbeat timeout: the worker heartbeats for activities that do not (src/worker.ts), so a killed worker's activity is
 * retried within seconds instead of after its whole start-to-close timeout.
 */
import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { NeonActivities as NeonOnly, WriteActivities } from '../activities/types';
import { NON_RETRYABLE_ERROR_TYPES } from '../shared/failure-types';

/** What workflows call: the Neon activities and issue 7's write-safety ones (one worker registers both). */
type NeonActivities = NeonOnly & WriteActivities;

export { NON_RETRYABLE_ERROR_TYPES };

const retry = (
  maximumAttempts: number,
  maximumInterval: RetryPolicy['maximumInterval'] = '30 seconds',
): RetryPolicy => ({
  initialInterval: '500 milliseconds',
  backoffCoefficient: 2,
  maximumInterval,
  // 0 = unlimited: a mutation or compensation that cannot finish needs an operator, not a silent give-up.
  ...(maximumAttempts > 0 ? { maximumAttempts } : {}),
  nonRetryableErrorTypes: NON_RETRYABLE_ERROR_TYPES,
});

/** Lookups: cheap, so a few quick retries, then the run fails with the reason. */
export const read = proxyActivities<NeonActivities>({
  startToCloseTimeout: '30 seconds',
  heartbeatTimeout: '5 seconds',
  retry: retry(10),
});

/** Neon mutations: idempotent (found by name or lineage before sending), so retried until they succeed. */
export const mutation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});

/** The operation wait heartbeats itself with its progress, and resumes from it on retry. */
export const operations = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retry(0),
});

/** Checks: a dropped connection right after a restore is worth a few retries; a failing check is an answer. */
export const verification = proxyActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(5, '5 seconds'),
});

/** Write positions, the fence and migrations: SQL on prod, retried a few times on a dropped connection. */
export const writes = proxyActivities<NeonActivities>({
  startToCloseTimeout: '5 minutes',
  heartbeatTimeout: '5 seconds',
  retry: retry(10, '5 seconds'),
});

/** Copying late writes reads and writes whole tables: long, heartbeated, retried after a lost race. */
export const reconciliation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '10 seconds',
  retry: retry(5),
});

/** Compensations must finish: unlimited retries, idempotent by design (a 404 on delete counts as done). */
export const compensation = proxyActivities<NeonActivities>({
  startToCloseTimeout: '60 seconds',
  heartbeatTimeout: '5 seconds',
  retry: retry(0),
});

/** Waits for what a mutation started; no activity at all when it started nothing. */
export async function settle(
  projectId: string,
  result: { operationIds: string[] },
  via: Pick<NeonActivities, 'waitForOperations'> = operations,
): Promise<void> {
  if (result.operationIds.length > 0)
    await via.waitForOperations({ projectId, operationIds: result.operationIds, maxPollIntervalMs: 2000 });
}
