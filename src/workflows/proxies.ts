/**
 * The Neon activities as workflows call them: one option set per kind of call, declared once. Every set has a
 * heartbeat timeout: the worker heartbeats for activities that do not (src/worker.ts), so a killed worker's activity is
 * retried within seconds instead of after its whole start-to-close timeout.
 */
import { proxyActivities, type RetryPolicy } from '@temporalio/workflow';
import type { NeonActivities } from '../activities/types';

/**
 * A copy of NON_RETRYABLE_FAILURE_TYPES (workflow code may import activity modules as types only); a test checks the
 * two lists match.
 */
export const NON_RETRYABLE_ERROR_TYPES = [
  'NeonNotFound',
  'NeonQuotaExceeded',
  'NeonBadRequest',
  'NeonConflict',
  'NeonUnauthorized',
  'NeonSchemaMismatch',
  'OperationFailed',
  'VerificationFailed',
  'InvalidInput',
];

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
