// A test-only workflow: calls one activity by name with the retry policy workflows are expected to use.
import { proxyActivities } from '@temporalio/workflow';
import type { NeonActivities } from '../../src/activities/types';
import { NON_RETRYABLE_FAILURE_TYPES } from '../../src/shared/failure-types';

const nonRetryableErrorTypes = [...NON_RETRYABLE_FAILURE_TYPES];

const activities = proxyActivities<NeonActivities>({
  startToCloseTimeout: '20 seconds',
  retry: { initialInterval: '50 milliseconds', backoffCoefficient: 1, maximumAttempts: 6, nonRetryableErrorTypes },
});

export async function callActivity(name: keyof NeonActivities, input: unknown): Promise<unknown> {
  const fn = activities[name] as (i: unknown) => Promise<unknown>;
  return fn(input);
}
